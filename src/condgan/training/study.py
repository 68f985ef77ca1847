"""The Optuna study a sweep works on: opened in an RDB storage, checked against the command, summarised.

Every worker of a sweep (one ``condgan train -m`` process, on this machine or another) opens the same study;
the storage is the only thing they share. Trials of a worker that died are failed once their heartbeat is
older than ``grace_period`` and re-run, with the same parameters, under a new number.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from condgan.errors import ConfigError
from condgan.training.search_space import override_value, space_to_json

log = logging.getLogger(__name__)
# Heartbeats outside Study.optimize are what this module is for (the trials run in Hydra's launcher): Optuna
# warns about that, and that the heartbeat API is experimental, at every call.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")

# Study attributes written by the worker that creates the study, checked by every later one.
SPACE_ATTR = "condgan:search_space"
COMMAND_ATTR = "condgan:command"
RUN_DIR_ATTR = "condgan:run_dir"
# trials.csv's status words, the same as the basic sweeper's (Hydra's JobStatus) where they mean the same.
STATUS = {TrialState.COMPLETE: "COMPLETED", TrialState.FAIL: "FAILED"}
WORKER_ATTR = "condgan:worker"  # host:pid of the process that ran the trial
OVER_BUDGET_ATTR = "condgan:over_budget"  # asked by two workers at once when one trial was left: never run
SCHEMA_ATTEMPTS = 5  # tries to open a storage whose tables another worker is creating
DRIVERS = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient", "pymysql": "PyMySQL"}


def readable_url(url: str) -> str:
    """``url`` with its password hidden, for logs and errors."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class RetryStaleTrial(RetryHeartbeatStaleTrialCallback):
    """A trial whose worker stopped (no heartbeat for ``grace_period`` seconds) is failed, then queued again with
    the same parameters: the next worker to ask runs it under a new number."""

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        log.warning(
            "Trial %d stopped with its worker (%s): marked failed; its parameters run again as a new trial",
            trial.number, trial.user_attrs.get(WORKER_ATTR, "unknown"),
        )  # fmt: skip
        super().__call__(study, trial)


def open_storage(url: str, heartbeat_interval: int, grace_period: int) -> RDBStorage:
    """The RDB storage at ``url``; a bad URL, a missing driver or a server that does not answer is one line."""
    from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

    shown = readable_url(url)
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}

    def storage() -> RDBStorage:
        return RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=RetryStaleTrial(),
        )

    try:
        for attempt in range(SCHEMA_ATTEMPTS - 1):
            try:
                return storage()
            except IntegrityError:  # workers creating Optuna's tables in a new database at once: one wins
                time.sleep(0.5 * (attempt + 1))
        return storage()
    except ImportError as error:  # the dialect's driver, named by the ModuleNotFoundError Optuna wraps
        module = getattr(error.__cause__, "name", None) or "its driver"
        raise ConfigError(
            f"hydra.sweeper.storage={shown} needs the database driver {module}: "
            f"pip install '{DRIVERS.get(module, module)}' ([sweep] has psycopg, the PostgreSQL driver)"
        ) from None
    except ArgumentError as error:
        raise ConfigError(
            f"hydra.sweeper.storage={shown} is not a database URL SQLAlchemy can open ({error}); "
            "pass sqlite:///<file> or postgresql://<user>:<password>@<host>:<port>/<database>"
        ) from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ConfigError(
            f"cannot open the study storage hydra.sweeper.storage={shown}: {reason}; check the server runs and "
            "the URL's host, port, user and database"
        ) from None


def open_study(
    storage: RDBStorage,
    name: str,
    direction: str,
    sampler: optuna.samplers.BaseSampler | None,
    space: dict[str, BaseDistribution],
    command: str,
) -> optuna.Study:
    """The study ``name`` (created if new); a study made with another direction or search space is refused."""
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"hydra.sweeper.direction={direction}: pass minimize or maximize")
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    except KeyError:  # a new study; two workers creating it at once: one wins, the other loads it
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, direction=direction, load_if_exists=True
        )
        if SPACE_ATTR not in study.user_attrs:
            study.set_user_attr(SPACE_ATTR, space_to_json(space))
            study.set_user_attr(COMMAND_ATTR, command)
    started_by = study.user_attrs.get(COMMAND_ATTR)
    fix = f"pass hydra.sweeper.study_name=<a new name> to start another study (it was started by `{started_by}`)"
    if study.direction.name.lower() != direction:
        raise ConfigError(
            f"study {name} was made to {study.direction.name.lower()}, this command asks to {direction}: {fix}"
        )
    stored = study.user_attrs.get(SPACE_ATTR)
    if stored is not None and stored != space_to_json(space):
        raise ConfigError(f"study {name} was made with another search space ({stored}): {fix}")
    return study


