"""A private Dovecot (Debian's dovecot-imapd and dovecot-pop3d) for the e2e tests: its own
configuration, users file, self-signed certificate and Maildirs in a temporary directory,
IMAP, IMAPS, POP3 and POP3S on free loopback ports. The system's Dovecot is never touched.

With `oauth2_introspection_url`, XOAUTH2 and OAUTHBEARER are offered too, and their bearer
tokens are checked by Dovecot's oauth2 passdb with RFC 7662 introspection at that URL.

`dovecot` (without -F) binds its listeners before the launcher exits, so once `start()`
returns the ports accept connections."""

from __future__ import annotations

import os
import pwd
import grp
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import distinct_free_ports

DOVECOT = "/usr/sbin/dovecot"


def installed() -> bool:
    return all(os.access(p, os.X_OK) for p in (DOVECOT, "/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3"))


class Dovecot:
    def __init__(self, users: dict[str, str] | None = None, oauth2_introspection_url: str | None = None,
                 separator: str | None = None):
        """`separator`: the hierarchy separator of the INBOX namespace (Dovecot's default
        for Maildir++ is `.`; `/` answers as Postgate names folders)."""
        self.users = users or {"alice": "correct horse battery"}
        self.separator = separator
        self.oauth2_introspection_url = oauth2_introspection_url
        self.dir = Path(tempfile.mkdtemp(prefix="postgate-dovecot-"))
        os.chmod(self.dir, 0o755)
        self.cert = self.dir / "cert.pem"
        self.config = self.dir / "dovecot.conf"
        self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port = distinct_free_ports(4, set())
        self.delivered = 0
        root = os.getuid() == 0
        account = pwd.getpwnam("nobody") if root else pwd.getpwuid(os.getuid())
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.account = account.pw_name
        self.group = grp.getgrgid(self.gid).gr_name
        self.root = root

    def maildir(self, user: str = "alice", folder: str = "INBOX") -> Path:
        base = self.dir / "home" / user / "Maildir"
        return base if folder == "INBOX" else base / ("." + folder.replace("/", "."))

    def add_message(self, content: bytes, user: str = "alice", folder: str = "INBOX", seen: bool = False) -> Path:
        """Delivers a message file as a local delivery agent would (tmp/ then new/)."""
        box = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
            os.chown(box / sub, self.uid, self.gid)
        os.chown(box, self.uid, self.gid)
        self.delivered += 1
        name = f"{int(time.time())}.P{os.getpid()}Q{self.delivered}.test"
        tmp = box / "tmp" / name
        tmp.write_bytes(content)
        os.chown(tmp, self.uid, self.gid)
        final = box / ("cur" if seen else "new") / (name + (":2,S" if seen else ""))
        os.rename(tmp, final)
        return final

    def message_files(self, user: str = "alice", folder: str = "INBOX") -> list[Path]:
        box = self.maildir(user, folder)
        return sorted(p for sub in ("cur", "new") if (box / sub).exists() for p in (box / sub).iterdir())

    def start(self) -> "Dovecot":
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(self.dir / "key.pem"), "-out", str(self.cert)],
                       check=True, capture_output=True)
        lines = []
        for user, password in self.users.items():
            home = self.dir / "home" / user
            for sub in ("cur", "new", "tmp"):
                (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
            for path in [home, *home.rglob("*")]:
                os.chown(path, self.uid, self.gid)
            lines.append(f"{user}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}\n")
        os.chown(self.dir / "home", self.uid, self.gid)
        (self.dir / "users").write_text("".join(lines))
        unprivileged = "" if self.root else (
            f"default_internal_user = {self.account}\ndefault_internal_group = {self.group}\n"
            f"default_login_user = {self.account}\n")
        oauth2 = self._oauth2_passdb() if self.oauth2_introspection_url else ""
        mechanisms = "plain login" + (" xoauth2 oauthbearer" if oauth2 else "")
        self.config.write_text(f"""protocols = imap pop3
listen = 127.0.0.1
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
{unprivileged}ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.dir}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = {mechanisms}
mail_location = maildir:~/Maildir
first_valid_uid = {min(self.uid, 500)}
pop3_uidl_format = %08Xu%08Xv
namespace inbox {{
  inbox = yes
{f"  separator = {self.separator}" if self.separator else ""}
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
  mailbox Archive {{
    auto = create
  }}
}}
{oauth2}passdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
        # Output to a file: the daemon keeps the launcher's descriptors, so a pipe would never close.
        with open(self.dir / "dovecot.out", "ab") as out:
            subprocess.run([DOVECOT, "-c", str(self.config)], check=True, stdin=subprocess.DEVNULL, stdout=out,
                           stderr=subprocess.STDOUT, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"})
        return self

    def set_password(self, user: str, password: str) -> None:
        """Changes a user's password (the passwd-file is read on each login)."""
        self.users[user] = password
        lines = [f"{u}:{{PLAIN}}{p}:{self.uid}:{self.gid}::{self.dir / 'home' / u}\n" for u, p in self.users.items()]
        (self.dir / "users").write_text("".join(lines))

    def _oauth2_passdb(self) -> str:
        """Dovecot's oauth2 passdb: a token is valid when the introspection endpoint (RFC 7662
        section 2.1, token=... in a POST) answers `"active": true` with the user's name in
        `username` (section 2.2). Only the token mechanisms reach it; the users file still
        gives the mailbox (userdb)."""
        arguments = self.dir / "dovecot-oauth2.conf.ext"
        arguments.write_text(f"""introspection_mode = post
introspection_url = {self.oauth2_introspection_url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 10000
""")
        return f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {arguments}
}}
"""

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        with open(self.dir / "dovecot.out", "ab") as out:
            subprocess.run([DOVECOT, "-c", str(self.config), "stop"], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        shutil.rmtree(self.dir, ignore_errors=True)
