"""What docs/deploy.md tells people to apply: the Kubernetes example fits the image and the server, and its
memory covers the measured peak. (Its command lines run in tests/test_documented_commands.py.)"""

import re

import pytest
import yaml

from condgan.serve.cli import parse_args
from tests.helpers import ROOT

DEPLOY_MD = (ROOT / "docs" / "deploy.md").read_text()


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(Mi|Gi)", quantity).groups()
    return float(number) * {"Mi": 1, "Gi": 1024}[unit]


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
        pytest.fail("docs/benchmarks.md has no burst row for ONNX Runtime: run python -m bench.serve --burst-only")
    peak_mib = float(row.group(1))
    assert mebibytes(resources["requests"]["memory"]) >= peak_mib  # the measured peak fits what is requested
    assert mebibytes(resources["limits"]["memory"]) >= 1.5 * peak_mib  # and the limit leaves headroom
