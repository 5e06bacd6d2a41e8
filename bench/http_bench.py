"""HTTP: the service's ["Downloaded"] path under wrk on loopback, next to the
same framework's trivial endpoint, in one run.

Both servers are single uvicorn processes pinned to one CPU (--server-cpu) and
loaded by one wrk thread on the other (--client-cpu), over the same keep-alive
connections and with the same requests: GET /v1/clusters/{id}/accessinfo with
an X-Auth-Token, cycling over the 500 downloaded clusters of a seeded registry
(bench/workload.py). They are loaded in turns, a few seconds at a time, so
that both see the same machine; throughput is over all slices, p50/p99 the
median of the slices'.

  service   python -m clusteraccess.service --db PATH --port PORT (as deployed,
            access log on; stderr goes to a log file)
  tls       the same service over HTTPS (--tls-cert/--tls-key, a P-256 certificate
            made for the run), over the same keep-alive connections: the figure
            is its ratio to plain HTTP
  trivial   bench/http_trivial.py: a Starlette route returning a constant
            ["Downloaded"] under the same uvicorn settings

Prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workload  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

LUA = r"""
local paths = {%(paths)s}
local headers = { ["X-Auth-Token"] = "%(token)s" }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "non_2xx": %%d, "socket_errors": %%d, ' ..
    '"connect_errors": %%d, "read_errors": %%d, "write_errors": %%d, "timeouts": %%d, ' ..
    '"mean_us": %%.1f, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    e.connect, e.read, e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(cpu), *command]


# The benchmark's own certificate is not verified: it measures the cost of TLS, not trust.
UNVERIFIED = ssl._create_unverified_context()


def make_certificate(directory: str) -> tuple[str, str]:
    """A self-signed P-256 certificate for 127.0.0.1 and its key: (cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1, context=UNVERIFIED) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not answer {url} within {timeout} s")


def get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"X-Auth-Token": token})
    with urllib.request.urlopen(request, timeout=5, context=UNVERIFIED) as response:
        return response.status, response.read()


def wrk(args: argparse.Namespace, url: str, script: str, duration: int) -> dict[str, float]:
    command = pinned(args.client_cpu, ["wrk", "-t", "1", "-c", str(args.connections), "-d", f"{max(1, duration)}s",
                                       "--latency", "-s", script, url])
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr.strip() or run.stdout.strip()}")
    output = run.stdout
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            figures: dict[str, float] = json.loads(line[len("WRK_JSON "):])
            figures["ops_per_s"] = figures["requests"] / (figures["duration_us"] / 1e6)
            return figures
    raise RuntimeError("wrk printed no figures:\n" + output)


class Server:
    """One server process, pinned, up until stop()."""

    def __init__(self, args: argparse.Namespace, name: str, command: list[str], port: int, log: str,
                 scheme: str = "http") -> None:
        self.name = name
        self.base = f"{scheme}://127.0.0.1:{port}"
        # The log is written to while loaded (one access-log line per request by
        # the service), and read back only when the server fails to start.
        with open(log, "wb") as stderr:
            self.process = subprocess.Popen(pinned(args.server_cpu, command), stdout=subprocess.DEVNULL,
                                            stderr=stderr)
        try:
            wait_until_up(self.base + "/healthz", self.process)
        except BaseException as e:
            self.stop()
            with open(log, "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{name}: {e}; its stderr ends with:\n{tail}") from None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def measure(args: argparse.Namespace, servers: list[Server], script: str, first_path: str,
            token: str) -> dict[str, dict[str, Any]]:
    """Loads the servers in turn, `args.slices` slices each, so that all of
    them see the same machine (other work on it comes and goes)."""
    for server in servers:
        status, body = get(server.base + first_path, token)
        if status != 200 or json.loads(body) != ["Downloaded"]:
            raise RuntimeError(f"{server.name}: {first_path} answered {status} {body[:80]!r}")
        wrk(args, server.base, script, args.warmup)
    slices: dict[str, list[dict[str, float]]] = {server.name: [] for server in servers}
    for _ in range(args.slices):
        for server in servers:
            figures = wrk(args, server.base, script, args.duration)
            # Every answer must be the 200 ["Downloaded"]; a rare socket error
            # (a timeout on a loaded machine) is counted and shown, not fatal.
            if figures["non_2xx"] or figures["socket_errors"] > 0.001 * figures["requests"]:
                raise RuntimeError(f"{server.name}: {figures['non_2xx']} non-2xx answers, "
                                   f"{figures['socket_errors']} socket errors: {figures}")
            slices[server.name].append(figures)
    results: dict[str, dict[str, Any]] = {}
    for name, runs in slices.items():
        requests = sum(r["requests"] for r in runs)
        seconds = sum(r["duration_us"] for r in runs) / 1e6
        results[name] = {
            "requests": requests,
            "ops_per_s": requests / seconds,
            "p50_us": median([r["p50_us"] for r in runs]),
            "p99_us": median([r["p99_us"] for r in runs]),
            "max_us": max(r["max_us"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
            "slices": runs,
        }
        print(f"{name:8} {results[name]['ops_per_s']:>10,.0f} req/s  p50 {results[name]['p50_us'] / 1000:.2f} ms  "
              f"p99 {results[name]['p99_us'] / 1000:.2f} ms", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    workload.add_arguments(parser)
    parser.add_argument("--duration", type=int, default=3, help="seconds of one slice of load")
    parser.add_argument("--slices", type=int, default=4, help="slices of load per server, taken in turns")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        args.server_cpu = args.client_cpu = None

    from clusteraccess import _core as core

    [path] = workload.fresh_paths(args.workdir, "http.db")
    workdir = os.path.dirname(path)
    wl = workload.make_registry(core, path, args.clusters)
    paths = [f"/v1/clusters/{cid}/accessinfo" for cid in wl.downloaded[:500]]
    script = os.path.join(workdir, "http_bench.lua")
    with open(script, "w") as f:
        f.write(LUA % {"paths": ", ".join(f'"{p}"' for p in paths), "token": wl.alice})

    cert, key = make_certificate(workdir)
    service = [sys.executable, "-m", "clusteraccess.service", "--db", path]
    servers: list[Server] = []
    try:
        for name, command, scheme in (
            ("service", [*service, "--port"], "http"),
            ("trivial", [sys.executable, os.path.join(HERE, "http_trivial.py"), "--port"], "http"),
            ("tls", [*service, "--tls-cert", cert, "--tls-key", key, "--port"], "https"),
        ):
            port = free_port()
            servers.append(Server(args, name, [*command, str(port)], port, os.path.join(workdir, f"{name}.log"),
                                  scheme))
        results = measure(args, servers, script, paths[0], wl.alice)
    finally:
        for server in servers:
            server.stop()
    report = {
        "connections": args.connections,
        "seconds_per_server": args.duration * args.slices,
        "service_vs_trivial": results["service"]["ops_per_s"] / results["trivial"]["ops_per_s"],
        "tls_vs_plain_http": results["tls"]["ops_per_s"] / results["service"]["ops_per_s"],
        "results": results,
    }
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
