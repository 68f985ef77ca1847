"""Settings, folders and disks that cannot work: one line naming the setting or path and what to do, before any
work, with HYDRA_FULL_ERROR=1 still showing the whole traceback."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from condgan import cli
from condgan.errors import ConfigError
from condgan.training.config_checks import check_config
from tests.helpers import cli_args, compose_config


def run_py(monkeypatch, data_dir: Path, run_dir: Path, *overrides: str, full_error: bool = False) -> SystemExit:
    """``condgan train <overrides>`` in this process, as a user runs it; returns how it exited."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the command sets sys.argv for Hydra
    if full_error:
        monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    else:
        monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as exited:
        cli.main(["train", *cli_args(data_dir, run_dir, *overrides)[1:]])
    return exited.value


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "datamodule.batch_size=abc",
            "datamodule.batch_size=abc is not a whole number: pass a whole number, e.g. datamodule.batch_size=64",
        ),
        ("datamodule.batch_size=true", "datamodule.batch_size=true is not a whole number"),
        (
            "model.optimizer_g.lr=-1",
            "model.optimizer_g.lr=-1 is negative: a learning rate must be 0 or more, e.g. model.optimizer_g.lr=2e-4",
        ),
        (
            "model.optimizer_d.betas=[1.5,0.9]",
            "model.optimizer_d.betas=[1.5, 0.9] is refused by torch.optim.Adam: Invalid beta parameter at index 0: 1.5",
        ),
        ("+model.optimizer_d.weight_decay=-1", "model.optimizer_d.weight_decay=-1 is refused by torch.optim.Adam"),
        ("trainer.max_epochs=ten", "trainer.max_epochs=ten is not a whole number or null"),
        (
            "model.generator.conditioning=7",
            "model.generator.conditioning=7 is not text: pass text, e.g. model.generator.conditioning=cbn",
        ),
        ("model.d_steps_per_g=0", "d_steps_per_g must be >= 1, got 0"),  # the constructor's own check, unwrapped
        ("model.ema_decay=2", "model.ema_decay must be between 0 and 1 (e.g. 0.999) or null, got 2"),
        ("seed=abc", "seed=abc is not a whole number: pass e.g. seed=12345 (or seed=null)"),
        ("datamodule.num_workers=-1", "datamodule.num_workers=-1 is negative: pass 0 (load in the training process)"),
        (
            "trainer.max_epochs=-2",
            "trainer.max_epochs=-2 is below -1: pass a number of epochs, or -1 for no limit",
        ),
        pytest.param(
            "trainer.gpus=1",
            "trainer.gpus=1 asks for a GPU, and torch sees none here: pass trainer.gpus=0 or trainer=cpu",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
        ),
    ],
)
def test_a_bad_setting_is_one_line_before_any_data_is_read(override, message, monkeypatch, tmp_path, capsys):
    no_data = tmp_path / "no_data"  # the data set is never looked at: the setting is refused first
    exited = run_py(monkeypatch, no_data, tmp_path / "run", override)
    assert exited.code == f"error: {message}" or str(exited.code).startswith(f"error: {message}")
    assert "\n" not in str(exited.code) and "Traceback" not in "".join(capsys.readouterr())
    assert not no_data.exists() and not (tmp_path / "run" / "checkpoints").exists()
    if not override.startswith(("model.d_steps_per_g", "model.ema_decay")):  # the classes' own checks
        assert not (tmp_path / "run").exists()  # refused before Hydra made the run folder: nothing left behind


def test_hydra_full_error_still_shows_the_traceback(monkeypatch, tmp_path, capsys):
    exited = run_py(monkeypatch, tmp_path, tmp_path / "run", "datamodule.batch_size=abc", full_error=True)
    assert str(exited.code).startswith("error: datamodule.batch_size=abc is not a whole number")
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "condgan.errors.ConfigError: datamodule.batch_size=abc" in err


