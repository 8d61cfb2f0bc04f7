"""A private Postfix instance for the benchmark: its own config, queue and data
directories in a temp dir, smtpd on one loopback port, virtual delivery of acme.test to a
Maildir owned by a real (system) user. Default fsync behaviour; nothing else changed."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

BENCH_USER = "postgate-bench"


def bench_user() -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(BENCH_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", BENCH_USER],
                       check=True)
        pw = pwd.getpwnam(BENCH_USER)
    return pw.pw_uid, pw.pw_gid


class PostfixInstance:
    def __init__(self, base: Path, port: int):
        self.base = base
        self.port = port
        self.etc = base / "etc"
        self.spool = base / "spool"
        self.data = base / "data"
        self.mail = base / "mail"
        self.maildir = self.mail / "acme.test" / "support"
        self.started = False

    def postconf(self, *args: str) -> None:
        subprocess.run(["postconf", "-c", str(self.etc), *args], check=True, stdout=subprocess.DEVNULL)

    def setup(self) -> None:
        uid, gid = bench_user()
        os.chmod(self.base, 0o755)
        self.etc.mkdir()
        shutil.copy("/etc/postfix/master.cf", self.etc / "master.cf")
        (self.etc / "vmailbox").write_text("support@acme.test acme.test/support/\n")
        (self.etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.spool}
data_directory = {self.data}
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-bench.localdomain
mydomain = localdomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
smtpd_banner = $myhostname ESMTP
maillog_file_prefixes = {self.base}
maillog_file = {self.base}/maillog
virtual_mailbox_domains = acme.test
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_minimum_uid = 100
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
""")
        # smtpd only on our loopback port; no chroot (the queue dir is not a chroot jail).
        self.postconf("-M#", "smtp/inet")
        self.postconf("-M", f"127.0.0.1:{self.port}/inet=127.0.0.1:{self.port} inet n - n - - smtpd")
        self.postconf("-F", "*/*/chroot = n")
        self.spool.mkdir(mode=0o755)
        self.data.mkdir(mode=0o700)
        shutil.chown(self.data, "postfix", "postfix")
        self.maildir.mkdir(parents=True)
        for d in ("tmp", "new", "cur"):
            (self.maildir / d).mkdir()
        for p in [self.mail, self.mail / "acme.test", self.maildir] + [self.maildir / d for d in ("tmp", "new", "cur")]:
            os.chown(p, uid, gid)

    def start(self, timeout: float = 30) -> None:
        proc = subprocess.run(["postfix", "-c", str(self.etc), "start"], capture_output=True, text=True)
        self.started = True
        if proc.returncode != 0:
            log = (self.base / "maillog").read_text()[-2000:] if (self.base / "maillog").exists() else ""
            raise RuntimeError(f"postfix start failed: {proc.stderr}{log}")
        import socket
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.recv(100)
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postfix not listening on {self.port}; see {self.base}/maillog")
                time.sleep(0.1)

    def stop(self) -> None:
        if not self.started:
            return
        subprocess.run(["postfix", "-c", str(self.etc), "stop"], check=False)
        master = self.master_pid()
        deadline = time.monotonic() + 20
        while master and Path(f"/proc/{master}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if master and Path(f"/proc/{master}").exists():
            subprocess.run(["postfix", "-c", str(self.etc), "abort"], check=False)
        self.started = False

    def master_pid(self) -> int | None:
        try:
            return int((self.spool / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> list[int]:
        master = self.master_pid()
        if not master:
            return []
        out = [master]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == master:
                    out.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                pass
        return out

    def delivered(self) -> int:
        return sum(1 for d in ("new", "cur") for _ in os.scandir(self.maildir / d))

    def queue_empty(self) -> bool:
        for q in ("incoming", "active", "deferred", "maildrop", "hold"):
            d = self.spool / q
            if d.exists() and any(f for _, _, fs in os.walk(d) for f in fs):
                return False
        return True
