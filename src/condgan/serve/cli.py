"""``condgan serve [ckpt_path=...] [host=...] [port=...] [threads=...] [max_concurrency=...] ...``: load, then serve.

Plain ``key=value`` arguments rather than Hydra: a handful of flat settings need no composition, and the
server starts without Hydra's import and composition time. ``condgan-serve`` is the same command.
"""

import sys
from dataclasses import dataclass, fields

import uvicorn

from condgan.errors import exit_on_user_error
from condgan.inference.runtime import load_inference_model
from condgan.pretrained import pretrained_path
from condgan.serve.app import create_app

INT_RANGES = {
    "port": (1, 65535),
    "threads": (1, 1024),
    "max_concurrency": (1, 1024),
    "max_queue": (0, 100_000),
    "max_wait_s": (1, 3600),
}
USAGE = (
    "usage: condgan serve [ckpt_path=<.onnx, .ckpt or .safetensors; default: the shipped MNIST generator>] "
    "[host=127.0.0.1] [port=8000] [threads=1] "
    "[max_concurrency=2] [max_queue=16] [max_wait_s=10]"
)


@dataclass(frozen=True)
class ServeOptions:
    ckpt_path: str = ""  # empty: the shipped MNIST generator (condgan.pretrained)
    host: str = "127.0.0.1"  # loopback only; in a container host=0.0.0.0, published through its port mapping
    port: int = 8000
    threads: int = 1  # intra-op threads per generation: max_concurrency generations already run side by side
    max_concurrency: int = 2  # generations at once: CPU use ≈ max_concurrency × threads cores (docs/deploy.md)
    max_queue: int = 16  # requests that may wait for a slot; beyond them: 503 at once
    max_wait_s: int = 10  # the longest a request waits for a slot before its 503


def parse_args(args: list[str]) -> ServeOptions:
    """``key=value`` arguments → options; an unknown key or a bad number raises ValueError."""
    names = [field.name for field in fields(ServeOptions)]
    values: dict[str, str | int] = {}
    for arg in args:
        key, has_value, value = arg.partition("=")
        if not has_value or key not in names:
            raise ValueError(
                f"unknown argument {arg!r}: the arguments are {', '.join(f'{n}=' for n in names)}\n{USAGE}"
            )
        values[key] = value
    defaults = {field.name: field.default for field in fields(ServeOptions)}
    for key, (low, high) in INT_RANGES.items():
        if key in values:
            values[key] = parse_int(key, str(values[key]), low, high, example=defaults[key])
    return ServeOptions(**values)


def parse_int(key: str, value: str, low: int, high: int, example: int) -> int:
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise ValueError(f"{key}={value} is not a whole number in {low}..{high}: pass e.g. {key}={example}")
    return int(value)


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if any(arg in ("-h", "--help") for arg in args):
        print(f"{USAGE}\nThen open http://<host>:<port>/ (web page) or /docs (the API). docs/deploy.md has the rest.")
        return
    options = parse_args(args)
    model = load_inference_model(options.ckpt_path or pretrained_path("onnx"), options.threads)
    app = create_app(model, options.max_concurrency, options.max_queue, options.max_wait_s)
    uvicorn.run(app, host=options.host, port=options.port)
