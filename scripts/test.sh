#!/usr/bin/env bash
# Set up, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/browser-tools.sh
if command -v npm >/dev/null 2>&1; then
  MEMORYLAYER_INSPECTOR="$(./scripts/test-tools.sh)"
  export MEMORYLAYER_INSPECTOR
elif [ "${CI:-}" = "true" ]; then
  echo "npm is required in CI for the MCP Inspector tests" >&2
  exit 1
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
