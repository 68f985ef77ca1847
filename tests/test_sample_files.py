"""condgan generate and the sampling library: documented outputs, reproducibility, clear errors."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.checkpoints.io import load_generator
from condgan.inference.runtime import load_inference_model
from condgan.inference.sampling import latent_noise_tensor, sample, sample_per_class
from tests.helpers import decode_png


def test_npz_holds_n_per_class_images_of_every_class_in_label_order(run_script, untrained_checkpoint, tmp_path):
    out = tmp_path / "samples.npz"
    run_script("generate", f"ckpt_path={untrained_checkpoint}", "n_per_class=3", f"out={out}")
    with np.load(out) as arrays:
        assert sorted(arrays.files) == ["images", "labels"]
        images, labels = arrays["images"], arrays["labels"]
    assert images.dtype == np.uint8 and images.shape == (30, 1, 28, 28)
    assert labels.dtype == np.int64 and labels.tolist() == [c for c in range(10) for _ in range(3)]


def test_same_seed_same_images_other_seed_other_images(run_script, untrained_checkpoint, tmp_path):
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        out = tmp_path / f"{name}.npz"
        run_script("generate", f"ckpt_path={untrained_checkpoint}", "n_per_class=2", f"seed={seed}", f"out={out}")
    a, b, c = (np.load(tmp_path / f"{name}.npz")["images"] for name in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_png_grid_of_one_digit_and_label_is_the_general_name(run_script, untrained_checkpoint, tmp_path):
    run_script("generate", f"ckpt_path={untrained_checkpoint}", "digit=5", "n=16", f"out={tmp_path / 'five.png'}")
    run_script("generate", f"ckpt_path={untrained_checkpoint}", "label=5", "n=16", f"out={tmp_path / 'label.png'}")
    grid = decode_png(tmp_path / "five.png")
    assert grid.shape == (3, 4 * 30 + 2, 4 * 30 + 2)  # 4×4 images of 28 px, padding 2 (make_grid: RGB)
    assert (tmp_path / "five.png").read_bytes() == (tmp_path / "label.png").read_bytes()


def test_sampling_ignores_batch_size_and_global_rng_and_keeps_the_mode(untrained_checkpoint):
    generator, _ = load_generator(untrained_checkpoint)
    generator.train()
    rng_state = torch.get_rng_state()
    images, labels = sample_per_class(generator, 3, seed=7, batch_size=1000)
    assert torch.equal(images, sample(generator, labels, seed=7, batch_size=4))
    assert torch.equal(torch.get_rng_state(), rng_state) and generator.training


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["digit=10"], "label 10 is outside the model's classes: pick a label in 0..9"),
        (["label=-1"], "label -1 is outside the model's classes"),
        (["label=3", "digit=4"], "label=3 and digit=4 disagree"),
        (["digit=5", "n=0"], "n must be at least 1"),
        (["n_per_class=0"], "n_per_class must be at least 1"),
        (["out=samples.jpg"], "unknown output extension '.jpg'"),
        (["truncation=0"], "truncation must be at least 0.01"),
        (["interpolate=true"], "pass seed_to=<another seed>, e.g. seed_to=1"),
        (["interpolate=true", "seed_to=0"], "seed_to equals seed"),
        (["interpolate=true", "seed_to=1", "steps=1"], "at least 2 steps"),
    ],
)
def test_bad_requests_fail_with_the_fix(run_script, untrained_checkpoint, tmp_path, monkeypatch, overrides, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=message):
        run_script("generate", f"ckpt_path={untrained_checkpoint}", *overrides)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_truncation_redraws_every_value_outside_it_reproducibly():
    noise = latent_noise_tensor(500, 100, seed=3, truncation=0.5)
    assert noise.abs().max() <= 0.5
    assert torch.equal(noise, latent_noise_tensor(500, 100, seed=3, truncation=0.5))
    kept = latent_noise_tensor(500, 100, seed=3).abs() <= 0.5  # values inside the bound are the untruncated draw's
    assert torch.equal(noise[kept], latent_noise_tensor(500, 100, seed=3)[kept])


def test_truncated_samples_from_the_command_line(run_script, untrained_checkpoint, tmp_path):
    run_script(
        "generate", f"ckpt_path={untrained_checkpoint}", "n_per_class=2", "truncation=0.5", f"out={tmp_path / 't.npz'}"
    )
    generator, _ = load_generator(untrained_checkpoint)
    expected, _ = sample_per_class(generator, 2, seed=0, truncation=0.5)
    assert np.array_equal(np.load(tmp_path / "t.npz")["images"], expected.numpy())
    assert not torch.equal(expected, sample_per_class(generator, 2, seed=0)[0])


def test_walk_gif_has_a_frame_per_step_each_a_row_of_the_classes(run_script, untrained_checkpoint, tmp_path):
    walk = ["interpolate=true", "seed=1", "seed_to=2", "steps=5"]
    run_script("generate", f"ckpt_path={untrained_checkpoint}", *walk, f"out={tmp_path / 'walk.gif'}")
    run_script("generate", f"ckpt_path={untrained_checkpoint}", *walk, "label=3", f"out={tmp_path / 'three.gif'}")
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 5 and gif.size == (10 * 30 + 2, 30 + 2)  # 10 classes of 28 px, padding 2
    with Image.open(tmp_path / "three.gif") as gif:
        assert gif.n_frames == 5 and gif.size == (28, 28)  # one image a frame: make_grid adds no padding


def test_walk_png_and_npz_hold_the_steps_in_order(run_script, untrained_checkpoint, tmp_path):
    walk = ["interpolate=true", "seed=1", "seed_to=2", "steps=4"]
    run_script("generate", f"ckpt_path={untrained_checkpoint}", *walk, f"out={tmp_path / 'walk.png'}")
    run_script("generate", f"ckpt_path={untrained_checkpoint}", *walk, f"out={tmp_path / 'walk.npz'}")
    assert decode_png(tmp_path / "walk.png").shape == (3, 4 * 30 + 2, 10 * 30 + 2)  # row = step
    with np.load(tmp_path / "walk.npz") as arrays:
        assert arrays["images"].shape == (40, 1, 28, 28) and arrays["labels"].tolist() == list(range(10)) * 4


def test_walk_runs_from_the_images_of_one_seed_to_those_of_the_other(untrained_checkpoint):
    model = load_inference_model(untrained_checkpoint)
    images = model.walk(np.array([3, 7]), seed=1, seed_to=2, steps=6)
    assert images.shape == (12, 1, 28, 28)
    for image, label, seed in ((images[1], 7, 1), (images[-1], 7, 2)):  # the ends of the spherical path
        expected = model.images(np.array([label]), seed=seed)[0]
        assert np.abs(image.astype(int) - expected.astype(int)).max() <= 1  # the ends are the seeds' noise to ~1e-7


def test_missing_and_truncated_checkpoints_fail_with_the_fix(run_script, untrained_checkpoint, tmp_path):
    with pytest.raises(SystemExit, match=r"Checkpoint not found.*Pass ckpt_path="):
        run_script("generate", f"ckpt_path={tmp_path / 'nope.ckpt'}", f"out={tmp_path / 'x.npz'}")
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(untrained_checkpoint.read_bytes()[:5000])
    with pytest.raises(SystemExit, match="truncated or corrupt"):
        run_script("generate", f"ckpt_path={corrupt}", f"out={tmp_path / 'x.npz'}")


def test_command_line_exit_status_and_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "generate", f"ckpt_path={tmp_path / 'nope.ckpt'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: Checkpoint not found") and "Traceback" not in result.stderr
