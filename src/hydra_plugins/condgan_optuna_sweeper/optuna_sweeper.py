"""A Hydra sweeper whose trials come from an Optuna study in a database (SQLite by default, or any URL).

Run the same command again after a crash and it continues the study: complete trials count against
``n_trials``; a trial whose worker died is failed once its heartbeat is ``grace_period`` seconds old and
re-run with the same parameters under a new number. Any number of workers with the same ``storage`` and
``study_name`` share the study until ``n_trials`` trials are complete in total. Keys as Hydra's Optuna
sweeper: ``sampler``, ``direction``, ``storage``, ``study_name``, ``n_trials``, ``n_jobs``,
``max_failure_rate``, ``params``.
"""

from __future__ import annotations

import logging
import math
import shlex
import time
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        sampler: Any = None,
        direction: str = "minimize",
        storage: str | None = None,
        study_name: str | None = None,
        n_trials: int = 20,
        n_jobs: int = 1,
        max_failure_rate: float = 0.0,
        params: DictConfig | None = None,
        heartbeat_interval: int = 10,
        grace_period: int = 30,
    ) -> None:
        self.sampler = sampler
        self.direction = str(direction)
        self.storage = storage
        self.study_name = study_name
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.max_failure_rate = max_failure_rate
        self.params = params or {}
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def check_settings(self) -> None:
        """The sweeper's own keys, refused in one line before the study is opened."""
        from condgan.errors import ConfigError

        counts = {"n_trials": self.n_trials, "n_jobs": self.n_jobs, "heartbeat_interval": self.heartbeat_interval}
        for key, value in counts.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"hydra.sweeper.{key}={value}: pass a whole number of at least 1")
        if not 0.0 <= self.max_failure_rate <= 1.0:
            raise ConfigError(f"hydra.sweeper.max_failure_rate={self.max_failure_rate}: pass a number from 0 to 1")
        if self.grace_period < self.heartbeat_interval:
            raise ConfigError(
                f"hydra.sweeper.grace_period={self.grace_period} is shorter than "
                f"heartbeat_interval={self.heartbeat_interval}: live trials would be failed; pass a longer grace_period"
            )

    def sweep(self, arguments: list[str]) -> None:
        from condgan.errors import exit_on_user_error

        exit_on_user_error(self.run_study)(arguments)

    def run_study(self, arguments: list[str]) -> None:
        import optuna

        from condgan.training import study as studies
        from condgan.training.search_space import search_space
        from condgan.training.sweep import study_name, write_csv

        self.check_settings()
        space, fixed = search_space([*(f"{key}={value}" for key, value in self.params.items()), *arguments])
        sweep_dir = Path(str(self.config.hydra.sweep.dir)).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        url = self.storage or f"sqlite:///{sweep_dir / 'optuna.db'}"
        name = self.study_name or study_name("sweep", arguments)
        storage = studies.open_storage(url, self.heartbeat_interval, self.grace_period)
        study = studies.open_study(storage, name, self.direction, self.sampler, space, " ".join(arguments))
        metric = self.config.get("optimized_metric") or "value"
        progress = studies.Progress.of(study)
        log.info(
            "Study %s in %s: %d of %d trials complete; trial folders in %s",
            name, studies.readable_url(url), progress.complete, self.n_trials, sweep_dir,
        )  # fmt: skip
        launched = failed = 0
        waiting_for = None
        while True:
            studies.fail_dead_trials(storage, study)  # FAIL, then queued again with the same parameters
            progress = studies.Progress.of(study)
            if progress.complete >= self.n_trials:
                break
            free = self.n_trials - progress.complete - progress.running
            if free <= 0:  # the rest is running elsewhere; wait in case one fails and must run again
                if waiting_for != progress.running:
                    log.info("Waiting for %d running trial(s) of other workers or of a stopped run", progress.running)
                    waiting_for = progress.running
                time.sleep(min(self.heartbeat_interval, 5))
                continue
            waiting_for = None
            trials = [study.ask(space) for _ in range(min(self.n_jobs, free))]
            for trial in trials:
                studies.claim(storage, study, trial)
            for trial in [t for t in trials if not studies.within_budget(study, t, self.n_trials)]:
                trial.set_user_attr(studies.OVER_BUDGET_ATTR, True)  # another worker took the last place
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                trials.remove(trial)
            if not trials:
                continue
            for trial, ret in self.launch(storage, study, trials, fixed):
                launched += 1
                if not self.tell(study, trial, ret, metric):
                    failed += 1
            write_csv(sweep_dir / "trials.csv", studies.trial_rows(study, metric))
            if launched and failed / launched > self.max_failure_rate:
                raise RuntimeError(
                    f"{failed} of {launched} trials failed (hydra.sweeper.max_failure_rate={self.max_failure_rate}); "
                    f"their errors are above and in their run folders under {sweep_dir}"
                )
        write_csv(sweep_dir / "trials.csv", studies.trial_rows(study, metric))
        self.report_best(study, fixed, metric, sweep_dir)

    def launch(self, storage: Any, study: Any, trials: list[Any], fixed: dict[str, str]) -> list[tuple[Any, Any]]:
        """Run ``trials`` (job number = trial number, so each one's folder is ``<sweep dir>/<number>``)."""
        import optuna

        from condgan.training import study as studies

        numbers = [t.number for t in trials]
        batches = [trials] if numbers == list(range(numbers[0], numbers[0] + len(numbers))) else [[t] for t in trials]
        done = []
        for batch in batches:
            with studies.heartbeat(storage, study, batch):
                try:
                    returns = self.launcher.launch(
                        [studies.overrides_of(t, fixed) for t in batch], initial_job_idx=batch[0].number
                    )
                except SystemExit:  # a trial's one-line error stops the sweep; Ctrl-C leaves the trial to time out
                    for trial in batch:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    raise
            done += zip(batch, returns, strict=True)
        return done

    def tell(self, study: Any, trial: Any, ret: Any, metric: str) -> bool:
        """Store the trial's result; False when it failed (an error, or a metric that is not a finite number)."""
        import optuna

        from condgan.training import study as studies

        trial.set_user_attr(studies.RUN_DIR_ATTR, str(ret.hydra_cfg.hydra.runtime.output_dir))
        try:
            value = float(ret.return_value)  # re-raises the trial's error
            if not math.isfinite(value):
                raise ValueError(f"{metric}={value}")
        except Exception as error:  # any error of a trial is that trial's failure
            log.warning("Trial %d failed: %s", trial.number, error)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return False
        study.tell(trial, value)
        return True

    def report_best(self, study: Any, fixed: dict[str, str], metric: str, sweep_dir: Path) -> None:
        """The last log lines name the best trial and the command that trains it again alone;
        ``optimization_results.yaml`` in the sweep folder holds the same."""
        from condgan.training import study as studies

        best = studies.best_trial(study)
        if best is None:
            log.warning("No trial of study %s completed", study.study_name)
            return
        overrides = [o for o in studies.overrides_of(best, fixed) if not o.lstrip("+").startswith("hparams_search=")]
        command = shlex.join(["python", "run.py", *overrides])
        run_dir = best.user_attrs.get(studies.RUN_DIR_ATTR, "")
        log.info("Best trial %d: %s=%s in %s", best.number, metric, best.value, run_dir)
        log.info("Train it again alone: %s", command)
        results = {
            "name": "optuna",
            "study_name": study.study_name,
            "best_trial": best.number,
            "best_params": dict(best.params),
            "best_value": best.value,
            "run_dir": run_dir,
            "overrides": overrides,
            "command": command,
        }
        OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")
