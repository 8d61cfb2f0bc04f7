#!/usr/bin/env bash
# Installs what Postgate's build, tests and (with --bench) benchmark need on a Debian
# machine. Idempotent: apt-get runs only when a package is missing.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also Postfix, for bench/smtp_bench.py
set -euo pipefail

bench=0
for arg in "$@"; do
    case "$arg" in
        --bench) bench=1 ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

# Build: libidn2 (CIDN2 system library), libsqlite3 (index). Tests: swaks (+ Net::SSLeay,
# IO::Socket::SSL for --tls), sqlite3 CLI, curl (imap://) and isync (mbsync) for IMAP,
# openssl (a certificate for the outbound tests' TLS sink).
# strace: the test that the server connects to loopback only.
# Benchmark: iproute2 (ip) and util-linux (unshare) for a loopback-only namespace.
# DKIM tests: dnsmasq-base (a local DNS server, no system service), dkimpy
# (python3-dkim with python3-nacl for Ed25519 and python3-dnspython) and OpenDKIM
# (opendkim-tools) as independent verifiers, openssl to make test keys.
# The POP3 and IMAP client tests, the connector e2e tests and the IMAP and fetch benchmarks
# run a private Dovecot (dovecot-imapd, dovecot-pop3d); the system service is never started.
# systemd: `systemd-analyze verify` checks the unit file in Config/ (no service is started).
# prometheus: the metrics test scrapes /metrics with a private Prometheus (its own port,
# configuration and storage in a temporary directory; the system service is never started)
# and checks the exposition with promtool.
# chromium: the HTML report and reply preview are rendered headless and their pixels read.
packages=(libidn2-dev libsqlite3-dev pkg-config swaks libnet-ssleay-perl libio-socket-ssl-perl sqlite3 iproute2 util-linux ca-certificates
          dnsmasq-base python3-dkim python3-nacl python3-dnspython opendkim-tools openssl curl isync strace dovecot-imapd dovecot-pop3d systemd prometheus chromium)
if [ "$bench" = 1 ]; then packages+=(postfix); fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
    if [ "${#missing[@]}" -gt 0 ]; then
        if command -v sudo >/dev/null; then sudo_cmd=(sudo); else
            echo "install-deps.sh: missing packages ${missing[*]} and not root (no sudo)" >&2; exit 1
        fi
    fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    for p in "${missing[@]}"; do
        if [ "$p" = postfix ]; then
            # No interactive questions, no mail system configured for the host.
            echo "postfix postfix/main_mailer_type select No configuration" | "${sudo_cmd[@]}" debconf-set-selections
            echo "postfix postfix/mailname string postgate-bench.localdomain" | "${sudo_cmd[@]}" debconf-set-selections
        fi
    done
    "${sudo_cmd[@]}" apt-get update -qq
    # policy-rc.d 101: do not start any service (the system Postfix and Dovecot) during
    # installation. A policy already there may allow services, so it is set aside for the
    # installation and put back afterwards.
    policy=/usr/sbin/policy-rc.d
    saved_policy=""
    if [ -e "$policy" ]; then
        saved_policy="$policy.postgate-saved"
        "${sudo_cmd[@]}" mv "$policy" "$saved_policy"
    fi
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod 755 "$policy"
    status=0
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null || status=$?
    "${sudo_cmd[@]}" rm -f "$policy"
    if [ -n "$saved_policy" ]; then "${sudo_cmd[@]}" mv "$saved_policy" "$policy"; fi
    [ "$status" = 0 ] || exit "$status"
fi

if [ "$bench" = 1 ]; then
    # The benchmark runs its own private Postfix instance; the system one must not be
    # running or bound to port 25.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        "${sudo_cmd[@]}" systemctl disable --now postfix >/dev/null 2>&1 || true
    fi
    if [ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1; then
        "${sudo_cmd[@]}" /usr/sbin/postfix stop >/dev/null 2>&1 || true
    fi
fi

# The tests run their own Dovecot on free loopback ports; a system Dovecot holding 143,
# 993, 110 or 995 would not disturb them, but it is not wanted either.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    "${sudo_cmd[@]}" systemctl disable --now dovecot >/dev/null 2>&1 || true
    "${sudo_cmd[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

# pytest for the end-to-end tests: the python3 on PATH (pyenv's or Debian's).
if ! python3 -m pytest --version >/dev/null 2>&1; then
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip install -q pytest 2>/dev/null \
            || python3 -m pip install -q --break-system-packages pytest
    else
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-pytest </dev/null
    fi
fi

# pytest-xdist: the end-to-end tests run in three workers, each with its own block of ports;
# most of their time is spent waiting on servers, not on the CPU.
if ! python3 -c 'import xdist' >/dev/null 2>&1; then
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip install -q pytest-xdist 2>/dev/null \
            || python3 -m pip install -q --break-system-packages pytest-xdist
    else
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-pytest-xdist </dev/null
    fi
fi

# The HTTP API's tests: openapi-spec-validator checks the OpenAPI document, schemathesis
# fuzzes a live gateway against it; standardwebhooks verifies webhook signatures.
for module in openapi_spec_validator:openapi-spec-validator schemathesis:schemathesis standardwebhooks:standardwebhooks; do
    if ! python3 -c "import ${module%%:*}" >/dev/null 2>&1; then
        python3 -m pip install -q "${module##*:}" 2>/dev/null \
            || python3 -m pip install -q --break-system-packages "${module##*:}"
    fi
done

# aiosmtpd for the outbound end-to-end tests (a real SMTP next hop on loopback), for the
# python3 on PATH; Debian's python3-aiosmtpd where there is no pip.
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip install -q aiosmtpd 2>/dev/null \
            || python3 -m pip install -q --break-system-packages aiosmtpd
    else
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-aiosmtpd </dev/null
    fi
fi
