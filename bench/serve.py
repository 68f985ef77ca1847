"""The web service over loopback: PyTorch (the checkpoint) against ONNX Runtime (its export), real servers.

Per backend: p50/p99 latency of GET /generate for n=1 and n=16 images (one client, one request at a time),
then requests/s for n=16 with 1, 4 and 16 concurrent clients (a bounded number of requests each), errors,
and the server's resident memory after a concurrent warm-up and after everything (it should stay flat).

Then a burst: 128 requests of n=256 from 32 clients at once, against a server that generates every request
at once (max_concurrency=32, as before the limit) and one with the default limit (2 slots, a queue of 16).
Peak RSS (VmHWM), RSS after, p50/p99 of the answered requests, 503s (load shed, with Retry-After) and errors.

    python -m bench.serve --ckpt <run folder>/checkpoints/last.ckpt   # writes its sections of docs/benchmarks.md
    python -m bench.serve --ckpt ... --burst-only                      # only the burst (a few minutes)

Any checkpoint will do (the architecture sets the speed, not the training), e.g. one of 50 steps:
``python run.py trainer.max_epochs=1 +trainer.limit_train_batches=50 logger=csv test=false callbacks=no_quality``.
"""

import argparse
import itertools
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench._report import load_note, markdown_table, write_section
from condgan.checkpoints.io import read_checkpoint
from condgan.inference.export import export_generator
from tests.helpers.local_server import local_server

CLIENTS = (1, 4, 16)
WARMUP_REQUESTS = 160  # from 16 clients: the first concurrent burst grows RSS once (per-thread allocator arenas)
BURST = {"requests": 128, "n": 256, "clients": 32}
LIMITS = {  # server options of each burst row
    "every request at once (max_concurrency=32)": {"max_concurrency": 32, "max_queue": 0},
    "default limit (max_concurrency=2, max_queue=16)": {},
}

Result = tuple[int, float]  # (HTTP status, 0 for no answer; seconds)


def memory_mib(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (Linux): VmRSS now, VmHWM its peak so far."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:")) / 1024  # kB → MiB


def timed_requests(url: str, n: int, seeds: range) -> list[Result]:
    """One client's sequential requests on one keep-alive connection: (status, seconds) each."""
    results = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for seed in seeds:
            start = time.perf_counter()
            try:
                status = client.get("/generate", params={"label": seed % 10, "n": n, "seed": seed}).status_code
            except httpx.HTTPError:
                status = 0
            results.append((status, time.perf_counter() - start))
    return results


def ok_latencies(results: list[Result]) -> list[float]:
    return [seconds for status, seconds in results if status == 200]


def failures(results: list[Result], expected: tuple[int, ...] = (200,)) -> int:
    return sum(status not in expected for status, _ in results)


def percentile_ms(latencies: list[float], q: int) -> float:
    return statistics.quantiles(latencies, n=100, method="inclusive")[q - 1] * 1000


