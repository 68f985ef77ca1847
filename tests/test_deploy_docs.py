"""What docs/deploy.md tells people to type and to apply: the command lines run, the Kubernetes example fits
the image and the server, and its memory limit covers the measured peak."""

import re
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from condgan.serve.cli import parse_args
from condgan.serve.local import free_loopback_port, server_process

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_MD = (ROOT / "docs" / "deploy.md").read_text()
CONDGAN_SERVE = Path(sys.executable).with_name("condgan-serve")  # the console script of this environment


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(Mi|Gi)", quantity).groups()
    return float(number) * {"Mi": 1, "Gi": 1024}[unit]


def documented_serve_commands() -> list[list[str]]:
    return [line.split("#")[0].split() for line in DEPLOY_MD.splitlines() if line.startswith("condgan-serve ")]


@pytest.mark.parametrize("command", documented_serve_commands(), ids=" ".join)
def test_the_documented_serve_commands_run_as_typed(command, untrained_checkpoint, untrained_onnx):
    """Each `condgan-serve ...` line of docs/deploy.md, run by the console script itself, with the model path
    replaced by a test model of the same kind and the address by a free loopback port."""
    port = free_loopback_port()
    models = {".ckpt": untrained_checkpoint, ".onnx": untrained_onnx}
    replaced = {
        "ckpt_path": lambda path: models[Path(path).suffix],
        "host": lambda _: "127.0.0.1",
        "port": lambda _: port,
    }
    arguments = [arg.partition("=") for arg in command[1:]]
    arguments = [f"{key}={replaced[key](value) if key in replaced else value}" for key, _, value in arguments]
    with server_process([str(CONDGAN_SERVE), *arguments, f"port={port}"], port) as server:
        assert httpx.get(f"{server.url}/generate", params={"label": 1, "n": 2}).status_code == 200


def test_the_kubernetes_example_fits_the_image_and_the_measured_memory():
    (block,) = re.findall(r"```yaml\n(.*?)```", DEPLOY_MD, re.S)
    deployment, service = yaml.safe_load_all(block)
    assert (deployment["kind"], service["kind"]) == ("Deployment", "Service")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    options = parse_args(container["args"])  # the server accepts the arguments as written
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"USER {pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" in dockerfile
    (port,) = container["ports"]
    assert port["containerPort"] == 8000 and '"port=8000"' in dockerfile
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in container["volumeMounts"]

    resources = container["resources"]
    assert float(resources["limits"]["cpu"]) >= options.max_concurrency * options.threads
    burst = (ROOT / "docs" / "benchmarks.md").read_text()
    row = re.search(r"\| ONNX Runtime \(\.onnx\), default limit .*?\| \d+ → (\d+) → \d+ \|", burst)
    if row is None:
        pytest.fail("docs/benchmarks.md has no burst row for ONNX Runtime: run python bench/serve.py --burst-only")
    peak_mib = float(row.group(1))
    assert mebibytes(resources["requests"]["memory"]) >= peak_mib  # the measured peak fits what is requested
    assert mebibytes(resources["limits"]["memory"]) >= 1.5 * peak_mib  # and the limit leaves headroom
