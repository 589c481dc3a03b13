#!/bin/sh
# Runs the integration suite (tests/integration) against build/vessel.
# Must run as root on a real kernel. Always Debian's python3 (which has pytest).
set -u
cd "$(dirname "$0")/.." || exit 1
/usr/bin/python3 -m pytest tests/integration -q -rs -p no:cacheprovider "$@"
exit $?
