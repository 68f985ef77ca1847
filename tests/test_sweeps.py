"""Optuna sweeps: the search space, the study's name and checks, and the sweeper's one-line refusals."""

import csv
import subprocess
import sys
import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from condgan.errors import ConfigError
from condgan.training import study as studies
from condgan.training.search_space import override_value, search_space
from condgan.training.sweep import study_name
from tests.helpers import cli_args
from tests.helpers.local_server import free_loopback_port


def test_hydra_sweep_syntax_becomes_optuna_distributions():
    space, fixed = search_space(
        [
            "a=choice(32, 64, 128)",
            "b=interval(1e-5, 1e-3)",
            "c=tag(log, interval(1e-5, 1e-3))",
            "d=range(1, 5)",
            "e=int(interval(2, 8))",
            "f=choice(x, y)",
            "experiment=fashion_dcgan",
            "+g=1",
        ]
    )
    assert space == {
        "a": CategoricalDistribution([32, 64, 128]),
        "b": FloatDistribution(1e-5, 1e-3),
        "c": FloatDistribution(1e-5, 1e-3, log=True),
        "d": IntDistribution(1, 4),
        "e": IntDistribution(2, 8),
        "f": CategoricalDistribution(["x", "y"]),
    }
    assert fixed == {"experiment": "fashion_dcgan", "+g": "1"}


def test_a_later_override_replaces_a_sweep():
    """The config's params come first, the command line after: `datamodule.batch_size=32` fixes what it sweeps."""
    space, fixed = search_space(["datamodule.batch_size=choice(32, 64)", "datamodule.batch_size=32"])
    assert space == {} and fixed == {"datamodule.batch_size": "32"}


def test_sampled_floats_are_written_with_every_digit():
    assert float(override_value(0.1 + 0.2)) == 0.1 + 0.2 and override_value(64) == "64"


def test_the_study_name_is_the_command_line():
    assert study_name("mnist_optuna", ["hparams_search=mnist_optuna"]) == "mnist_optuna"
    one = study_name("mnist_optuna", ["hparams_search=mnist_optuna", "seed=1", "experiment=fashion_dcgan"])
    assert one == study_name("mnist_optuna", ["experiment=fashion_dcgan", "seed=1", "hparams_search=mnist_optuna"])
    assert one.startswith("mnist_optuna-") and one != study_name("mnist_optuna", ["seed=2"])


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'optuna.db'}"


def open_test_study(url: str, direction: str = "minimize", space: dict | None = None) -> optuna.Study:
    storage = studies.open_storage(url, heartbeat_interval=1, grace_period=1)
    space = space if space is not None else {"lr": FloatDistribution(1e-5, 1e-3)}
    return studies.open_study(storage, "s", direction, None, space, "hparams_search=mnist_optuna")


def test_a_study_is_reopened_by_the_same_command(sqlite_url):
    study = open_test_study(sqlite_url)
    study.tell(study.ask({"lr": FloatDistribution(1e-5, 1e-3)}), 1.0)
    again = open_test_study(sqlite_url)
    assert studies.Progress.of(again) == studies.Progress(complete=1, running=0, waiting=0)


def test_another_direction_or_search_space_is_refused(sqlite_url):
    open_test_study(sqlite_url)
    with pytest.raises(ConfigError, match=r"^study s was made to minimize, this command asks to maximize: pass hydra"):
        open_test_study(sqlite_url, direction="maximize")
    with pytest.raises(ConfigError, match=r"^study s was made with another search space \(.*lr.*\): pass hydra"):
        open_test_study(sqlite_url, space={"lr": FloatDistribution(1e-4, 1e-3)})


def test_the_higher_number_gives_way_when_two_workers_take_the_last_place(sqlite_url):
    study = open_test_study(sqlite_url)
    space = {"lr": FloatDistribution(1e-5, 1e-3)}
    study.tell(study.ask(space), 1.0)
    first, second = study.ask(space), study.ask(space)  # two workers, one place left of n_trials=2
    assert studies.within_budget(study, first, 2) and not studies.within_budget(study, second, 2)


