"""The paths users take, with the default callbacks and the test stage on: every logger × {fit + test, resume into
the same folder, a 2-trial Optuna sweep}, in one process and (default logger; all loggers under `slow`) under DDP."""

import csv
import math
from pathlib import Path

import pytest

from condgan.checkpoints.io import read_checkpoint, resume_log_step
from condgan.training.csv_logger import read_metrics
from tests.helpers import cli_args, kill_when, run_child

pytestmark = pytest.mark.e2e
LOGGERS = ("default", "csv", "wandb", "tensorboard", "many", "null")
WRITES = {  # logger option → what it leaves in the run folder
    "default": {"csv", "wandb"},
    "csv": {"csv"},
    "wandb": {"wandb"},
    "tensorboard": {"tensorboard"},
    "many": {"csv", "wandb", "tensorboard"},
    "null": set(),
}
STALE = "checkpoints/.last.ckpt.k1ll3d_9.tmp"  # what a kill -9 during a checkpoint write leaves


@pytest.fixture(autouse=True)
def no_wandb_key(monkeypatch, tmp_path):
    """A new user's machine: no W&B API key, so W&B runs offline (the in-process runs; tiny_env for children)."""
    for var in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def csv_rows(run_dir: Path) -> list[dict[str, float]]:
    """csv/metrics.csv, each row without its empty cells (a later column changes nothing in earlier rows)."""
    return read_metrics(run_dir / "csv" / "metrics.csv")


def wandb_run_ids(run_dir: Path) -> set[str]:
    return {p.name.rsplit("-", 1)[-1] for p in (run_dir / "wandb").glob("offline-run-*")}


