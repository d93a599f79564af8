#!/usr/bin/env bash
# Install the server with its test dependencies, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[test,speed]"
python3 -m ruff check resolver tests bench
python3 -m pytest -q -p no:cacheprovider "$@"
