"""Serving an ONNX export without torch: the shared numpy noise, and the sidecar JSON read as plain data."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from condgan.checkpoints.io import load_generator
from condgan.checkpoints.sidecar import REEXPORT
from condgan.inference import noise
from condgan.inference.runtime import load_inference_model
from condgan.inference.sampling import latent_noise_tensor, sample
from condgan.serve.cli import main

TRAINING_MODULES = [
    "torch",
    "torchvision",
    "lightning",
    "pytorch_lightning",
    "hydra",
    "omegaconf",
    "wandb",
    "torchmetrics",
    "matplotlib",
    "tensorboard",
    "onnxscript",
]

SERVE_ONNX = """
import json, sys
if sys.argv[2] == "uninstalled":
    for name in sys.argv[3:]:
        sys.modules[name] = None  # `import name` now fails, as if the package were not installed
from fastapi.testclient import TestClient
from condgan.inference.runtime import load_inference_model
from condgan.serve.app import create_app
client = TestClient(create_app(load_inference_model(sys.argv[1])))
paths = ["/generate?label=3&n=4&seed=1", "/grid?n=2", "/walk?label=1&steps=3", "/metadata", "/docs", "/"]
statuses = [client.get(path).status_code for path in paths]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[3:] and sys.modules[m] is not None)
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_noise_of_a_seed_is_pinned_and_shared_by_numpy_and_torch():
    # The first values of seed 0: if these move (a numpy upgrade, an edit), every seed's images change.
    pinned = [-0.11777673, 0.94245434, 2.5141597, 0.26202852, 0.54874307]
    np.testing.assert_allclose(noise.latent_noise(1, 5, seed=0)[0], pinned, rtol=0, atol=1e-6)
    assert torch.equal(
        latent_noise_tensor(64, 100, seed=7, truncation=0.8), torch.from_numpy(noise.latent_noise(64, 100, 7, 0.8))
    )


def test_noise_is_standard_normal():
    z = noise.latent_noise(20_000, 100, seed=1)
    assert z.dtype == np.float32 and abs(z.mean()) < 0.003 and abs(z.std() - 1) < 0.003
    assert abs((np.abs(z) > 2).mean() - 0.0455) < 0.001 and abs((np.abs(z) > 3).mean() - 0.0027) < 0.0003
    assert not np.array_equal(noise.latent_noise(4, 100, seed=2), noise.latent_noise(4, 100, seed=3))


def test_a_checkpoint_served_draws_what_sampling_draws(untrained_checkpoint):
    """The server's .ckpt path and generate.py's sampling: the same seed, the same pixels."""
    generator, _ = load_generator(untrained_checkpoint)
    labels = torch.tensor([0, 3, 9, 3])
    expected = sample(generator, labels, seed=11, truncation=0.9).numpy()
    served = load_inference_model(untrained_checkpoint).images(labels.numpy(), seed=11, truncation=0.9)
    assert np.array_equal(served, expected)


@pytest.mark.parametrize("training_packages", ["installed", "uninstalled"])
def test_serving_an_onnx_export_imports_no_torch(untrained_onnx, training_packages):
    """A fresh interpreter loads and serves the export; no training package is imported, or even needed."""
    result = python("-c", SERVE_ONNX, str(untrained_onnx), training_packages, *TRAINING_MODULES)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"statuses": [200] * 6, "loaded": []}


def write_sidecar(export: Path, folder: Path, **changes) -> Path:
    """A copy of ``export`` whose .json has ``changes`` applied (a value of None deletes the key)."""
    copy = folder / "model.onnx"
    copy.write_bytes(export.read_bytes())
    metadata = json.loads(export.with_name(export.name + ".json").read_text())
    metadata.update(changes)
    metadata = {key: value for key, value in metadata.items() if value is not None}
    copy.with_name("model.onnx.json").write_text(json.dumps(metadata))
    return copy


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"num_classes": 11, "classes": [str(k) for k in range(11)]},
            "model.onnx cannot draw the 11 classes its .json names (",
        ),
        (
            {"image_shape": [3, 28, 28], "outputs": {"images": ["batch", 3, 28, 28]}},
            "model.onnx draws images of shape [1, 28, 28], but its .json says image_shape=[3, 28, 28]",
        ),
    ],
    ids=["more classes", "other image shape"],
)
def test_a_sidecar_that_disagrees_with_its_model_is_refused_at_start(untrained_onnx, tmp_path, changes, message):
    model = write_sidecar(untrained_onnx, tmp_path, **changes)
    with pytest.raises(SystemExit) as exit_info:
        main([f"ckpt_path={model}"])  # before the port opens: no request ever gets a 500
    (line,) = str(exit_info.value).splitlines()
    assert line.startswith(f"error: {model}") and message in line and line.endswith(REEXPORT)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"_target_": "builtins.open"}, "_target_: Extra inputs are not permitted"),
        ({"latent_dim": "100"}, "latent_dim: Input should be a valid integer"),
        ({"latent_dim": 64}, "inputs {'noise': ['batch', 100], 'labels': ['batch']} are not"),
        (  # consistent in itself, but not the file beside it
            {"latent_dim": 64, "inputs": {"noise": ["batch", 64], "labels": ["batch"]}},
            "takes noise of shape ['batch', 100], but its .json says latent_dim=64",
        ),
        ({"num_classes": None}, "num_classes: Field required"),
        ({"classes": ["a", "b"]}, "2 class names for num_classes=10"),
        (
            {"classes": [{"_target_": "os.system", "_args_": ["touch marker"]}] * 10},
            "classes.0: Input should be a valid string",
        ),
        ({"image_shape": [2, 28, 28], "outputs": {"images": ["batch", 2, 28, 28]}}, "has 2 channels, not 1 or 3"),
        ({"format": "safetensors", "config": {}}, "describes a safetensors export, not this .onnx file"),
        ({"format": "pickle"}, "format: Input should be 'onnx', 'safetensors' or 'checkpoint'"),
        ({"config_sha256": "abc"}, "config_sha256: String should match pattern"),
    ],
)
def test_a_sidecar_that_does_not_fit_the_schema_is_refused_in_one_line(
    untrained_onnx, tmp_path, monkeypatch, changes, message
):
    monkeypatch.chdir(tmp_path)  # a `touch marker` that ran would leave its file here
    model = write_sidecar(untrained_onnx, tmp_path, **changes)
    with pytest.raises(SystemExit) as exit_info:
        main([f"ckpt_path={model}"])
    (line,) = str(exit_info.value).splitlines()
    assert line.startswith("error: ") and message in line and "export again with `condgan export" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.onnx.json"]


@pytest.mark.parametrize(
    "content, message",
    [(b"{not json", "not JSON"), (b"[1, 2]", "a JSON list, not an object"), (b"\x8f\x00", "not JSON")],
)
def test_a_sidecar_that_is_not_a_json_object_is_refused(untrained_onnx, tmp_path, content, message):
    model = write_sidecar(untrained_onnx, tmp_path)
    model.with_name("model.onnx.json").write_bytes(content)
    with pytest.raises(SystemExit, match=f"invalid metadata in .*model.onnx.json: {message}"):
        main([f"ckpt_path={model}"])
