"""Sweeps in real databases (`make test-database`): a SQLite sweep killed with SIGKILL and resumed, docs/scaling.md's
many-worker command run by two workers on one PostgreSQL study, and a DDP trial inside a sweep."""

import csv
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.trial import TrialState

from condgan.training.study import RUN_DIR_ATTR, WORKER_ATTR
from tests.helpers import ROOT, cli_args, skip_without
from tests.helpers.postgres import PACKAGE, postgres_bin, postgres_server
from tests.test_documented_commands import SHRINK, STORAGE_IN_DOCS, documented_commands

pytestmark = pytest.mark.database

# Tiny trials with the default config (val/fid measured, checkpoints, CSV logger), fast to fail over.
TRIAL = (*SHRINK, "callbacks.quality_metrics.n_per_class=8", "hydra.sweeper.sampler.n_startup_trials=2")
QUICK_FAILOVER = ("hydra.sweeper.heartbeat_interval=1", "hydra.sweeper.grace_period=2")


def sweep_command(data_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, *cli_args(data_dir, data_dir / "unused", *overrides, *TRIAL, "--multirun")]


def run(command: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; its log (stdout and stderr, in order) in ``.stdout``."""
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    return subprocess.run(command, env=env, timeout=600, **output, **kwargs)


def only_folder(parent: Path) -> Path:
    (folder,) = [p for p in parent.iterdir() if p.is_dir()]
    return folder


def last_val_fid(run_dir: Path) -> float:
    rows = list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))
    return float([r for r in rows if r.get("val/fid")][-1]["val/fid"])


def check_complete_trials(study: optuna.Study, n_trials: int) -> list[optuna.trial.FrozenTrial]:
    """Exactly ``n_trials`` complete trials, each with its own run folder holding the val/fid it reported."""
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == n_trials
    assert len({t.user_attrs[RUN_DIR_ATTR] for t in complete}) == n_trials
    for trial in complete:
        run_dir = Path(trial.user_attrs[RUN_DIR_ATTR])
        assert run_dir.name == str(trial.number) and (run_dir / "checkpoints" / "last.ckpt").is_file()
        assert last_val_fid(run_dir) == pytest.approx(trial.value, rel=1e-6)
    return complete


def test_a_killed_sqlite_sweep_resumes_where_it_stopped(tiny_mnist, child_env, tmp_path):
    env = {**child_env, "CONDGAN_ROOT": str(tmp_path)}  # the sweep lands in <root>/logs/sweeps/<study>
    command = sweep_command(tiny_mnist, "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=3", *QUICK_FAILOVER)
    with (tmp_path / "first.log").open("w") as log:
        first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 300
        while not list((tmp_path / "logs" / "sweeps").glob("*/1/.hydra")):  # trial 1 has started
            assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    sweep_dir = only_folder(tmp_path / "logs" / "sweeps")
    storage = f"sqlite:///{sweep_dir / 'optuna.db'}"
    killed = optuna.load_study(study_name=sweep_dir.name, storage=storage)
    assert [t.state for t in killed.trials] == [TrialState.COMPLETE, TrialState.RUNNING]

    again = run(command, env)
    assert again.returncode == 0, again.stdout[-3000:]
    assert f"Study {sweep_dir.name} in {storage}: 1 of 3 trials complete" in again.stdout
    assert "Trial 1 stopped with its worker" in again.stdout
    study = optuna.load_study(study_name=sweep_dir.name, storage=storage)
    assert [t.number for t in study.trials] == [0, 1, 2, 3]  # no number repeats
    assert [t.state for t in study.trials][1] == TrialState.FAIL
    assert study.trials[2].params == study.trials[1].params  # the killed trial, run again
    assert [t.number for t in check_complete_trials(study, 3)] == [0, 2, 3]
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    assert [(r["trial"], r["status"], r["retry_of"]) for r in rows] == [
        ("0", "COMPLETED", ""),
        ("1", "FAILED", ""),
        ("2", "COMPLETED", "1"),
        ("3", "COMPLETED", ""),
    ]

    # The best trial, trained again alone by the command the sweep printed, gives the same val/fid.
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert f"Train it again alone: {best.command}" in again.stdout
    assert best.best_value == study.best_value and best.run_dir == study.best_trial.user_attrs[RUN_DIR_ATTR]
    python, script, *overrides = shlex.split(best.command)
    assert (python, script) == ("python", "run.py") and "hparams_search=mnist_optuna" not in overrides
    alone = tmp_path / "alone"
    done = run([sys.executable, script, *overrides, f"hydra.run.dir={alone}"], env, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert last_val_fid(alone) == pytest.approx(best.best_value, rel=1e-6)


def docs_many_worker_command() -> list[str]:
    """docs/scaling.md's command for every machine of a shared study (the one without DDP), its overrides."""
    (command,) = [
        c for c in documented_commands() if STORAGE_IN_DOCS in c.tokens and not any("ddp" in t for t in c.tokens)
    ]
    return command.overrides


def test_two_workers_share_one_postgresql_study_as_the_docs_say(tiny_mnist, child_env, tmp_path):
    skip_without(postgres_bin() is not None, f"PostgreSQL is not installed: apt-get install {PACKAGE}")
    documented = docs_many_worker_command()
    assert documented[:2] == ["-m", "hparams_search=mnist_optuna"]
    with postgres_server() as url:
        # as written, on loopback: the server's URL for the docs' one, 4 trials for 50
        overrides = [f"hydra.sweeper.storage={url}" if a == STORAGE_IN_DOCS else a for a in documented[1:]]
        overrides = [a for a in overrides if not a.startswith("hydra.sweeper.n_trials=")] + ["hydra.sweeper.n_trials=4"]
        workers = []
        for name in ("a", "b"):  # two machines: each with its own folder
            env = {**child_env, "CONDGAN_ROOT": str(tmp_path / name)}
            log = (tmp_path / f"{name}.log").open("w")
            worker = subprocess.Popen(sweep_command(tiny_mnist, *overrides), env=env, stdout=log, stderr=log)
            workers.append((worker, log))
        for worker, log in workers:
            assert worker.wait(timeout=900) == 0, Path(log.name).read_text()[-3000:]
            log.close()
        study = optuna.load_study(study_name="mnist_lr", storage=url)
        complete = check_complete_trials(study, 4)
    assert [t.number for t in complete] == [0, 1, 2, 3]  # numbered without gaps or repeats
    assert len({t.user_attrs[WORKER_ATTR] for t in complete}) == 2  # both workers ran trials
    sweep_dirs = {tmp_path / name / "logs" / "sweeps" / "mnist_lr" for name in "ab"}
    for trial in complete:  # each in its own machine's logs/sweeps/mnist_lr/<number>
        assert Path(trial.user_attrs[RUN_DIR_ATTR]).parent in sweep_dirs
    for name in "ab":  # each worker's trials.csv lists every trial of the study, once
        rows = list(csv.DictReader((tmp_path / name / "logs" / "sweeps" / "mnist_lr" / "trials.csv").open()))
        assert [r["trial"] for r in rows if r["status"] == "COMPLETED"] == ["0", "1", "2", "3"]


def test_a_ddp_trial_runs_all_its_processes_in_the_trial_folder(tiny_mnist, child_env, tmp_path):
    """docs/scaling.md's `trainer=ddp` sweep line, on CPU processes: Lightning starts rank 1 with this trial's
    overrides, not the sweep's command line (which would start a sweep of its own)."""
    env = {**child_env, "CONDGAN_ROOT": str(tmp_path)}
    command = sweep_command(tiny_mnist, "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=1", "trainer=ddp_cpu")
    done = run(command, env)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in done.stdout
    sweep_dir = only_folder(tmp_path / "logs" / "sweeps")
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["sweeps"]  # no stray run folder of rank 1
    study = optuna.load_study(study_name=sweep_dir.name, storage=f"sqlite:///{sweep_dir / 'optuna.db'}")
    check_complete_trials(study, 1)


def test_workers_that_start_at_once_on_a_new_database_all_open_it():
    """Optuna creates its tables on first open; on PostgreSQL, two creating them at once collide (a duplicate key
    in pg_type), which the second worker used to report as an unreachable storage."""
    from concurrent.futures import ThreadPoolExecutor

    from condgan.training.study import open_storage

    skip_without(postgres_bin() is not None, f"PostgreSQL is not installed: apt-get install {PACKAGE}")
    with postgres_server() as url, ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: open_storage(url, heartbeat_interval=10, grace_period=30), range(4)))
        assert all(storage.get_all_studies() == [] for storage in opened)
