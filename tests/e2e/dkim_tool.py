#!/usr/bin/python3
"""dkimpy (Debian python3-dkim) as an independent DKIM implementation for the e2e tests
and the benchmark. Runs under the system Python, which has the dkim, dns and nacl modules.

  dkim_tool.py verify --dns HOST:PORT < message      exit 0 if every signature verifies
  dkim_tool.py sign --domain D --selector S --key FILE [--algorithm A] [--canon C] [--headers F,G] < message

Key records are looked up with dnspython in the DNS server given (a dnsmasq the test
started on loopback), never in the system's resolver.
"""

import argparse
import sys

import dkim
import dns.resolver


def dns_function(server: str):
    host, port = server.rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)
    resolver.lifetime = 5

    def lookup(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        try:
            answer = resolver.resolve(name, "TXT", tcp=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return b""
        return b"".join(answer[0].strings)

    return lookup


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify")
    verify.add_argument("--dns", required=True)
    sign = sub.add_parser("sign")
    sign.add_argument("--domain", required=True)
    sign.add_argument("--selector", required=True)
    sign.add_argument("--key", required=True)
    sign.add_argument("--algorithm", default="rsa-sha256")
    sign.add_argument("--canon", default="relaxed/relaxed")
    sign.add_argument("--headers", default="from,to,subject,date,message-id", help="the fields to sign, comma-separated")
    args = parser.parse_args()
    message = sys.stdin.buffer.read()
    if args.command == "verify":
        verifier = dkim.DKIM(message)
        count = message.count(b"DKIM-Signature:")
        results = [verifier.verify(idx=i, dnsfunc=dns_function(args.dns)) for i in range(max(count, 1))]
        print("dkimpy:", " ".join("pass" if r else "fail" for r in results))
        return 0 if results and all(results) else 1
    header, body = args.canon.split("/")
    signature = dkim.sign(
        message, args.selector.encode(), args.domain.encode(), open(args.key, "rb").read(),
        canonicalize=(header.encode(), body.encode()), signature_algorithm=args.algorithm.encode(),
        include_headers=[name.encode() for name in args.headers.split(",")],
    )
    sys.stdout.buffer.write(signature + message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
