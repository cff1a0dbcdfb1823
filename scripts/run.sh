#!/usr/bin/env bash
# Set up, then start the MemoryLayer server on the embedded default (SQLite + local model).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/memorylayer serve "$@"
