#!/usr/bin/env bash
# The one command that installs what is missing, builds, and runs every test: the Swift
# tests (swift test) and the end-to-end tests (pytest, tests/e2e).
#
# Installing and building happen first, with the machine's network. The tests then run
# inside a new network namespace that has only a loopback interface (unshare -n), so no
# test, and no server or helper a test starts, can reach any address but loopback: every
# DNS lookup goes to a DNS server the test started. If no such namespace can be made, the
# script stops instead of running the tests with the network.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)

if [ "${POSTGATE_TEST_NETNS:-}" != 1 ]; then
    bash scripts/install-deps.sh
    # The build must print no warning for Postgate's own code (Sources/, Tests/).
    log=$(mktemp)
    swift build --build-tests 2>&1 | tee "$log"
    swift build --product postgate 2>&1 | tee -a "$log"
    warnings=$(grep -E "^$root/(Sources|Tests)/.*: warning:" "$log" | sort -u || true)
    rm -f "$log"
    if [ -n "$warnings" ]; then
        echo "test.sh: the build printed warnings for Postgate's code:" >&2
        echo "$warnings" >&2
        exit 1
    fi

    # Root makes a plain network namespace; anyone else a user namespace mapped to root.
    if unshare -n true 2>/dev/null; then
        netns=(unshare -n)
    elif unshare -r -n true 2>/dev/null; then
        netns=(unshare -r -n)
    else
        echo "test.sh: cannot make a loopback-only network namespace (unshare -n failed; run as root, or allow user namespaces); tests not run" >&2
        exit 1
    fi
    exec "${netns[@]}" -- env POSTGATE_TEST_NETNS=1 bash "$0" "$@"
fi

# Inside the namespace: bring loopback up and make sure it is the only interface.
ip link set lo up
others=$(ip -o link show | awk -F': ' '$2 != "lo" {print $2}')
if [ -n "$others" ]; then
    echo "test.sh: the test namespace has interfaces besides lo ($others); tests not run" >&2
    exit 1
fi

swift test --skip-build
# Three workers (pytest-xdist): the end-to-end tests mostly wait on the servers they start.
# POSTGATE_E2E_WORKERS=0 runs them in this one process.
python3 -m pytest -q -p no:benchmark --durations=20 -n "${POSTGATE_E2E_WORKERS:-3}" tests/e2e "$@"
