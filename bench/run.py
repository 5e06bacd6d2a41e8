"""Runs every clusteraccess benchmark and prints one table.

    bench/run.sh [--smoke]      (builds first; see run.sh)
    python bench/run.py --build-dir DIR [--smoke] [--json FILE] [--workdir DIR]

Each row names a path, its figure -- operations per second on one core, p50
and p99 latency -- and a ratio against a ceiling or a peer measured in the
same run, then the target it is held to. --smoke runs everything briefly on
small registries (seconds): the figures mean nothing, and no target is judged.

Programs (all in bench/):
  ceiling_bench     SQLite and OpenSSL alone: the machine's ceilings
  component_bench   pieces of a first download timed alone
  library_bench     the library through its C++ API, at 1K and 1M clusters, and
                    the floor of a repeat request (a bare SQLite point SELECT)
  cluster_api_bench the cluster API (show, a list page) at 1K and 1M clusters,
                    and an activation against a first download plus a commit
  python_bench.py   the library through the Python module, and the peer
  http_bench.py     the HTTP service under wrk, and a trivial endpoint
  postgres_bench    the library on PostgreSQL (Unix socket, fsync on) next to
                    bare libpq: a point SELECT and a durable commit; on
                    --postgres URI, $CLUSTERACCESS_TEST_POSTGRES, or else a
                    throwaway cluster started with scripts/postgres.sh
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

PATHS = [
    ("downloaded", '["Downloaded"]'),
    ("bad_id", "400 bad id"),
    ("bad_token", "403 bad token"),
    ("no_grant", "403 no grant"),
]


# --- running the programs ---------------------------------------------------------


def one_cpu() -> list[str]:
    """taskset prefix pinning a single-threaded benchmark to the last CPU."""
    count = os.cpu_count() or 1
    if count < 2 or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(count - 1)]


def other_cpus() -> list[str]:
    """taskset prefix pinning a server to every CPU but the last (the benchmarks'), as if on its own host."""
    count = os.cpu_count() or 1
    if count < 2 or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", f"0-{count - 2}"]


def run(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    started = time.monotonic()
    print(f"run.py: {what} ...", file=sys.stderr, flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"run.py: {what} failed (exit {result.returncode}): {' '.join(command)}")
    print(f"run.py: {what} done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return result.stdout


def google_benchmark(binary: str, args: list[str], what: str) -> dict[str, dict[str, Any]]:
    output = run([*one_cpu(), binary, "--benchmark_format=json", *args], what)
    found = {}
    for entry in json.loads(output)["benchmarks"]:
        if entry.get("error_occurred"):
            raise SystemExit(f"run.py: {entry['name']}: {entry.get('error_message')}")
        name = entry["name"].replace("/manual_time", "").replace("/real_time", "")
        name = "/".join(part for part in name.split("/") if not part.startswith("iterations:"))
        found[name] = entry
    return found


# --- the table -----------------------------------------------------------------------


def ops(figure: float | None) -> str:
    if figure is None:
        return "-"
    if figure >= 100_000:
        return f"{figure / 1000:,.0f}k"
    if figure >= 10_000:
        return f"{figure / 1000:,.1f}k"
    return f"{figure:,.0f}"


def micros(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} ms"
    if value >= 100:
        return f"{value:.0f} us"
    return f"{value:.2f} us"


class Table:
    def __init__(self, smoke: bool) -> None:
        self.smoke = smoke
        self.rows: list[list[str] | str] = []
        self.verdicts: list[tuple[str, bool]] = []

    def section(self, title: str) -> None:
        self.rows.append(title)

    def row(self, path: str, ops_per_s: float | None, p50: float | None, p99: float | None,
            ratio: str = "", target: str = "", met: bool | None = None) -> None:
        if target and met is not None and not self.smoke:
            verdict = ("met: " if met else "NOT MET: ") + target
            self.verdicts.append((f"{path}: {target}", met))
        elif target:
            verdict = target
        else:
            verdict = ""
        self.rows.append([path, ops(ops_per_s), micros(p50), micros(p99), ratio, verdict])

    def judge(self, path: str, target: str, met: bool) -> None:
        """A second target of the row above, shown on a line of its own."""
        if self.smoke:
            verdict = target
        else:
            verdict = ("met: " if met else "NOT MET: ") + target
            self.verdicts.append((f"{path}: {target}", met))
        self.rows.append(["", "", "", "", "", verdict])

    def render(self) -> str:
        header = ["path", "ops/s (1 core)", "p50", "p99", "ratio (same run)", "target"]
        cells = [r for r in self.rows if isinstance(r, list)]
        widths = [max(len(header[i]), *(len(r[i]) for r in cells)) for i in range(len(header))]
        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"

        def line(values: list[str]) -> str:
            return "| " + " | ".join(v.ljust(w) if i in (0, 4, 5) else v.rjust(w)
                                     for i, (v, w) in enumerate(zip(values, widths))) + " |"

        out = [line(header), rule]
        for r in self.rows:
            if isinstance(r, str):
                out.append(line([f"**{r}**", "", "", "", "", ""]))
            else:
                out.append(line(r))
        return "\n".join(out)


def fig(entry: dict[str, Any], key: str) -> float:
    return float(entry[key])


def issue_ratios(issue: dict[str, Any], crypto: dict[str, Any]) -> tuple[float, float, float]:
    """First downloads against the issuance ceiling measured next to them:
    by the median wall times, by the mean wall times, by the mean CPU times."""
    ceiling_p50 = fig(issue, "ceiling_update_p50_us") + fig(crypto, "p50_us")
    ceiling_mean = fig(issue, "ceiling_update_mean_us") + fig(crypto, "mean_us")
    ceiling_cpu = fig(issue, "ceiling_update_cpu_us") + fig(crypto, "cpu_time")
    return (ceiling_p50 / fig(issue, "p50_us"), ceiling_mean / fig(issue, "mean_us"),
            ceiling_cpu / fig(issue, "cpu_us"))


def cluster_api_rows(t: Table, api: dict[str, Any], small: int, large: int) -> None:
    """Section 7: show and a list page at both sizes; activation against a first download."""
    t.section("7. Cluster API and lifecycle (C++; the caller holds 1,000 grants at every size)")
    for key, label in (("show", "show_cluster"), ("list", "list_clusters, a page of 100")):
        base = api[f"{key}/{small}"]
        for n in (small, large):
            entry = api[f"{key}/{n}"]
            ratio = fig(entry, "p50_us") / fig(base, "p50_us")
            if n == small:
                t.row(f"{label} @ {n:,}", fig(entry, "items_per_second"), fig(entry, "p50_us"), fig(entry, "p99_us"),
                      "1.00x latency")
            else:
                t.row(f"{label} @ {n:,}", fig(entry, "items_per_second"), fig(entry, "p50_us"), fig(entry, "p99_us"),
                      f"{ratio:.2f}x latency (p50)", "<= 1.3x the 1K latency", ratio <= 1.3)
    cycle = api[f"lifecycle/{small}"]
    again_p50, first_p50 = fig(cycle, "activation_p50_us"), fig(cycle, "first_plus_commit_p50_us")
    t.row("activation, then the new first download", 1e6 / fig(cycle, "activation_mean_us"), again_p50,
          fig(cycle, "activation_p99_us"), f"{again_p50 / first_p50:.2f}x the row below (p50)")
    t.row("first download, then one bare durable commit", 1e6 / fig(cycle, "first_plus_commit_mean_us"), first_p50,
          fig(cycle, "first_plus_commit_p99_us"), "interleaved op by op with the row above")


def build_table(data: dict[str, Any], smoke: bool, scales: list[int]) -> Table:
    ceiling, component, library = data["ceiling"], data["component"], data["library"]
    python = {(r["impl"], r["path"]): r for r in data["python"]["results"]}
    http = data.get("http")
    small, large = scales[0], scales[-1]
    t = Table(smoke)

    # 1. Ceilings.
    t.section("1. Machine ceilings (no library code)")
    issue_small = library[f"issue/{small}"]
    update_mean = fig(issue_small, "ceiling_update_mean_us")
    crypto = ceiling["ceiling/openssl_keygen_sign"]
    crypto_mean = fig(crypto, "mean_us")
    t.row("SQLite: 1-row conditional UPDATE per durable txn (WAL, FULL)", 1e6 / update_mean,
          fig(issue_small, "ceiling_update_p50_us"), fig(issue_small, "ceiling_update_p99_us"),
          "interleaved with C++ first downloads")
    t.row("OpenSSL: P-256 keygen + ECDSA-SHA256 sign (480 B)", 1e6 / crypto_mean, fig(crypto, "p50_us"),
          fig(crypto, "p99_us"))
    ceiling_mean = update_mean + crypto_mean
    t.row("issuance ceiling (sum of the two)", 1e6 / ceiling_mean,
          fig(issue_small, "ceiling_update_p50_us") + fig(crypto, "p50_us"), None)

    # 2. Repeat paths, each also as a multiple of the floor's time per request.
    t.section(f"2. Repeat paths ({small:,} clusters; retries of a 500-cluster burst)")
    floor = library[f"floor/point_select/{small}"]
    floor_rate = fig(floor, "items_per_second")
    t.row("floor: SQLite BEGIN; point SELECT by primary key; COMMIT (no library code)", floor_rate,
          fig(floor, "p50_us"), fig(floor, "p99_us"), "1.0x floor")

    def versus(rate: float, peer: float) -> str:
        return f"{rate / peer:.1f}x peer, {floor_rate / rate:.1f}x floor time"

    for key, label in PATHS:
        peer = python[("peer", f"repeat/{key}")]["ops_per_s"]
        for name, suffix in ((f"C++ access_info: {label}", ""), (f"C++ try_access_info: {label}", "/try")):
            entry = library[f"repeat/{key}/{small}{suffix}"]
            rate = fig(entry, "items_per_second")
            t.row(name, rate, fig(entry, "p50_us"), fig(entry, "p99_us"), versus(rate, peer),
                  ">= 250k ops/s", rate >= 250_000)
        entry = python[("library", f"repeat/{key}")]
        rate = entry["ops_per_s"]
        t.row(f"Python module: {label}", rate, entry["p50_us"], entry["p99_us"], versus(rate, peer),
              ">= 150k ops/s", rate >= 150_000)
        t.judge(f"Python module: {label}", ">= 5x peer", rate >= 5 * peer)
        entry = python[("peer", f"repeat/{key}")]
        t.row(f"peer (plain Python): {label}", entry["ops_per_s"], entry["p50_us"], entry["p99_us"],
              versus(entry["ops_per_s"], peer))

    # 2b. The same repeat request signed with an access key (AK/SK) instead of
    # a token, in the same run.
    token_entry = library[f"repeat/downloaded/{small}/try"]
    signed_entry = library[f"repeat/downloaded_signed/{small}/try"]
    token_rate, signed_rate = fig(token_entry, "items_per_second"), fig(signed_entry, "items_per_second")
    t.row('C++ try_access_info: ["Downloaded"], signed (AK/SK)', signed_rate, fig(signed_entry, "p50_us"),
          fig(signed_entry, "p99_us"), f"{signed_rate / token_rate:.0%} of the token path",
          ">= 70% of the token path", signed_rate >= 0.70 * token_rate)

    # 3. First downloads. A disk's fsync has a long, random tail; the ratios
    # are given on the medians (the target is judged on them) and the means.
    t.section(f"3. First downloads, durable ({small:,} clusters)")
    p50_ratio, mean_ratio, cpu_ratio = issue_ratios(issue_small, crypto)
    t.row("C++ access_info: first download", fig(issue_small, "items_per_second"), fig(issue_small, "p50_us"),
          fig(issue_small, "p99_us"),
          f"{p50_ratio:.0%} of ceiling (p50), {mean_ratio:.0%} (mean), {cpu_ratio:.0%} (CPU)",
          ">= 70% of ceiling (p50)", p50_ratio >= 0.70)
    peer = python[("peer", "issue")]
    entry = python[("library", "issue")]
    p50_ratio = peer["p50_us"] / entry["p50_us"]
    mean_ratio = entry["ops_per_s"] / peer["ops_per_s"]
    cpu_ratio = peer["cpu_us"] / entry["cpu_us"]
    t.row("Python module: first download", entry["ops_per_s"], entry["p50_us"], entry["p99_us"],
          f"{p50_ratio:.2f}x peer (p50), {mean_ratio:.2f}x (mean), {cpu_ratio:.2f}x (CPU)",
          ">= 1.5x peer (p50)", p50_ratio >= 1.5)
    t.row("peer (plain Python): first download", peer["ops_per_s"], peer["p50_us"], peer["p99_us"], "1.00x peer")
    cert = component["component/certificate_issue"]
    t.row("  of which: key + certificate + PEMs (CertificateAuthority::issue)", fig(cert, "items_per_second"),
          fig(cert, "p50_us"), fig(cert, "p99_us"),
          f"{crypto_mean / fig(cert, 'mean_us'):.0%} of OpenSSL ceiling")
    manifest = component["component/render_manifest"]
    t.row("  of which: manifest (two YAML documents)", fig(manifest, "items_per_second"),
          fig(manifest, "p50_us"), fig(manifest, "p99_us"))

    # 4. (the peer rows are next to each path above)

    # 5. HTTP.
    if http is not None:
        t.section(f"5. HTTP on loopback (wrk, 1 thread, {http['connections']} connections; server on 1 core)")
        service, trivial = http["results"]["service"], http["results"]["trivial"]
        ratio = service["ops_per_s"] / trivial["ops_per_s"]

        def errors(result: dict[str, Any]) -> str:
            count = result.get("socket_errors", 0)
            return f" ({count} socket errors)" if count else ""

        t.row('service: GET .../accessinfo -> ["Downloaded"]', service["ops_per_s"], service["p50_us"],
              service["p99_us"], f"{ratio:.0%} of trivial{errors(service)}", ">= 70% of trivial", ratio >= 0.70)
        t.judge('service: ["Downloaded"]', "p99 < 10 ms", service["p99_us"] < 10_000)
        t.row("trivial Starlette route, same uvicorn settings", trivial["ops_per_s"], trivial["p50_us"],
              trivial["p99_us"], f"100% of trivial{errors(trivial)}")
    else:
        t.section("5. HTTP: not run (" + data.get("http_skipped", "skipped") + ")")

    # 6. Scale.
    t.section(f"6. Scale: {small:,} vs {large:,} clusters (C++)")
    for key, label in (("downloaded", "retries of a 500-cluster burst"),
                       ("downloaded_uniform", "any downloaded cluster")):
        base = library[f"repeat/{key}/{small}/try"]
        for n in (small, large):
            entry = library[f"repeat/{key}/{n}/try"]
            ratio = fig(entry, "p50_us") / fig(base, "p50_us")
            if n == small:
                t.row(f'["Downloaded"] @ {n:,}: {label}', fig(entry, "items_per_second"), fig(entry, "p50_us"),
                      fig(entry, "p99_us"), "1.00x latency")
            elif key == "downloaded":
                t.row(f'["Downloaded"] @ {n:,}: {label}', fig(entry, "items_per_second"), fig(entry, "p50_us"),
                      fig(entry, "p99_us"), f"{ratio:.2f}x latency (p50)", "<= 1.3x the 1K latency",
                      ratio <= 1.3)
            else:
                t.row(f'["Downloaded"] @ {n:,}: {label}', fig(entry, "items_per_second"), fig(entry, "p50_us"),
                      fig(entry, "p99_us"), f"{ratio:.2f}x latency (p50)")
    for n in (small, large):
        entry = library[f"issue/{n}"]
        p50_ratio, mean_ratio, cpu_ratio = issue_ratios(entry, crypto)
        t.row(f"first download @ {n:,}", fig(entry, "items_per_second"), fig(entry, "p50_us"),
              fig(entry, "p99_us"),
              f"{p50_ratio:.0%} of ceiling (p50), {mean_ratio:.0%} (mean), {cpu_ratio:.0%} (CPU)")
    burst = library.get(f"issue_burst/{large}/threads:8")
    if burst is not None:
        rate = fig(burst, "items_per_second")
        single = library[f"issue/{large}"]
        ceiling_rate = 1e6 / (fig(single, "ceiling_update_p50_us") + fig(crypto, "p50_us"))
        t.row(f"first downloads @ {large:,}, 8 callers at once on the 1 core", rate, fig(burst, "p50_us"),
              fig(burst, "p99_us"),
              f"{rate / fig(single, 'items_per_second'):.2f}x one caller, {rate / ceiling_rate:.0%} of p50 ceiling")
    for n in (small, large):
        entry = library[f"issue/{n}"]
        bytes_per = fig(entry, "db_bytes_per_download")
        # The file grows by whole pages: the growth and the number of
        # downloads show how fine the figure is.
        grown = f"file grew {fig(entry, 'db_bytes_grown') / 1024:,.0f} KiB over {entry['iterations']:,} downloads"
        t.rows.append([f"database bytes per downloaded cluster @ {n:,}", f"{bytes_per:,.0f} B", "", "", grown,
                       "< 2 KiB" if smoke else ("met: < 2 KiB" if bytes_per < 2048 else "NOT MET: < 2 KiB")])
        if not smoke:
            t.verdicts.append((f"DB bytes per downloaded cluster @ {n:,}: < 2 KiB", bytes_per < 2048))
    # 7. The cluster API and the lifecycle.
    cluster_api_rows(t, data["cluster_api"], small, large)
    # 8. PostgreSQL, next to the SQLite rows above.
    postgres = data.get("postgres")
    if postgres is not None:
        postgres_rows(t, postgres, library, crypto, small)
    return t


def postgres_rows(t: Table, pg: dict[str, Any], library: dict[str, Any], crypto: dict[str, Any], small: int) -> None:
    """Section 8: the library on PostgreSQL against bare libpq, and against SQLite's rows of this run."""
    t.section("8. PostgreSQL 15, Unix socket, fsync on (C++; ratios against bare libpq and SQLite, same run)")
    floor = pg["pg/floor/point_select"]
    floor_rate = fig(floor, "items_per_second")
    t.row("floor: libpq prepared point SELECT by primary key, one round trip", floor_rate, fig(floor, "p50_us"),
          fig(floor, "p99_us"), "1.0x floor")
    commit = pg["pg/ceiling/commit"]
    t.row("ceiling: BEGIN; 1-row conditional UPDATE; COMMIT (durable; SQLite ceiling's shape)",
          fig(commit, "items_per_second"), fig(commit, "p50_us"), fig(commit, "p99_us"),
          f"{fig(commit, 'wal_bytes_per_op'):,.0f} B of WAL per op")
    light = pg["pg/ceiling/light_commit"]
    t.row("light ceiling: bigint key, HOT update (shown, not a target)", fig(light, "items_per_second"),
          fig(light, "p50_us"), fig(light, "p99_us"), f"{fig(light, 'wal_bytes_per_op'):,.0f} B of WAL per op")
    for key, label in PATHS:
        entry = pg[f"pg/repeat/{key}"]
        rate = fig(entry, "items_per_second")
        sqlite = library[f"repeat/{key}/{small}/try"]
        # Against the floor's own operations interleaved with these (postgres_bench's BM_Repeat).
        times_floor = fig(entry, "mean_us") / fig(entry, "floor_mean_us")
        t.row(f"try_access_info: {label}", rate, fig(entry, "p50_us"), fig(entry, "p99_us"),
              f"{times_floor:.2f}x floor time (interleaved, mean), "
              f"{fig(sqlite, 'items_per_second') / rate:.1f}x SQLite's time",
              ">= 70% of the floor's ops/s", times_floor <= 1 / 0.7)
    issue = pg["pg/issue"]
    ceiling_p50 = fig(issue, "ceiling_update_p50_us") + fig(crypto, "p50_us")
    ceiling_mean = fig(issue, "ceiling_update_mean_us") + fig(crypto, "mean_us")
    sqlite_issue = library[f"issue/{small}"]
    p50_ratio = ceiling_p50 / fig(issue, "p50_us")
    t.row("access_info: first download", fig(issue, "items_per_second"), fig(issue, "p50_us"), fig(issue, "p99_us"),
          f"{p50_ratio:.0%} of keygen+sign+bare commit (p50), "
          f"{ceiling_mean / fig(issue, 'mean_us'):.0%} (mean); "
          f"{fig(issue, 'items_per_second') / fig(sqlite_issue, 'items_per_second'):.2f}x SQLite's rate; "
          f"{fig(issue, 'wal_bytes_per_download'):,.0f} B of WAL per download",
          ">= 70% of keygen+sign+bare commit (p50)", p50_ratio >= 0.7)
    one = pg["pg/issue_clients/registries:1/threads:8"]
    two = pg["pg/issue_clients/registries:2/threads:16"]
    t.row("first downloads: 1 registry x 8 threads", fig(one, "items_per_second"), fig(one, "p50_us"),
          fig(one, "p99_us"), "1.00x")
    t.row("first downloads: 2 registries (own pools) x 8 threads", fig(two, "items_per_second"), fig(two, "p50_us"),
          fig(two, "p99_us"), f"{fig(two, 'items_per_second') / fig(one, 'items_per_second'):.2f}x one registry")


def postgres_figures(bench_dir: str, workdir: str, uri: str | None, smoke: bool) -> dict[str, dict[str, Any]]:
    """postgres_bench's figures, on `uri` or on a throwaway cluster started for it."""
    script = os.path.join(HERE, "..", "scripts", "postgres.sh")
    cluster_dir = None
    if uri is None:
        cluster_dir = tempfile.mkdtemp(prefix="clusteraccess-bench-pg-")
        os.rmdir(cluster_dir)
        # The server's processes inherit the CPUs of the command that starts
        # them: kept off the client's CPU, a round trip's two ends do not
        # take turns on one CPU (which the scheduler's wake-ups otherwise
        # tend to make them do), as on two hosts.
        uri = run([*other_cpus(), script, "start", cluster_dir], "throwaway PostgreSQL cluster").strip()
    try:
        sizes = ["--clusters=200", "--issue-iterations=16", "--benchmark_min_time=0.05"] if smoke else \
            ["--clusters=2000", "--issue-iterations=200", "--benchmark_min_time=1"]
        return google_benchmark(os.path.join(bench_dir, "postgres_bench"),
                                [f"--uri={uri}", f"--workdir={workdir}", *sizes], "C++ library on PostgreSQL")
    finally:
        if cluster_dir is not None:
            subprocess.run([script, "stop", cluster_dir], check=False)


# --- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True, help="CMake build dir with the bench programs and _core")
    parser.add_argument("--smoke", action="store_true", help="seconds, small registries, no targets judged")
    parser.add_argument("--workdir", default=None, help="where the databases go (default: a temporary dir)")
    parser.add_argument("--json", default=None, help="also write every figure to this file")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP run")
    parser.add_argument("--postgres", default=os.environ.get("CLUSTERACCESS_TEST_POSTGRES"),
                        help="a PostgreSQL URI to bench on (default: $CLUSTERACCESS_TEST_POSTGRES, else a "
                        "throwaway cluster)")
    args = parser.parse_args()

    bench_dir = os.path.join(args.build_dir, "bench")
    python_path = os.path.join(args.build_dir, "python")
    env = dict(os.environ)
    env["PYTHONPATH"] = python_path + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    workdir = args.workdir or tempfile.mkdtemp(prefix="clusteraccess-bench-")
    os.makedirs(workdir, exist_ok=True)
    cleanup = args.workdir is None

    if args.smoke:
        scales = [1000, 10_000]
        # Enough first downloads for the database file to grow by many
        # pages: fewer fit in the slack of pages it already has.
        repeat_time, issue_iterations, lifecycle_iterations = "0.05", 200, 20
        python_args = ["--min-time", "0.1", "--issue", "10", "--latency-samples", "2000"]
        http_args = ["--duration", "1", "--slices", "1", "--warmup", "1"]
        short = ["--benchmark_min_time=0.05"]
    else:
        scales = [1000, 1_000_000]
        repeat_time, issue_iterations, lifecycle_iterations = "2", 400, 300
        python_args = ["--min-time", "2", "--issue", "300"]
        http_args = ["--duration", "3", "--slices", "4", "--warmup", "2"]
        short = ["--benchmark_min_time=1"]

    data: dict[str, Any] = {"smoke": args.smoke, "scales": scales, "machine": {
        "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}}
    try:
        data["ceiling"] = google_benchmark(
            os.path.join(bench_dir, "ceiling_bench"),
            [f"--workdir={workdir}", "--benchmark_filter=openssl", *short], "OpenSSL ceiling")
        data["component"] = google_benchmark(
            os.path.join(bench_dir, "component_bench"), short, "components of a first download")
        data["library"] = google_benchmark(
            os.path.join(bench_dir, "library_bench"),
            [f"--workdir={workdir}", f"--scales={','.join(map(str, scales))}",
             f"--issue-iterations={issue_iterations}", f"--benchmark_min_time={repeat_time}"],
            f"C++ library at {' and '.join(f'{n:,}' for n in scales)} clusters")
        data["postgres"] = postgres_figures(bench_dir, workdir, args.postgres, args.smoke)
        data["cluster_api"] = google_benchmark(
            os.path.join(bench_dir, "cluster_api_bench"),
            [f"--workdir={workdir}", f"--scales={','.join(map(str, scales))}",
             f"--lifecycle-iterations={lifecycle_iterations}", f"--benchmark_min_time={repeat_time}"],
            f"cluster API at {' and '.join(f'{n:,}' for n in scales)} clusters")
        output = run([*one_cpu(), sys.executable, os.path.join(HERE, "python_bench.py"), "--workdir", workdir,
                      *python_args], "Python module and plain-Python peer", env)
        data["python"] = json.loads(output)
        if args.no_http:
            data["http_skipped"] = "--no-http"
        elif shutil.which("wrk") is None:
            data["http_skipped"] = "wrk is not installed"
        else:
            output = run([sys.executable, os.path.join(HERE, "http_bench.py"), "--workdir", workdir, *http_args],
                         "HTTP service and trivial endpoint under wrk", env)
            data["http"] = json.loads(output)
    finally:
        if cleanup:
            shutil.rmtree(workdir, ignore_errors=True)

    table = build_table(data, args.smoke, scales)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    print()
    if args.smoke:
        print("SMOKE RUN: small registries and short runs; the figures mean nothing and no target is judged.")
        print()
    print(table.render())
    if table.verdicts:
        met = sum(1 for _, ok in table.verdicts if ok)
        print()
        print(f"targets met: {met} of {len(table.verdicts)}")
        for name, ok in table.verdicts:
            if not ok:
                print(f"  not met: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