def concurrent_run(url: str, n: int, clients: int, requests: int) -> tuple[float, list[Result]]:
    """(requests/s, every (status, seconds)) of ``clients`` clients sharing ``requests`` requests."""
    per_client = requests // clients
    seed_ranges = [range(i * per_client, (i + 1) * per_client) for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(
            itertools.chain.from_iterable(pool.map(lambda seeds: timed_requests(url, n, seeds), seed_ranges))
        )
    return len(results) / (time.perf_counter() - start), results


def measure(model_path: Path, threads: int, latency_requests: int, requests: dict[int, int]) -> dict[str, str]:
    """One latency/throughput row for the server of ``model_path``."""
    with local_server(model_path, threads=threads) as server:
        concurrent_run(server.url, 16, max(CLIENTS), WARMUP_REQUESTS)  # first calls allocate; not what we measure
        rss_before = memory_mib(server.pid)
        row, errors = {}, 0
        for n in (1, 16):
            results = timed_requests(server.url, n, range(latency_requests))
            latencies = ok_latencies(results)
            row[f"n={n} p50 / p99 ms"] = f"{percentile_ms(latencies, 50):.1f} / {percentile_ms(latencies, 99):.1f}"
            errors += failures(results)
        for clients in CLIENTS:
            rate, results = concurrent_run(server.url, 16, clients, requests[clients])
            row[f"{clients} client{'s' * (clients > 1)}: req/s (p50 ms)"] = (
                f"{rate:.0f} ({percentile_ms(ok_latencies(results), 50):.0f})"
            )
            errors += failures(results)
        row["errors"] = str(errors)
        row["RSS MiB before → after"] = f"{rss_before:.0f} → {memory_mib(server.pid):.0f}"
    return row


def burst(model_path: Path, threads: int, options: dict[str, int]) -> dict[str, str]:
    """One burst row: a fresh server (so that VmHWM is this burst's peak), warmed by a few small requests."""
    with local_server(model_path, threads=threads, **options) as server:
        timed_requests(server.url, 16, range(4))
        rss_before = memory_mib(server.pid)
        _, results = concurrent_run(server.url, BURST["n"], BURST["clients"], BURST["requests"])
        peak, after = memory_mib(server.pid, "VmHWM"), memory_mib(server.pid)
    latencies = ok_latencies(results)
    timing = f"{percentile_ms(latencies, 50):.0f} / {percentile_ms(latencies, 99):.0f}" if len(latencies) > 1 else "-"
    return {
        "RSS MiB before → peak → after": f"{rss_before:.0f} → {peak:.0f} → {after:.0f}",
        "answered": str(len(latencies)),
        "p50 / p99 ms": timing,
        "503 (shed)": str(sum(status == 503 for status, _ in results)),
        "errors": str(failures(results, expected=(200, 503))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, required=True, help="a training checkpoint (.ckpt)")
    parser.add_argument("--threads", type=int, default=1, help="the server's threads= (intra-op threads)")
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--requests", type=int, nargs=3, default=[300, 1000, 2000], help="for 1, 4 and 16 clients")
    parser.add_argument("--burst-only", action="store_true", help="skip latency and throughput")
    args = parser.parse_args()

    generator_cfg = read_checkpoint(args.ckpt)["hyper_parameters"]["model"]["generator"]
    network = generator_cfg["_target_"].rsplit(".", 1)[-1]
    image_shape = "×".join(map(str, generator_cfg["image_shape"]))
    load = load_note()
    with tempfile.TemporaryDirectory() as folder:
        backends = {
            "PyTorch (.ckpt)": args.ckpt,
            "ONNX Runtime (.onnx)": export_generator(args.ckpt, "onnx", Path(folder) / "g.onnx"),
        }
        if not args.burst_only:
            requests = dict(zip(CLIENTS, args.requests, strict=True))
            rows = {
                name: measure(path, args.threads, args.latency_requests, requests) for name, path in backends.items()
            }
            how = (
                f"Latency: {args.latency_requests} sequential requests per size, PNG grid. Throughput: n=16 images a "
                f"request, {' / '.join(map(str, args.requests))} requests for {' / '.join(map(str, CLIENTS))} "
                f"clients (the server's default limits). RSS after a warm-up of {WARMUP_REQUESTS} requests "
                f"from {max(CLIENTS)} clients, and at the end. Clients and server share the machine's cores; {load}."
            )
            title = f"## Serving: GET /generate over loopback ({network}, {image_shape} images, threads={args.threads})"
            table = f"{title}\n\n{how}\n\n{markdown_table('backend', rows)}"
            print(table)
            write_section("serve", table)
        rows = {
            f"{backend}, {limit}": burst(path, args.threads, options)
            for backend, path in backends.items()
            for limit, options in LIMITS.items()
        }
    how = (
        f"{BURST['requests']} requests of n={BURST['n']} from {BURST['clients']} clients at once, against a fresh "
        f"server each (threads={args.threads}). Peak RSS is the server's VmHWM; latencies are of the answered "
        f"requests; 503s are refused by the limit with Retry-After; errors are anything else. {load}."
    )
    title = f"## Serving under a burst ({network}, {image_shape} images)"
    table = f"{title}\n\n{how}\n\n{markdown_table('server', rows)}"
    print(table)
    write_section("serve_burst", table)


if __name__ == "__main__":
    main()