def test_a_trial_whose_worker_died_before_its_first_heartbeat_runs_again(sqlite_url):
    """Optuna never calls a trial without heartbeats stale: killed between ask and the first beat, it would stay
    RUNNING for ever, and a resumed sweep would wait for it."""
    study = open_test_study(sqlite_url)
    storage = studies.open_storage(sqlite_url, heartbeat_interval=1, grace_period=1)
    space = {"lr": FloatDistribution(1e-5, 1e-3)}
    orphan, alive = study.ask(space), study.ask(space)
    time.sleep(1.2)  # past grace_period
    studies.claim(storage, study, alive)  # a live worker's trial: a fresh heartbeat
    studies.fail_dead_trials(storage, study)
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING]
    assert study.get_trials()[2].params == orphan.params


@pytest.mark.parametrize(
    "url, message",
    [
        ("nonsense", "is not a database URL SQLAlchemy can open"),
        ("mysql://u:secret@127.0.0.1/db", "=mysql://u:***@127.0.0.1/db needs the database driver MySQLdb: pip install"),
        ("postgresql://u:secret@127.0.0.1:{port}/db", "cannot open the study storage hydra.sweeper.storage="),
    ],
)
def test_a_storage_that_cannot_be_opened_is_one_line(url, message):
    with pytest.raises(ConfigError, match=r"^[^\n]*$") as caught:
        studies.open_storage(url.format(port=free_loopback_port()), heartbeat_interval=10, grace_period=30)
    assert message in str(caught.value) and "secret" not in str(caught.value)


def test_a_sweep_with_an_unreachable_storage_stops_before_any_trial(tiny_mnist, child_env, tmp_path):
    sweep_dir = tmp_path / "sweep"
    url = f"postgresql://condgan:secret@127.0.0.1:{free_loopback_port()}/sweeps"
    args = cli_args(
        tiny_mnist, tmp_path / "unused", "hparams_search=mnist_optuna", f"hydra.sweeper.storage={url}",
        f"hydra.sweep.dir={sweep_dir}", "--multirun",
    )  # fmt: skip
    done = subprocess.run([sys.executable, *args], env=child_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: cannot open the study storage hydra.sweeper.storage=postgresql://condgan:***@"
    )
    assert done.stderr.count("\n") == 1 and "secret" not in done.stderr
    assert not [p for p in sweep_dir.iterdir() if p.is_dir()]  # no trial folder


def test_the_sweeper_settings_are_checked_before_the_study_opens(tiny_mnist, child_env, tmp_path):
    args = cli_args(
        tiny_mnist, tmp_path / "unused", "hparams_search=mnist_optuna", "hydra.sweeper.grace_period=5",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", "--multirun",
    )  # fmt: skip
    done = subprocess.run([sys.executable, *args], env=child_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.startswith("error: hydra.sweeper.grace_period=5 is shorter than heartbeat_interval=10")


def test_optuna_sweep_writes_trial_summary(tiny_mnist, child_env, tmp_path):
    sweep_dir = tmp_path / "sweep"
    args = cli_args(
        tiny_mnist,
        tmp_path / "unused",
        "hparams_search=mnist_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        f"hydra.sweep.dir={sweep_dir}",
        "debug=fast_dev_run",
        "callbacks=none",
        "optimized_metric=val/d_loss",
        "--multirun",
    )
    done = subprocess.run([sys.executable, *args], env=child_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with (sweep_dir / "trials.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["trial"] for r in rows] == ["0", "1"] and all(r["status"] == "COMPLETED" for r in rows)
    assert all(float(r["val/d_loss"]) > 0 and float(r["model.optimizer_g.lr"]) > 0 for r in rows)
    assert (sweep_dir / "optimization_results.yaml").is_file()  # the Optuna sweeper's best trial
