#!/usr/bin/env bash
# The one command for a new user: installs what is missing, builds the release binary and
# runs the gateway on its embedded default (data ./postgate-data, SMTP on 127.0.0.1:2525).
# Arguments go to `postgate serve`, e.g. scripts/run.sh --config Config/postgate.example.yaml
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build -c release --product postgate
exec .build/release/postgate serve "$@"
