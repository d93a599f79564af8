#!/usr/bin/env bash
# Install the server and start it on the example zones/ and policies/ (127.0.0.1:5353).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[speed]"
exec python3 -m resolver serve "$@"
