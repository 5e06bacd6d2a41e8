#!/usr/bin/env bash
# Installs everything clusteraccess needs on a Debian 12 machine: the Debian
# packages (compiler, Boost, SQLite, OpenSSL, PostgreSQL 15 and libpq,
# GoogleTest, Google Benchmark, clang with libFuzzer, wrk) and a Python virtual environment in .venv with the
# pinned PyPI packages of requirements-dev.txt. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config
  libboost-dev libsqlite3-dev libssl-dev libpq-dev
  postgresql-15
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev llvm
  python3-dev python3-venv
  sqlite3 wrk valgrind
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
echo "bootstrap: ready (.venv/bin/python $(.venv/bin/python -c 'import sys; print(sys.version.split()[0])'))"