def trial_id(storage: RDBStorage, study: optuna.Study, trial: optuna.Trial | FrozenTrial) -> int:
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)


def claim(storage: RDBStorage, study: optuna.Study, trial: optuna.Trial) -> None:
    """A first heartbeat, then this worker's name: a trial named by a worker has a heartbeat to go stale."""
    storage.record_heartbeat(trial_id(storage, study, trial))
    trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")


def fail_dead_trials(storage: RDBStorage, study: optuna.Study) -> None:
    """Fail and queue again the trials of workers that died: Optuna's stale heartbeats, and (which Optuna never
    calls stale) trials asked for by a worker killed before their first heartbeat, unnamed after grace_period."""
    optuna.storages.fail_stale_trials(study)
    grace_period = storage.grace_period or 2 * storage.get_heartbeat_interval()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        age = (datetime.now() - trial.datetime_start).total_seconds() if trial.datetime_start else 0
        if WORKER_ATTR in trial.user_attrs or age <= grace_period:
            continue
        try:
            if storage.set_trial_state_values(trial_id(storage, study, trial), state=TrialState.FAIL):
                RetryStaleTrial()(study, trial)
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed it first
            pass


@contextmanager
def heartbeat(storage: RDBStorage, study: optuna.Study, trials: list[optuna.Trial]) -> Iterator[None]:
    """Record the trials' heartbeats while they run, so other workers know they are alive."""
    ids = [trial_id(storage, study, trial) for trial in trials]
    interval = storage.get_heartbeat_interval()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                for one in ids:
                    storage.record_heartbeat(one)
            except Exception as error:  # a database that is briefly away: try again at the next beat
                log.warning("Heartbeat not recorded (%s); retrying in %d s", error, interval)

    thread = threading.Thread(target=beat, name="optuna-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass
class Progress:
    """What the study holds, as the counts that decide whether a worker asks for another trial."""

    complete: int
    running: int
    waiting: int

    @classmethod
    def of(cls, study: optuna.Study) -> Progress:
        trials = [t for t in study.get_trials(deepcopy=False) if OVER_BUDGET_ATTR not in t.user_attrs]
        count = {state: sum(t.state == state for t in trials) for state in TrialState}
        return cls(count[TrialState.COMPLETE], count[TrialState.RUNNING], count[TrialState.WAITING])


def within_budget(study: optuna.Study, trial: optuna.Trial, n_trials: int) -> bool:
    """Whether ``trial`` is among the first ``n_trials`` live (complete or running) trials: when workers ask at
    the same moment for the last place, the trial with the higher number gives way."""
    live = sorted(
        t.number
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
        if OVER_BUDGET_ATTR not in t.user_attrs
    )
    return trial.number in live[:n_trials]


def overrides_of(trial: FrozenTrial | optuna.Trial, fixed: dict[str, str]) -> list[str]:
    """The command-line overrides that run ``trial``: its sampled parameters, then the command's fixed ones."""
    sampled = [f"{key}={override_value(value)}" for key, value in trial.params.items()]
    return [*sampled, *(f"{key}={value}" for key, value in fixed.items())]


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial, or None before any completed."""
    try:
        return study.best_trial
    except ValueError:
        return None


def trial_rows(study: optuna.Study, metric: str) -> list[dict[str, Any]]:
    """One row a trial (every worker's), for trials.csv: number, state, parameters, metric, run folder."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if OVER_BUDGET_ATTR in trial.user_attrs:
            continue
        row: dict[str, Any] = {"trial": trial.number, "status": STATUS.get(trial.state, trial.state.name)}
        row.update({key: override_value(value) for key, value in trial.params.items()})
        row[metric] = "" if trial.value is None else trial.value
        row["run_dir"] = trial.user_attrs.get(RUN_DIR_ATTR, "")
        row["worker"] = trial.user_attrs.get(WORKER_ATTR, "")
        retried = RetryStaleTrial.retried_trial_number(trial)
        row["retry_of"] = "" if retried is None else retried
        rows.append(row)
    return rows
