"""Settings and folders that cannot work, refused in one line before any data is read or any step is run.

``check_config`` runs first in ``train()``: every setting of condgan's classes and of the Trainer has the type
their signatures name (``datamodule.batch_size=abc`` is not a whole number), and every optimizer accepts its
settings. ``check_before_fit`` runs once the Trainer knows how many processes share the batch. The Hydra
callback ``WritableRunFolder`` runs before Hydra opens ``train.log`` in the run folder.
"""

import inspect
import json
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from condgan.errors import ConfigError, exit_on_user_error

TYPED_TARGETS = ("condgan.", "lightning.pytorch.Trainer")  # targets whose signatures' type hints are exact
OPTIMIZER_WORDS = {"lr": "learning rate", "betas": "beta", "eps": "epsilon"}  # how torch's messages name them
TYPE_NAMES = {int: "a whole number", float: "a number", bool: "true or false", str: "text", type(None): "null"}


def check_config(cfg: DictConfig) -> None:
    """Refuse a setting whose type its constructor does not take, or an optimizer setting it rejects."""
    seed = cfg.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"seed={as_override(seed)} is not a whole number: pass e.g. seed=12345 (or seed=null)")
    epochs = OmegaConf.select(cfg, "trainer.max_epochs")
    if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs < -1:
        raise ConfigError(f"trainer.max_epochs={epochs} is below -1: pass a number of epochs, or -1 for no limit")
    if cfg.get("trainer") is not None:
        from condgan.training.trainer import check_gpu_available

        check_gpu_available(cfg.trainer.get("accelerator", "auto"), cfg.trainer.get("gpus"))
    workers = OmegaConf.select(cfg, "datamodule.num_workers")
    if isinstance(workers, int) and workers < 0:
        raise ConfigError(
            f"datamodule.num_workers={workers} is negative: pass 0 (load in the training process) or more"
        )
    for key, node in target_nodes(cfg):
        try:
            target = hydra.utils.get_object(node._target_)
        except Exception:  # a mistyped _target_: instantiate reports it, listing what it tried
            continue
        if node._target_.startswith(TYPED_TARGETS):
            for typed in typed_signatures(target):
                check_types(key, node, typed)
        check_optimizer(key, node, target)


def typed_signatures(target: Any) -> list[Any]:
    """The callables whose signatures type a node's settings: the target itself, and Lightning's Trainer under
    condgan's Trainer, which passes its other settings (max_epochs, ...) on as keyword arguments."""
    import lightning as L  # here: Hydra builds this module's callback before a run, which needs no Lightning

    if inspect.isclass(target) and issubclass(target, L.Trainer) and target is not L.Trainer:
        return [target, L.Trainer]
    return [target]


def target_nodes(node: DictConfig, key: str = "") -> typing.Iterator[tuple[str, DictConfig]]:
    """Every (dotted key, config) with a ``_target_`` in ``node``, outer ones first."""
    if "_target_" in node:
        yield key, node
    for name in node:
        child = node[name]
        if isinstance(child, DictConfig) and name != "hydra":
            yield from target_nodes(child, f"{key}.{name}" if key else str(name))


def plain_types(hint: Any) -> tuple[type, ...] | None:
    """The plain types (int, float, bool, str, None) a type hint allows, or None if it allows anything else too."""
    if hint in TYPE_NAMES:
        return (hint,)
    if typing.get_origin(hint) is typing.Literal:
        return tuple({type(value) for value in typing.get_args(hint)})
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [plain_types(arg) for arg in typing.get_args(hint)]
        return None if None in parts else tuple(t for part in parts for t in part)
    return None


