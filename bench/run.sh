#!/usr/bin/env bash
# Builds what the benchmarks need and runs them all into one table.
#   bench/run.sh            the full run: 1K and 1M clusters, several minutes
#   bench/run.sh --smoke    seconds, small registries, no targets judged (CI)
# Other options go to bench/run.py (--json FILE, --workdir DIR, --no-http).
#
# Needs what scripts/bootstrap.sh installs: a C++ toolchain, Google Benchmark,
# SQLite, OpenSSL, Boost, wrk, and Python with pybind11, starlette, uvicorn and
# cryptography (the .venv when there is one). Builds in build/bench, or in
# $CLUSTERACCESS_BENCH_BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x .venv/bin/python ]; then
  export PATH="$PWD/.venv/bin:$PATH"
  python=.venv/bin/python
else
  python=python3
fi
build_dir="${CLUSTERACCESS_BENCH_BUILD_DIR:-build/bench}"

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
pybind11_dir="$("$python" -c 'import pybind11; print(pybind11.get_cmake_dir())')"
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCLUSTERACCESS_BUILD_BENCHMARKS=ON -DCLUSTERACCESS_BUILD_PYTHON=ON -DCLUSTERACCESS_BUILD_TESTS=OFF \
  -DCLUSTERACCESS_INSTALL=OFF -Dpybind11_DIR="$pybind11_dir" -DPython_EXECUTABLE="$(command -v "$python")" \
  >/dev/null
cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" --target ceiling_bench component_bench library_bench cluster_api_bench postgres_bench _core \
  >/dev/null

exec "$python" bench/run.py --build-dir "$build_dir" "$@"
