#!/usr/bin/env bash
# Builds clusteraccess.
#   scripts/build.sh           the C++ library and its tests in build/cpp, and
#                              the Python package installed into .venv
#   scripts/build.sh python    only the Python package (core + bindings)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

if [ "${1:-all}" != "python" ]; then
  pybind11_dir="$(python -c 'import pybind11; print(pybind11.get_cmake_dir())')"
  cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -Dpybind11_DIR="$pybind11_dir" \
    -DCLUSTERACCESS_BUILD_TESTS=ON
  cmake --build build/cpp -j2
fi

# scikit-build-core builds core + bindings in build/<wheel tag> and installs
# the package; the build environment is .venv itself (no downloads).
python -m pip install -q --no-build-isolation .