def fits(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # a bool is an int to Python, but `true` is no batch size
        return bool in allowed
    if isinstance(value, int):
        return int in allowed or float in allowed
    return type(value) in allowed


def check_types(key: str, node: DictConfig, target: Any) -> None:
    try:
        parameters = inspect.signature(target).parameters
        hints = typing.get_type_hints(inspect.unwrap(target.__init__ if inspect.isclass(target) else target))
    except (TypeError, ValueError, NameError):  # no signature, or hints that name what is not importable
        return
    for name, parameter in parameters.items():
        if name not in node or name not in hints or (allowed := plain_types(hints[name])) is None:
            continue
        default = parameter.default
        allowed = allowed + ((type(None),) if default is None else ())
        value = node[name]
        if not fits(value, allowed):
            kinds = " or ".join(dict.fromkeys(TYPE_NAMES[t] for t in allowed))
            has_example = default is not None and fits(default, allowed)
            example = f", e.g. {key}.{name}={as_override(default)}" if has_example else ""
            raise ConfigError(f"{key}.{name}={as_override(value)} is not {kinds}: pass {kinds}{example}")


def as_override(value: Any) -> str:
    """``value`` as it is typed on the command line: abc, 64, true, null, [1, 2]."""
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value, resolve=True)
    return value if isinstance(value, str) else json.dumps(value)


def check_optimizer(key: str, node: DictConfig, target: Any) -> None:
    """An optimizer factory (``_partial_: true``) must accept its settings: tried on one throwaway parameter."""
    import torch  # here: Hydra builds this module's callback before a run, which needs no torch

    if not (inspect.isclass(target) and issubclass(target, torch.optim.Optimizer) and node.get("_partial_")):
        return
    lr = node.get("lr")
    if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr < 0:
        raise ConfigError(f"{key}.lr={lr} is negative: a learning rate must be 0 or more, e.g. {key}.lr=2e-4")
    try:
        hydra.utils.instantiate(node)([torch.zeros(1, requires_grad=True)])
    except (TypeError, ValueError) as error:
        named = [name for name in node if not name.startswith("_") and OPTIMIZER_WORDS.get(name, name) in str(error)]
        setting = f"{key}.{named[0]}={as_override(node[named[0]])}" if named else f"one of the {key} settings"
        raise ConfigError(f"{setting} is refused by {node._target_}: {error}") from error


def check_before_fit(cfg: DictConfig, datamodule: Any, model: Any, trainer: Any) -> None:
    """Once the Trainer knows its processes: the global batch divides over them, and ckpt_path can be resumed."""
    from condgan.checkpoints.io import check_resumable
    from condgan.data.datamodule import per_device_batch

    if isinstance(getattr(datamodule, "batch_size", None), int):
        per_device_batch(datamodule.batch_size, trainer.world_size)
    if cfg.get("ckpt_path") and cfg.get("train", True):
        check_resumable(cfg.ckpt_path, model)


def check_writable(folder: str | Path, setting: str) -> None:
    """Create ``folder`` if needed and a file in it, or refuse it naming ``setting``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(
            f"cannot write the run folder {folder} ({error.strerror or error}): "
            f"pass {setting}=<a folder you can write to>, or make {folder} writable"
        ) from error


class ChecksBeforeTheRunFolder(Callback):
    """A Hydra callback: the settings ``check_config`` refuses, and a ``ckpt_path`` that cannot be resumed as a
    file, are refused in one line before Hydra creates the run folder and its log: a mistake leaves nothing."""

    @exit_on_user_error
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from condgan.checkpoints.io import check_resumable_file

        if config.get("ckpt_path") and config.get("train", True):
            check_resumable_file(config.ckpt_path)
        settings = OmegaConf.masked_copy(config, [key for key in config if key != "hydra"])
        if OmegaConf.select(settings, "paths.output_dir", throw_on_resolution_failure=False) is None:
            with open_dict(settings):  # Hydra sets the run folder's name later: in a run, hydra.run.dir
                settings.paths.output_dir = config.hydra.run.dir
        check_config(settings)


class WritableRunFolder(Callback):
    """A Hydra callback (``hydra.callbacks``): an unwritable run folder is refused in one line before Hydra opens
    train.log in it, which fails with a riddle ("Unable to configure handler 'file'")."""

    @exit_on_user_error
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(config.hydra.run.dir, "hydra.run.dir")

    @exit_on_user_error
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(config.hydra.sweep.dir, "hydra.sweep.dir")
