"""condgan's Optuna sweeper for Hydra (``hydra/sweeper=optuna``): resumable studies shared through a database."""

from typing import Any

from omegaconf import OmegaConf


def study_name_resolver(prefix: str, task_overrides: Any) -> str:
    """``${condgan.study_name:<prefix>,${hydra.overrides.task}}``: ``prefix`` and a hash of the sweep's overrides."""
    from condgan.training.sweep import study_name

    return study_name(prefix, [str(arg) for arg in task_overrides])


# Cached by the arguments' text, like Hydra's ${now:}: each trial's config (whose task overrides hold its sampled
# values) gets the name its sweep computed, not one of its own.
OmegaConf.register_new_resolver("condgan.study_name", study_name_resolver, use_cache=True, replace=True)