def tensorboard_steps(run_dir: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    return [event.step for event in events.Scalars(tag)]


def check_fit_and_test(run_dir: Path, logger: str, epochs: int = 1) -> None:
    assert (run_dir / "checkpoints" / "last.ckpt").is_file() and (run_dir / "loss_curves.png").is_file()
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == [f"epoch_{e:03d}.png" for e in range(epochs)]
    writes = WRITES[logger]
    assert {p.name for p in run_dir.iterdir()} & {"csv", "wandb", "tensorboard"} == writes
    if "csv" in writes:
        rows = csv_rows(run_dir)
        assert sorted({int(r["epoch"]) for r in rows if r.get("val/fid")}) == list(range(epochs))  # every epoch
        assert any(r.get("test/d_loss") for r in rows)
    if "wandb" in writes:
        assert len(wandb_run_ids(run_dir)) == 1
    if "tensorboard" in writes:
        assert len(tensorboard_steps(run_dir, "val/fid")) == epochs


def check_trials(sweep_dir: Path) -> None:
    with (sweep_dir / "trials.csv").open(newline="") as f:
        trials = list(csv.DictReader(f))
    assert [t["status"] for t in trials] == ["COMPLETED", "COMPLETED"]
    assert all(math.isfinite(float(t["val/fid"])) for t in trials)


SWEEP = ("--multirun", "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=2")


@pytest.mark.parametrize("logger", LOGGERS)
def test_fit_and_test(run_cli, logger):
    check_fit_and_test(run_cli(f"logger={logger}", "trainer.max_epochs=1"), logger)


@pytest.mark.parametrize("logger", LOGGERS)
def test_resume_into_the_same_folder_keeps_every_row(run_cli, logger, tmp_path):
    run_dir = run_cli(f"logger={logger}", "trainer.max_epochs=1")
    (run_dir / STALE).write_bytes(b"half a checkpoint")
    first = csv_rows(run_dir) if "csv" in WRITES[logger] else []
    run_cli(f"logger={logger}", "trainer.max_epochs=2", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}")
    check_fit_and_test(run_dir, logger, epochs=2)
    assert not (run_dir / STALE).exists()
    if first:
        assert csv_rows(run_dir)[: len(first)] == first  # the first part's rows, as they were


@pytest.mark.parametrize("logger", LOGGERS)
def test_two_trial_sweep(run_cli, logger, tmp_path):
    run_cli(*SWEEP, f"logger={logger}", "trainer.max_epochs=1", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    check_trials(tmp_path / "sweep")


DDP = ("trainer=ddp_cpu", "trainer.max_epochs=1")
DDP_LOGGERS = [pytest.param(logger, marks=[] if logger == "default" else [pytest.mark.slow]) for logger in LOGGERS]


@pytest.mark.parametrize("logger", DDP_LOGGERS)
def test_ddp_fit_and_test(tiny_env, tiny_data_dir, tmp_path, logger):
    run_dir = tmp_path / "run"
    run_child(cli_args(tiny_data_dir, run_dir, *DDP, f"logger={logger}"), tiny_env)
    check_fit_and_test(run_dir, logger)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no second folder from rank 1


@pytest.mark.parametrize("logger", DDP_LOGGERS)
def test_ddp_resume_into_the_same_folder(tiny_env, tiny_data_dir, tmp_path, logger):
    run_dir = tmp_path / "run"
    run_child(cli_args(tiny_data_dir, run_dir, *DDP, f"logger={logger}"), tiny_env)
    resumed = ("trainer.max_epochs=2", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}")
    run_child(cli_args(tiny_data_dir, run_dir, *DDP, f"logger={logger}", *resumed), tiny_env)
    check_fit_and_test(run_dir, logger, epochs=2)


@pytest.mark.parametrize("logger", DDP_LOGGERS)
def test_ddp_two_trial_sweep(tiny_env, tiny_data_dir, tmp_path, logger):
    sweep = (*SWEEP, f"hydra.sweep.dir={tmp_path / 'sweep'}")
    run_child(cli_args(tiny_data_dir, tmp_path / "unused", *DDP, f"logger={logger}", *sweep), tiny_env)
    check_trials(tmp_path / "sweep")


@pytest.mark.parametrize("strategy", ["ddp_spawn", "ddp_fork"])
def test_ddp_strategy_names_get_the_gan_settings(tiny_env, tiny_data_dir, tmp_path, strategy):
    run_dir = tmp_path / "run"
    run_child(cli_args(tiny_data_dir, run_dir, *DDP, f"trainer.strategy={strategy}", "logger=default"), tiny_env)
    check_fit_and_test(run_dir, "default")


def test_killed_run_resumed_into_its_folder_has_every_row(tiny_env, tiny_data_dir, run_cli, tmp_path):
    """kill -9 mid-epoch with the default logger, then `ckpt_path=<run>/checkpoints/last.ckpt hydra.run.dir=<run>`."""
    run_dir = tmp_path / "run"
    last = run_dir / "checkpoints" / "last.ckpt"
    args = cli_args(
        tiny_data_dir,
        run_dir,
        "logger=default",
        "trainer.max_epochs=1000",
        "callbacks.timed_checkpoint.every_n_minutes=0.0005",
    )  # last.ckpt every 30 ms
    kill_when(args, tiny_env, lambda: last.exists() and (run_dir / "samples" / "epoch_001.png").exists())
    before, killed_at, log_step = csv_rows(run_dir), read_checkpoint(last), resume_log_step(last, run_dir)
    run_cli("logger=default", f"trainer.max_epochs={killed_at['epoch'] + 2}", f"ckpt_path={last}", run_dir=run_dir)
    after = csv_rows(run_dir)
    assert read_checkpoint(last)["global_step"] > killed_at["global_step"]
    kept = [row for row in before if int(row["step"]) <= log_step]  # rows logged after the checkpoint go
    assert kept and after[: len(kept)] == kept and len(after) > len(kept)
    assert {int(r["epoch"]) for r in after if r.get("val/fid")} >= {0, 1, killed_at["epoch"] + 1}
    assert len(wandb_run_ids(run_dir)) == 1
    assert not list(run_dir.rglob("*.tmp"))
