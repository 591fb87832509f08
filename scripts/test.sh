#!/usr/bin/env bash
# Sets up everything and runs the whole test suite: unit tests, the scheduler
# conformance floor, and the lab (namespace) end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check tandem tests bench
set +e
.venv/bin/pytest -q -p no:cacheprovider tests "$@"
rc=$?
set -e
# pytest exit 5 = no tests collected: that is a failure for us, never a pass.
if [ "$rc" -eq 5 ]; then echo "test: no tests were collected"; exit 1; fi
exit "$rc"
