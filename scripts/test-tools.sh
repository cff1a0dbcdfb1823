#!/usr/bin/env bash
# Installs the third-party test clients into ./.tools (idempotent) and prints the
# MEMORYLAYER_INSPECTOR command line: Node 22 (the Inspector needs >= 22.19; Debian has 20) and the
# MCP Inspector CLI, both from the npm registry; and TypeScript, with which tests/test_docs.py
# type-checks the README's TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=22.23.3
INSPECTOR_VERSION=2.12.0
TYPESCRIPT_VERSION=5.9.3
tools=$PWD/.tools
node=$tools/node/node_modules/node/bin/node
inspector=$tools/inspector/node_modules/.bin/mcp-inspector
if [ ! -x "$node" ]; then
  npm install --silent --no-audit --no-fund --prefix "$tools/node" "node@$NODE_VERSION" >&2
fi
if [ ! -e "$inspector" ]; then
  PATH="$(dirname "$node"):$PATH" npm install --silent --no-audit --no-fund --prefix "$tools/inspector" \
    "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" >&2
fi
if [ ! -e "$tools/typescript/node_modules/.bin/tsc" ]; then
  PATH="$(dirname "$node"):$PATH" npm install --silent --no-audit --no-fund --prefix "$tools/typescript" \
    "typescript@$TYPESCRIPT_VERSION" >&2
fi
"$node" --version >/dev/null
echo "$node $inspector"
