"""Python-side benchmarks: the library through clusteraccess._core, and the
plain-Python peer (bench/peer.py), on the same workload.

For each implementation, on its own copy of one seeded registry (1,000
clusters by default, see bench/workload.py):

  repeat/downloaded   a granted, already downloaded cluster: ["Downloaded"]
  repeat/bad_id       a valid token, a cluster id that is no k8s-uuid: 400
  repeat/bad_token    an unknown token: 403
  repeat/no_grant     a live token of a principal without a grant: 403
  issue               first downloads (durable), measured first, the
                      implementations taken in turns, 10 calls at a time

Throughput comes from a plain loop (no timer per call), p50/p99 from a second
loop that times every call. Prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peer  # noqa: E402
import workload  # noqa: E402


ISSUE_BLOCK = 10


def percentile(sorted_ns: list[int], p: float) -> float:
    index = min(len(sorted_ns) - 1, int(p * (len(sorted_ns) - 1) + 0.5))
    return sorted_ns[index] / 1000.0


def measure_repeat(call: Callable[[str, str], Any], error: type[BaseException] | None,
                   requests: list[tuple[str, str]], min_time: float, latency_samples: int) -> dict[str, float]:
    # Throughput: whole passes over the request list until min_time has passed.
    done = 0
    perf = time.perf_counter
    start = perf()
    while True:
        if error is None:
            for cluster_id, token in requests:
                call(cluster_id, token)
        else:
            for cluster_id, token in requests:
                try:
                    call(cluster_id, token)
                except error:
                    pass
                else:
                    raise AssertionError("a request that should fail succeeded")
        done += len(requests)
        elapsed = perf() - start
        if elapsed >= min_time:
            break
    ops = done / elapsed
    # Latency: every call timed.
    clock = time.perf_counter_ns
    samples = []
    for cluster_id, token in requests[:latency_samples]:
        t0 = clock()
        try:
            call(cluster_id, token)
        except BaseException as e:  # noqa: BLE001 - the expected error
            if error is None or not isinstance(e, error):
                raise
        samples.append(clock() - t0)
    samples.sort()
    return {"ops_per_s": ops, "p50_us": percentile(samples, 0.5), "p99_us": percentile(samples, 0.99), "n": done}


def measure_issue(calls: dict[str, Callable[[str, str], list[str]]],
                  requests: dict[str, list[tuple[str, str]]]) -> dict[str, dict[str, float]]:
    """First downloads of every implementation, taken in turns, ISSUE_BLOCK
    calls at a time, so that all of them see the same disk (fsync times
    drift) without each call running in caches the other implementation has
    just filled. Wall time per call, and CPU time (user + system, of this
    thread) per call: the core waits for the disk in the first, not in the
    second."""
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    samples: dict[str, list[int]] = {impl: [] for impl in calls}
    cpu: dict[str, int] = {impl: 0 for impl in calls}
    count = min(len(r) for r in requests.values())
    for start in range(0, count, ISSUE_BLOCK):
        for impl, call in calls.items():
            for cluster_id, token in requests[impl][start:min(count, start + ISSUE_BLOCK)]:
                c0, t0 = cpu_clock(), clock()
                documents = call(cluster_id, token)
                samples[impl].append(clock() - t0)
                cpu[impl] += cpu_clock() - c0
                if len(documents) != 2:
                    raise AssertionError(f"{impl}: not a first download")
    figures = {}
    for impl, values in samples.items():
        total = sum(values) / 1e9
        values.sort()
        figures[impl] = {"ops_per_s": len(values) / total, "mean_us": total * 1e6 / len(values),
                         "cpu_us": cpu[impl] / 1e3 / len(values),
                         "p50_us": percentile(values, 0.5), "p99_us": percentile(values, 0.99), "n": len(values)}
    return figures


def status_of(call: Callable[[str, str], Any], cluster_id: str, token: str) -> tuple[int, Any]:
    try:
        return 200, call(cluster_id, token)
    except Exception as e:  # noqa: BLE001
        return getattr(e, "status", -1), getattr(e, "code", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    workload.add_arguments(parser)
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds per repeat-path figure")
    parser.add_argument("--issue", type=int, default=300, help="first downloads per implementation")
    parser.add_argument("--latency-samples", type=int, default=20000)
    parser.add_argument("--only", choices=["library", "peer"], default=None)
    args = parser.parse_args()

    from clusteraccess import _core as core

    library_path, peer_path = workload.fresh_paths(args.workdir, "python-library.db", "python-peer.db")

    wl = workload.make_registry(core, library_path, args.clusters)
    workload.checkpoint(library_path)
    for suffix in ("", ".key"):  # the registry, and the master key its CA key is sealed under
        shutil.copyfile(library_path + suffix, peer_path + suffix)
        os.chmod(peer_path + suffix, 0o600)

    rng = random.Random(7)
    picks = [rng.choice(wl.downloaded) for _ in range(min(65536, max(4096, len(wl.downloaded))))]
    requests = {
        "repeat/downloaded": [(cid, wl.alice) for cid in picks],
        "repeat/bad_id": [(cid.upper(), wl.alice) for cid in picks],
        "repeat/bad_token": [(cid, "cat_" + chr(ord("A") + i % 26) * 43) for i, cid in enumerate(picks)],
        "repeat/no_grant": [(cid, wl.mallory) for cid in picks],
    }
    issue_count = min(args.issue, len(wl.fresh) // 2)
    fresh = {"library": wl.fresh[:issue_count], "peer": wl.fresh[issue_count:2 * issue_count]}

    registry = core.Registry(library_path)
    service = peer.PeerService(peer_path)
    # Annotated: the two methods' signatures differ past (cluster_id, token).
    implementations: dict[str, tuple[Callable[[str, str], list[str]], type[BaseException]]] = {
        "library": (registry.access_info, core.ClusterAccessError),
        "peer": (service.access_info, peer.PeerError),
    }

    # Both answer every path the same way before anything is timed.
    for name, reqs in requests.items():
        cluster_id, token = reqs[0]
        answers = {impl: status_of(call, cluster_id, token) for impl, (call, _) in implementations.items()}
        if answers["library"] != answers["peer"]:
            raise AssertionError(f"{name}: library answers {answers['library']}, peer {answers['peer']}")

    if args.only:
        implementations = {args.only: implementations[args.only]}
    results = []
    # First downloads first, as in library_bench: the repeat paths then run on
    # a registry that has issued some (a non-empty WAL).
    issued = measure_issue({impl: call for impl, (call, _) in implementations.items()},
                           {impl: [(cid, wl.alice) for cid in fresh[impl]] for impl in implementations})
    for impl, figure in issued.items():
        results.append({"impl": impl, "path": "issue", **figure})
        print(f"{impl:8} {'issue':18} {figure['ops_per_s']:>12,.1f} ops/s  p50 {figure['p50_us']:.0f} us  "
              f"p99 {figure['p99_us']:.0f} us", file=sys.stderr)
    for impl, (call, error) in implementations.items():
        for name, reqs in requests.items():
            figure = measure_repeat(call, None if name == "repeat/downloaded" else error, reqs, args.min_time,
                                    args.latency_samples)
            results.append({"impl": impl, "path": name, **figure})
            print(f"{impl:8} {name:18} {figure['ops_per_s']:>12,.0f} ops/s  p50 {figure['p50_us']:.2f} us  "
                  f"p99 {figure['p99_us']:.2f} us", file=sys.stderr)

    json.dump({"clusters": args.clusters, "results": results}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
