#!/usr/bin/env bash
# The one command that installs what is missing, builds, and runs every test:
# the Swift unit/protocol tests (swift test) and the end-to-end tests (pytest, tests/e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build
swift build --product postgate
swift test
python3 -m pytest -q tests/e2e "$@"
