"""The web service over loopback: PyTorch (the checkpoint) against ONNX Runtime (its export), one real server each.

Per backend: p50/p99 latency of GET /generate for n=1 and n=16 images (one client, one request at a time),
then requests/s for n=16 with 1, 4 and 16 concurrent clients (a bounded number of requests each), errors,
and the server's resident memory after a concurrent warm-up and after everything (it should stay flat).

    python bench/serve.py --ckpt <run folder>/checkpoints/last.ckpt   # writes its section of docs/benchmarks.md

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
from _report import write_section

from condgan.checkpoint import load_checkpoint
from condgan.export import export_generator
from condgan.serve.local import local_server

CLIENTS = (1, 4, 16)
WARMUP_REQUESTS = 160  # from 16 clients: the first concurrent burst grows RSS once (per-thread allocator arenas)


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024  # kB → MiB


def timed_requests(url: str, n: int, seeds: range) -> tuple[list[float], int]:
    """Latencies (s) of one client's sequential requests on one keep-alive connection, and its error count."""
    latencies, errors = [], 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for seed in seeds:
            start = time.perf_counter()
            try:
                ok = client.get("/generate", params={"label": seed % 10, "n": n, "seed": seed}).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok
    return latencies, errors


def percentile_ms(latencies: list[float], q: int) -> float:
    return statistics.quantiles(latencies, n=100, method="inclusive")[q - 1] * 1000


def concurrent_run(url: str, n: int, clients: int, requests: int) -> tuple[float, list[float], int]:
    """(requests/s, all latencies, errors) of ``clients`` clients sharing ``requests`` requests."""
    per_client = requests // clients
    seed_ranges = [range(i * per_client, (i + 1) * per_client) for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda seeds: timed_requests(url, n, seeds), seed_ranges))
    elapsed = time.perf_counter() - start
    latencies = list(itertools.chain.from_iterable(r[0] for r in results))
    return len(latencies) / elapsed, latencies, sum(r[1] for r in results)


def measure(model_path: Path, threads: int, latency_requests: int, requests: dict[int, int]) -> dict[str, str]:
    """One table row for the server of ``model_path``."""
    with local_server(model_path, threads=threads) as server:
        concurrent_run(server.url, 16, max(CLIENTS), WARMUP_REQUESTS)  # first calls allocate; not what we measure
        rss_before = rss_mib(server.pid)
        row, errors = {}, 0
        for n in (1, 16):
            latencies, failed = timed_requests(server.url, n, range(latency_requests))
            row[f"n={n} p50 / p99 ms"] = f"{percentile_ms(latencies, 50):.1f} / {percentile_ms(latencies, 99):.1f}"
            errors += failed
        for clients in CLIENTS:
            rate, latencies, failed = concurrent_run(server.url, 16, clients, requests[clients])
            row[f"{clients} client{'s' * (clients > 1)}: req/s (p50 ms)"] = (
                f"{rate:.0f} ({percentile_ms(latencies, 50):.0f})"
            )
            errors += failed
        row["errors"] = str(errors)
        row["RSS MiB before → after"] = f"{rss_before:.0f} → {rss_mib(server.pid):.0f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, required=True, help="a training checkpoint (.ckpt)")
    parser.add_argument("--threads", type=int, default=1, help="the server's threads= (intra-op threads)")
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--requests", type=int, nargs=3, default=[300, 1000, 2000], help="for 1, 4 and 16 clients")
    args = parser.parse_args()

    generator_cfg = load_checkpoint(args.ckpt)["hyper_parameters"]["model"]["generator"]
    requests = dict(zip(CLIENTS, args.requests))
    with tempfile.TemporaryDirectory() as folder:
        onnx = export_generator(args.ckpt, "onnx", Path(folder) / "generator.onnx")
        rows = {
            "PyTorch (.ckpt)": measure(args.ckpt, args.threads, args.latency_requests, requests),
            "ONNX Runtime (.onnx)": measure(onnx, args.threads, args.latency_requests, requests),
        }
    columns = list(next(iter(rows.values())))
    network = generator_cfg["_target_"].rsplit(".", 1)[-1]
    image_shape = "×".join(map(str, generator_cfg["image_shape"]))
    title = f"## Serving: GET /generate over loopback ({network}, {image_shape} images, server threads={args.threads})"
    how = (
        f"Latency: {args.latency_requests} sequential requests per size, PNG grid. Throughput: n=16 images a "
        f"request, {' / '.join(map(str, args.requests))} requests for {' / '.join(map(str, CLIENTS))} clients. "
        f"RSS after a warm-up of {WARMUP_REQUESTS} requests from {max(CLIENTS)} clients, and at the end. "
        "Clients and server share the machine's cores."
    )
    table = "\n".join(
        [
            title,
            "",
            how,
            "",
            "| backend | " + " | ".join(columns) + " |",
            "| --- |" + " ---: |" * len(columns),
            *(f"| {name} | " + " | ".join(row.values()) + " |" for name, row in rows.items()),
        ]
    )
    print(table)
    write_section("serve", table)


if __name__ == "__main__":
    main()
