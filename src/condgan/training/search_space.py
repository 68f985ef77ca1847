"""Hydra's sweep syntax (``choice``, ``range``, ``interval``, ``tag(log, ...)``) as Optuna distributions.

The same grammar as Hydra's Optuna sweeper: ``hydra.sweeper.params`` and command-line sweeps
(``model.optimizer_g.lr=tag(log,interval(1e-5,1e-3))``) become distributions; plain overrides stay fixed.
"""

from __future__ import annotations

import json
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override."""
    value = override.value()
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    if isinstance(value, RangeSweep):  # range(start, stop, step): stop excluded, as in Python
        if any(isinstance(x, float) for x in (value.start, value.stop, value.step)):
            steps = int((value.stop - value.start) / value.step)
            return FloatDistribution(value.start, value.start + (steps - 1) * value.step, step=value.step)
        return IntDistribution(int(value.start), int(value.stop) - 1, step=int(value.step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    raise ValueError(f"{override.input_line}: an Optuna sweep takes choice, range or interval")


def search_space(arguments: list[str]) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """The distributions to sample and the fixed overrides of ``key=value`` arguments (later ones win)."""
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            space[key] = distribution(override)
        else:
            fixed[key] = override.get_value_element_as_str()
    return space, fixed


def space_to_json(space: dict[str, BaseDistribution]) -> str:
    """A canonical text of ``space``, stored with a study so a later command can be compared with it."""
    return json.dumps({key: json.loads(distribution_to_json(space[key])) for key in sorted(space)}, sort_keys=True)


def override_value(value: Any) -> str:
    """A sampled value as Hydra override text that reads back as the same value (repr keeps every digit)."""
    return repr(value) if isinstance(value, float) else str(value)
