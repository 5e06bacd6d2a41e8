#!/usr/bin/env bash
# The robustness checks of issue 4 ("Exactly once, under crashes, faults and
# hostile input"), each built in its own directory under build/:
#
#   asan   the whole C++ test suite (unit, fault injection, the crash driver's
#          short run, the fuzz corpora replayed) under AddressSanitizer +
#          UndefinedBehaviorSanitizer (every finding fatal), in build/asan
#   tsan   the tests that race threads on shared state (ctest label
#          "concurrency") under ThreadSanitizer, in build/tsan
#   fuzz   each libFuzzer target (clang, ASan + UBSan) for FUZZ_SECONDS
#          (default 45, all targets at once) from the committed corpus, in build/fuzz
#   crash  the crash driver (ASan build) until CRASH_KILLS (default 1000, at
#          least 200 in CI) children were SIGKILLed mid-download; then, when
#          $CLUSTERACCESS_TEST_POSTGRES names a database (scripts/test.sh
#          sets it), the same on PostgreSQL, children and server processes
#          SIGKILLed, until CRASH_KILLS_POSTGRES (default 300)
#
# Usage: scripts/check-robustness.sh [asan] [tsan] [fuzz] [crash]   (default: all)
# Environment: FUZZ_SECONDS, CRASH_KILLS, CRASH_KILLS_POSTGRES, CRASH_SEED, JOBS (default: nproc),
# ROBUSTNESS_BUILD_ROOT (default: build).
# About 5 minutes on a 2-core machine from scratch (builds included).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

FUZZ_SECONDS="${FUZZ_SECONDS:-45}"
CRASH_KILLS="${CRASH_KILLS:-1000}"
CRASH_KILLS_POSTGRES="${CRASH_KILLS_POSTGRES:-300}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
build_root="${ROBUSTNESS_BUILD_ROOT:-build}"

if [ -x .venv/bin/cmake ]; then cmake=.venv/bin/cmake; else cmake=cmake; fi
if [ -x .venv/bin/ctest ]; then ctest=.venv/bin/ctest; else ctest=ctest; fi
generator=()
if [ -x .venv/bin/ninja ]; then
  generator=(-G Ninja -DCMAKE_MAKE_PROGRAM="$root/.venv/bin/ninja")
elif command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi

steps=("$@")
if [ "${#steps[@]}" -eq 0 ]; then steps=(asan tsan fuzz crash); fi
wants() { local s; for s in "${steps[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
for s in "${steps[@]}"; do
  case "$s" in asan|tsan|fuzz|crash) ;; *) echo "check-robustness: unknown step '$s'" >&2; exit 64 ;; esac
done

started=$SECONDS
step() { printf '\n\033[1m== robustness: %s\033[0m (%ds)\n' "$*" "$((SECONDS - started))"; }

# Sanitizer findings end the process with an error; stack traces in the log.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

configure() {  # configure DIR CMAKE_ARGS...
  local dir="$1"
  shift
  "$cmake" -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log"; return 1; }
}

mkdir -p "$build_root"
asan_dir="$build_root/asan"

if wants asan || wants crash; then
  step "AddressSanitizer + UndefinedBehaviorSanitizer build ($asan_dir)"
  configure "$asan_dir" -DCLUSTERACCESS_SANITIZE=address,undefined -DCLUSTERACCESS_BUILD_TESTS=ON \
    -DCLUSTERACCESS_INSTALL=OFF
  if wants asan; then
    "$cmake" --build "$asan_dir" -j "$JOBS"
  else
    "$cmake" --build "$asan_dir" -j "$JOBS" --target crash_driver
  fi
fi

if wants asan; then
  step "the C++ test suite under ASan + UBSan"
  "$ctest" --test-dir "$asan_dir" -j "$JOBS" --output-on-failure --no-tests=error
fi

if wants tsan; then
  tsan_dir="$build_root/tsan"
  step "ThreadSanitizer build of the concurrency tests ($tsan_dir)"
  configure "$tsan_dir" -DCLUSTERACCESS_SANITIZE=thread -DCLUSTERACCESS_BUILD_TESTS=ON -DCLUSTERACCESS_INSTALL=OFF
  "$cmake" --build "$tsan_dir" -j "$JOBS" --target concurrency_test sqlite_store_test store_contract_test
  step "the concurrency tests under TSan"
  "$ctest" --test-dir "$tsan_dir" -L concurrency -j "$JOBS" --output-on-failure --no-tests=error
fi

if wants fuzz; then
  fuzz_dir="$build_root/fuzz"
  step "libFuzzer build with clang ($fuzz_dir)"
  if ! command -v clang++ >/dev/null 2>&1; then
    echo "check-robustness: clang++ is needed for the fuzzers (scripts/bootstrap.sh installs it)" >&2
    exit 1
  fi
  CC=clang CXX=clang++ configure "$fuzz_dir" -DCLUSTERACCESS_BUILD_FUZZERS=ON -DCLUSTERACCESS_BUILD_TESTS=OFF \
    -DCLUSTERACCESS_INSTALL=OFF -DCLUSTERACCESS_SANITIZE=address,undefined
  "$cmake" --build "$fuzz_dir" -j "$JOBS"

  step "fuzzing each target for ${FUZZ_SECONDS}s"
  mkdir -p "$fuzz_dir/artifacts"
  pids=()
  targets=(cluster_id network_params access_info request_signature)
  for target in "${targets[@]}"; do
    # New inputs go to the first (build) directory; the committed seeds stay as they are.
    mkdir -p "$fuzz_dir/corpus/$target"
    "$fuzz_dir/fuzz/fuzz_$target" -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=4096 \
      -print_final_stats=1 -dict="fuzz/$target.dict" -artifact_prefix="$fuzz_dir/artifacts/$target-" \
      "$fuzz_dir/corpus/$target" "fuzz/corpus/$target" >"$fuzz_dir/$target.log" 2>&1 &
    pids+=($!)
  done
  failed=0
  for i in "${!targets[@]}"; do
    target="${targets[$i]}"
    if wait "${pids[$i]}"; then
      runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$fuzz_dir/$target.log" | grep -o '[0-9]*$' || true)"
      cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$fuzz_dir/$target.log" | tail -1 || true)"
      echo "fuzz_$target: ok, ${runs:-?} inputs in ${FUZZ_SECONDS}s ($cov)"
    else
      failed=1
      echo "fuzz_$target: FAILED (reproducer in $fuzz_dir/artifacts/); the end of its log:" >&2
      tail -60 "$fuzz_dir/$target.log" >&2
    fi
  done
  [ "$failed" -eq 0 ]
fi

if wants crash; then
  step "crash driver: ${CRASH_KILLS} SIGKILLs mid-download"
  seed_args=()
  if [ -n "${CRASH_SEED:-}" ]; then seed_args=(--seed "$CRASH_SEED"); fi
  "$asan_dir/tests/crash/crash_driver" --kills "$CRASH_KILLS" "${seed_args[@]}"
  if [ -n "${CLUSTERACCESS_TEST_POSTGRES:-}" ]; then
    step "crash driver on PostgreSQL: ${CRASH_KILLS_POSTGRES} SIGKILLs of children and server processes"
    "$asan_dir/tests/crash/crash_driver" --kills "$CRASH_KILLS_POSTGRES" --db "$CLUSTERACCESS_TEST_POSTGRES" \
      "${seed_args[@]}"
  fi
fi

step "all robustness checks passed"
