"""report.py: the report of a tiny trained run, of runs missing parts, and of paths that are not run folders."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from condgan.report import RunFolderError, interpolate_latents_tensor, write_report

EPOCHS = 2
FIGURES = ("report/loss_curves.png", "report/samples.gif", "report/interpolation.png")


@pytest.fixture
def config_only_run(tmp_path) -> Path:
    """A run folder holding nothing but its config, like a run that stopped before its first epoch."""
    run_dir = tmp_path / "config_only"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("datamodule: {dataset: mnist, image_size: 28}\nseed: 1\n")
    return run_dir


def missing_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("> **Missing:**")]


def test_report_of_a_trained_run_and_of_it_without_samples(run_cli, run_script, tmp_path, monkeypatch):
    # 2 batches an epoch: the report needs epochs, checkpoints and logs, not a trained model.
    trained_run = run_cli(f"trainer.max_epochs={EPOCHS}", "+trainer.limit_train_batches=2", "test=false")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run_script("report", f"run_dir={trained_run}")
    assert list(elsewhere.iterdir()) == []  # no outputs/ or .hydra/ where the command ran
    for name in ("report.md", "report.html", *FIGURES):
        assert (trained_run / name).is_file(), name

    markdown = (trained_run / "report.md").read_text()
    assert "epochs 0 to 1" in markdown and "samples/epoch_001.png" in markdown
    assert "`val/g_loss`" in markdown and "`val/d_loss`" in markdown and "after epoch 1" in markdown
    assert f"trainer.max_epochs={EPOCHS}" in markdown  # the command's overrides
    (only_missing,) = missing_lines(markdown)  # this run was never measured by eval.py, and lacks nothing else
    assert f"condgan eval ckpt_path={trained_run / 'checkpoints' / 'last.ckpt'}" in only_missing
    with Image.open(trained_run / "report" / "samples.gif") as gif:
        assert gif.n_frames == EPOCHS

    html = (trained_run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4  # loss curves, 2 epochs' grids, interpolation
    assert html.count("data:image/gif;base64,") == 1 and 'src="report/' not in html  # nothing linked

    shutil.rmtree(trained_run / "samples")
    markdown = write_report(trained_run)[0].read_text()
    (_, no_samples) = missing_lines(markdown)
    assert "no `samples/epoch_*.png`" in no_samples and "`condgan train callbacks=default`" in no_samples
    assert not (trained_run / "report" / "samples.gif").exists()  # the first report's GIF is gone
    assert (trained_run / "report" / "interpolation.png").is_file()


def test_config_only_run_lists_every_missing_part(config_only_run):
    markdown_path, html_path = write_report(config_only_run)
    markdown = markdown_path.read_text()
    assert len(missing_lines(markdown)) == 6  # overrides, metrics.json, csv (for metrics and curves), samples, ckpt
    assert "`condgan eval ckpt_path=" in markdown and "`logger=csv`" in markdown
    assert "| dataset | `mnist` |" in markdown and "| generator | `not set` |" in markdown
    assert '<p class="missing">' in html_path.read_text()
    assert not list((config_only_run / "report").iterdir())


@pytest.mark.parametrize(
    "metrics",
    [
        {"checkpoint": "last.ckpt", "model": {"fid": 12.5, "kid": 0.25}, "floor": {"fid": 0.5, "kid": 0.001}},
        {"generated": {"fid": 12.5, "kid": 0.25}, "floor": {"fid": 0.5, "kid": 0.001}},
        {"fid": 12.5, "kid": 0.25, "floor": {"fid": 0.5}},
    ],
)
def test_metrics_json_numbers_shown_beside_their_floor(config_only_run, metrics):
    (config_only_run / "checkpoints").mkdir()
    (config_only_run / "checkpoints" / "metrics.json").write_text(json.dumps(metrics))
    markdown = write_report(config_only_run)[0].read_text()
    assert "| real-data floor |" in markdown and "| 12.5 | 0.5 |" in markdown
    assert "| 0.25 |" in markdown and "eval.py ckpt_path" not in markdown


def test_logged_values_shown_beside_their_floor_until_eval_py_runs(config_only_run):
    (config_only_run / "csv").mkdir()
    (config_only_run / "csv" / "metrics.csv").write_text(
        "epoch,step,train/g_loss,train/d_loss,val/g_loss,val/d_loss,val/fid,val/fid_floor\n"
        "0,3,0.9,0.4,,,,\n0,3,,,0.8,0.5,40.0,0.5\n1,7,0.7,0.3,,,,\n1,7,,,0.6,0.45,30.0,0.5\n"
    )
    markdown = write_report(config_only_run)[0].read_text()
    assert "| `val/fid` | 30 | 0.5 |" in markdown and "| `val/g_loss` | 0.6 |  |" in markdown
    assert "after epoch 1" in markdown and (config_only_run / "report" / "loss_curves.png").is_file()


def test_path_that_is_not_a_run_folder_is_refused(tmp_path):
    with pytest.raises(RunFolderError, match="does not exist"):
        write_report(tmp_path / "nowhere")
    with pytest.raises(RunFolderError, match="is not a run folder"):
        write_report(tmp_path)
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "report").exists()


def test_interpolation_walks_from_one_latent_to_the_other():
    start, end = torch.randn(2, 100, generator=torch.Generator().manual_seed(0))
    path = interpolate_latents_tensor(start, end, 8)
    assert path.shape == (8, 100)
    torch.testing.assert_close(path[0], start)
    torch.testing.assert_close(path[-1], end)
    # On the sphere, not the chord: the midpoint keeps about the norm of the ends.
    assert path.norm(dim=1).min() > 0.9 * min(start.norm(), end.norm())
    torch.testing.assert_close(interpolate_latents_tensor(start, 2 * start, 3)[1], 1.5 * start)  # parallel ends
