#!/usr/bin/env bash
# Installs everything MemoryLayer and its test suite need into ./.venv, at the exact versions of
# constraints.txt (reproducible: CI installs the same way).
#
# A stamp in .venv records the hash of pyproject.toml and constraints.txt it was installed from; when
# they are unchanged pip is not run at all, so ./scripts/run.sh starts with no package index reachable.
# MEMORYLAYER_REINSTALL=1 installs anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
STAMP=.venv/memorylayer-setup.stamp
HASHER=$PYTHON
[ -x .venv/bin/python ] && HASHER=.venv/bin/python  # starts faster than a version manager's shim
wanted=$(cat pyproject.toml constraints.txt | "$HASHER" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ -z "${MEMORYLAYER_REINSTALL:-}" ] && [ -x .venv/bin/python ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
rm -f "$STAMP"
rm -rf src/memorylayer.egg-info  # metadata of the name used before the rename
.venv/bin/python -m pip install --quiet --upgrade pip
# A .venv made before the distribution was renamed holds the old name's metadata too.
.venv/bin/python -m pip uninstall --quiet --yes memorylayer >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[all,dev]'
echo "$wanted" >"$STAMP"
