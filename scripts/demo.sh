#!/usr/bin/env bash
# Sets up everything and runs the main demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m tandem.demo "$@"
