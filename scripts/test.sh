#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then
#   1. the GoogleTest suite (with the crash driver's short run, the fuzz
#      corpora and the find_package consumer test) and the pytest suite;
#   2. mypy --strict over the Python package, its tests and benchmarks;
#   3. the robustness checks: ASan+UBSan and TSan builds, libFuzzer runs,
#      the SIGKILL crash driver (scripts/check-robustness.sh);
#   4. a smoke run of the benchmarks (seconds, no thresholds).
# The PostgreSQL backend's tests run against a throwaway cluster
# (scripts/postgres.sh) started here and stopped at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

scripts/bootstrap.sh
scripts/build.sh
export PATH="$PWD/.venv/bin:$PATH"

postgres_dir="$(mktemp -d -t clusteraccess-pg.XXXXXX)"
trap 'scripts/postgres.sh stop "$postgres_dir"' EXIT
echo "== PostgreSQL (throwaway cluster in $postgres_dir)"
CLUSTERACCESS_TEST_POSTGRES="$(scripts/postgres.sh start "$postgres_dir")"
export CLUSTERACCESS_TEST_POSTGRES

echo "== C++ tests (ctest)"
ctest --test-dir build/cpp --output-on-failure -j2 --no-tests=error

echo "== Python tests (pytest)"
python -m pytest -p no:cacheprovider

echo "== Type check (mypy --strict)"
python -m mypy

echo "== Robustness"
scripts/check-robustness.sh

echo "== Benchmarks (smoke run)"
bench/run.sh --smoke

echo "== all tests passed in $((SECONDS - started)) s"
