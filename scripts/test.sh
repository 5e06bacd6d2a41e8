#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then the GoogleTest suite
# (with the find_package consumer test) and the pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/build.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== C++ tests (ctest)"
ctest --test-dir build/cpp --output-on-failure -j2

echo "== Python tests (pytest)"
python -m pytest -p no:cacheprovider
