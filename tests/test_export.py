"""condgan export: ONNX and safetensors files that compute what PyTorch computes at any batch size, with metadata."""

import hashlib
import json
from pathlib import Path

import onnxruntime
import pytest
import torch

from condgan.checkpoints.io import load_generator, read_checkpoint
from condgan.inference import export
from condgan.inference.export import EXPORT_SUFFIXES, ExportError, export_generator
from condgan.inference.metadata import class_names
from condgan.inference.runtime import load_inference_model
from condgan.inference.sampling import latent_noise_tensor


@pytest.fixture(scope="module", params=sorted(EXPORT_SUFFIXES))
def exported(request, untrained_family_checkpoint, tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, exported file): every generator family in every format."""
    out = tmp_path_factory.mktemp("export") / f"generator{EXPORT_SUFFIXES[request.param]}"
    return untrained_family_checkpoint, export_generator(untrained_family_checkpoint, request.param, out)


def test_export_matches_pytorch_at_any_batch_size(exported):
    ckpt, path = exported
    generator, _ = load_generator(ckpt)
    runner = load_inference_model(path).generator  # as generate and serve load it: numpy in, numpy out
    for batch in (1, 7, 64):  # the ONNX graph was traced with a batch of 2
        noise = latent_noise_tensor(batch, generator.latent_dim, seed=batch)
        labels = torch.randint(0, generator.num_classes, (batch,), generator=torch.Generator().manual_seed(batch))
        with torch.inference_mode():
            expected, actual = generator(noise, labels), torch.from_numpy(runner(noise.numpy(), labels.numpy()))
        assert actual.dtype == torch.float32 and actual.shape == (batch, 1, 28, 28)
        assert (actual - expected).abs().max() <= 1e-4


def test_export_is_one_file_plus_its_metadata(exported):
    ckpt, path = exported
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, f"{path.name}.json"]  # no external weights
    metadata = json.loads(path.with_name(f"{path.name}.json").read_text())
    config = read_checkpoint(ckpt)["hyper_parameters"]
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert metadata["classes"] == [str(d) for d in range(10)]  # MNIST: the digits
    assert metadata["num_classes"] == 10 and metadata["latent_dim"] == 100 and metadata["image_shape"] == [1, 28, 28]
    assert metadata["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert metadata["source_checkpoint"] == str(ckpt.resolve())
    assert metadata["format"] == {".onnx": "onnx", ".safetensors": "safetensors"}[path.suffix]
    assert metadata["torch_version"] == torch.__version__
    assert metadata["config"] == (config if path.suffix == ".safetensors" else None)  # what rebuilds the network


@pytest.mark.parametrize("exported", ["safetensors"], indirect=True)
def test_a_safetensors_export_opens_wherever_a_checkpoint_does(exported, run_script, tmp_path):
    ckpt, path = exported
    from_export, config = load_generator(path)  # generate, eval, export and report all open files through it
    from_ckpt, _ = load_generator(ckpt)
    assert config == read_checkpoint(ckpt)["hyper_parameters"]
    for name, tensor in from_ckpt.state_dict().items():
        torch.testing.assert_close(from_export.state_dict()[name], tensor, rtol=0, atol=0)
    run_script("generate", f"ckpt_path={path}", "digit=3", "n=4", f"out={tmp_path / 'three.png'}")
    run_script("export", f"ckpt_path={path}", "format=onnx", f"out={tmp_path / 'again.onnx'}")
    assert (tmp_path / "three.png").is_file() and (tmp_path / "again.onnx.json").is_file()


@pytest.mark.parametrize("exported", ["onnx"], indirect=True)
def test_onnx_names_its_inputs_and_outputs_with_a_dynamic_batch(exported):
    _, path = exported
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type, i.shape) for i in session.get_inputs()] == [
        ("noise", "tensor(float)", ["batch", 100]),
        ("labels", "tensor(int64)", ["batch"]),
    ]
    assert [(o.name, o.type, o.shape) for o in session.get_outputs()] == [
        ("images", "tensor(float)", ["batch", 1, 28, 28])
    ]


def test_export_command_writes_beside_the_checkpoint_by_default(run_script, untrained_checkpoint, tmp_path):
    ckpt = tmp_path / "last.ckpt"
    ckpt.write_bytes(untrained_checkpoint.read_bytes())
    run_script("export", f"ckpt_path={ckpt}", "format=safetensors")
    assert (tmp_path / "last.safetensors").is_file() and (tmp_path / "last.safetensors.json").is_file()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["format=tflite"], "unknown format='tflite': use format=onnx or format=safetensors"),
        ([], "no format given: pass format=onnx or format=safetensors"),
        (["format=onnx", "out=generator.pt"], "does not end in .onnx, the extension of format=onnx"),
    ],
)
def test_bad_export_requests_fail_with_the_fix(
    run_script, untrained_checkpoint, tmp_path, monkeypatch, overrides, message
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=message):
        run_script("export", f"ckpt_path={untrained_checkpoint}", *overrides)
    assert list(tmp_path.iterdir()) == []  # refused before any work


def test_missing_checkpoint_fails_with_the_fix(run_script, tmp_path):
    with pytest.raises(SystemExit, match=r"Checkpoint not found: .*Pass ckpt_path="):
        run_script("export", f"ckpt_path={tmp_path / 'nope.ckpt'}", "format=onnx")


def test_an_export_that_differs_from_pytorch_is_refused_and_deleted(untrained_checkpoint, tmp_path, monkeypatch):
    def write_other_generator(generator, path):  # the same architecture with other weights
        other, _ = load_generator(untrained_checkpoint)
        for parameter in other.parameters():
            torch.nn.init.normal_(parameter)
        export.write_onnx(other, path)

    monkeypatch.setitem(export.WRITERS, "onnx", write_other_generator)
    with pytest.raises(ExportError, match=r"the onnx export differs from PyTorch by .* at batch 1"):
        export_generator(untrained_checkpoint, "onnx", tmp_path / "wrong.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "datamodule, num_classes, first_names",
    [
        ({"dataset": "fashion_mnist"}, 10, ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]),
        ({"_target_": "condgan.data.cifar10.Cifar10DataModule"}, 10, ["airplane", "automobile", "bird", "cat"]),
        ({"_target_": "condgan.data.image_folder.ImageFolderDataModule", "data_dir": "/nowhere"}, 3, ["0", "1", "2"]),
        ({"dataset": "mnist"}, 3, ["0", "1", "2"]),  # a model with another class count than the data: numbers
    ],
)
def test_class_names_come_from_the_datamodule_config(datamodule, num_classes, first_names):
    names = class_names({"datamodule": datamodule}, num_classes)
    assert len(names) == num_classes and names[: len(first_names)] == first_names


def test_image_folder_class_names_are_its_sub_folders_in_name_order(tmp_path):
    for name in ("zebra", "cat", ".cache"):
        (tmp_path / name).mkdir()
    datamodule = {"_target_": "condgan.data.image_folder.ImageFolderDataModule", "data_dir": str(tmp_path)}
    assert class_names({"datamodule": datamodule}, 2) == ["cat", "zebra"]