def test_every_shipped_config_passes_the_checks(tmp_path):
    from tests.test_configs import EXPERIMENTS, GROUP_OPTIONS, REQUIRED_OVERRIDES

    for experiment in EXPERIMENTS:
        check_config(compose_config(f"experiment={experiment}", "trainer.accelerator=cpu", output_dir=tmp_path))
    for group, option in GROUP_OPTIONS:
        overrides = (f"{group}={option}", *REQUIRED_OVERRIDES.get((group, option), ()))
        cfg = compose_config(*overrides, output_dir=tmp_path)
        if cfg.trainer.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():  # trainer=gpu, ddp here
            with pytest.raises(ConfigError, match=r"^trainer.accelerator=gpu asks for a GPU, and torch sees none"):
                check_config(cfg)
            continue
        check_config(cfg)


def test_a_run_folder_that_cannot_be_written_is_one_line(tiny_mnist, monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where the run folder's parent should be")
    exited = run_py(monkeypatch, tiny_mnist, blocker / "run")
    assert exited.code == (
        f"error: cannot write the run folder {blocker / 'run'} (Not a directory): "
        f"pass hydra.run.dir=<a folder you can write to>, or make {blocker / 'run'} writable"
    )
    assert "Unable to configure handler" not in "".join(capsys.readouterr())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_run_folder_is_one_line(tiny_mnist, monkeypatch, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run_dir.chmod(0o555)
    try:
        exited = run_py(monkeypatch, tiny_mnist, run_dir)
    finally:
        run_dir.chmod(0o755)
    assert str(exited.code).startswith(f"error: cannot write the run folder {run_dir} (Permission denied)")


def test_a_full_disk_is_one_line_and_keeps_the_previous_checkpoint(tiny_mnist, monkeypatch, tmp_path, capsys):
    """Every write into checkpoints/ goes to /dev/full: the kernel's own ENOSPC, through torch.save's writer."""
    run_dir = tmp_path / "run"
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(parents=True)
    previous = checkpoints / "last.ckpt"
    previous.write_bytes(b"the checkpoint of an earlier run, which a failed save must leave alone")
    real_mkstemp = tempfile.mkstemp

    def mkstemp_on_a_full_disk(*args, dir=None, **kwargs):
        fd, name = real_mkstemp(*args, dir=dir, **kwargs)
        if Path(dir) == checkpoints:
            os.close(fd)
            fd = os.open("/dev/full", os.O_WRONLY)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_on_a_full_disk)
    exited = run_py(monkeypatch, tiny_mnist, run_dir, "trainer.max_epochs=1", "test=false", "callbacks=no_quality")
    message = str(exited.code)
    assert message.startswith(f"error: no space left on the disk of {checkpoints} while writing ")
    resume = f"free some space, then resume: condgan train ckpt_path={previous} hydra.run.dir={run_dir}"
    assert message.endswith(resume) and "\n" not in message  # the command that continues the run
    assert "while writing last.ckpt: the previous last.ckpt is untouched" in message
    assert "Traceback" not in "".join(capsys.readouterr())
    assert previous.read_bytes().startswith(b"the checkpoint of an earlier run")
    assert sorted(p.name for p in checkpoints.iterdir()) == ["last.ckpt"]  # no temporary file left behind


def test_ddp_reports_a_bad_batch_once(tiny_mnist, child_env, tmp_path):
    """2 CPU processes: the global batch must divide over them; refused once, before the processes start."""
    args = cli_args(tiny_mnist, tmp_path / "ddp", "trainer=ddp_cpu", "datamodule.batch_size=33")
    env = {key: value for key, value in child_env.items() if key != "HYDRA_FULL_ERROR"}
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert [line for line in output.splitlines() if "error" in line.lower()] == [
        "error: datamodule.batch_size=33 is the global batch and must divide evenly over 2 processes; "
        "pick a multiple of 2."
    ]
    assert "Traceback" not in output
