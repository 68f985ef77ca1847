"""What a checkpoint may make condgan do: build one of condgan's own networks from plain values, nothing else.

A checkpoint is data from whoever shared it. Its ``hyper_parameters`` look like a Hydra config (``_target_``
and all), but they never reach ``hydra.utils.instantiate``, which would import and call whatever they name
(``builtins.open``, ``torch.save``, ...). Only the classes that ``condgan.networks`` exports are built, with
constructor arguments that are plain values, first on the meta device (no memory) so that sizes the file's
weights do not match are refused before anything is allocated.
"""

from typing import Any

import torch
from torch import nn

from condgan import networks
from condgan.errors import CheckpointError, UnsafeCheckpointError

NETWORKS: dict[str, type[nn.Module]] = {  # both spellings Hydra accepts: condgan.networks.X and its module path
    name: cls
    for cls in (getattr(networks, n) for n in networks.__all__)
    for name in (f"condgan.networks.{cls.__name__}", f"{cls.__module__}.{cls.__qualname__}")
}
PLAIN = (str, int, float, bool, type(None))
MAX_DEPTH = 32  # a config is a few levels deep; deeper nesting is an attack on the checker itself
MAX_SIZE = 2**20  # no width, latent size or image side of a network condgan builds comes near a million


def check_plain(value: Any, source: Any, where: str = "", depth: int = 0) -> None:
    """Refuse anything but None/bool/int/float/str and lists/dicts of them (text keys), all the way down."""
    if depth > MAX_DEPTH:
        raise UnsafeCheckpointError(f"refusing {source}: its config nests deeper than {MAX_DEPTH} levels at {where}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnsafeCheckpointError(
                    f"refusing {source}: its config has a key that is not text ({key!r}) in {where or 'its top level'}"
                )
            check_plain(item, source, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, source, f"{where}[{i}]", depth + 1)
    elif not isinstance(value, PLAIN):
        raise UnsafeCheckpointError(
            f"refusing {source}: its config holds a {type(value).__name__} at {where}, and a condgan config holds "
            "only plain values (numbers, text, true/false, lists)"
        )


def hydra_key(value: Any, where: str) -> str | None:
    """The first key (as a dotted path) that starts with "_", such as _target_, _args_ or _partial_, or None."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        path = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
        if isinstance(key, str) and key.startswith("_"):
            return path
        if found := hydra_key(item, path):
            return found
    return None


def network_spec(config: dict[str, Any], key: str, source: Any) -> tuple[type[nn.Module], dict[str, Any]]:
    """The allowed class and plain keyword arguments that ``config``'s ``key`` (e.g. "model.generator") asks for."""
    check_plain(config, source)
    node: Any = config
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise CheckpointError(
            f"{source} is not a condgan training checkpoint (no {key} config); "
            "use a <run folder>/checkpoints/*.ckpt written by condgan train."
        )
    target = node.get("_target_")
    if not isinstance(target, str) or target not in NETWORKS:
        raise UnsafeCheckpointError(f"refusing {source}: its config names {target}, which is not a condgan network")
    kwargs = {name: value for name, value in node.items() if name != "_target_"}
    if special := hydra_key(kwargs, key):
        raise UnsafeCheckpointError(
            f"refusing {source}: its config has {special}, a Hydra key that names code to run; "
            "a condgan network takes plain values only"
        )
    if oversize := next(too_large(kwargs, key), None):
        raise CheckpointError(
            f"refusing {source}: its config has {oversize[0]}={oversize[1]}, beyond any network condgan builds "
            f"(sizes up to {MAX_SIZE}); the file was changed after training"
        )
    return NETWORKS[target], kwargs


def too_large(value: Any, where: str):
    """(dotted path, number) of every number in ``value`` above MAX_SIZE in size (bools are not numbers here)."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from too_large(item, f"{where}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from too_large(item, f"{where}[{i}]")
    elif isinstance(value, int | float) and not isinstance(value, bool) and not abs(value) <= MAX_SIZE:
        yield where, value


def check_weights_fit(expected: dict[str, torch.Tensor], weights: dict[str, Any], source: Any, network: str) -> None:
    """Refuse weights whose names or shapes differ from ``expected`` (a state dict), naming the first difference."""
    problems = [f"{name} is missing" for name in expected if name not in weights]
    problems += [f"{name} is not expected" for name in weights if name not in expected]
    problems += [
        f"{name} is {list(getattr(weights[name], 'shape', [type(weights[name]).__name__]))} in the file "
        f"but {list(tensor.shape)} in the network"
        for name, tensor in expected.items()
        if name in weights and (not isinstance(weights[name], torch.Tensor) or weights[name].shape != tensor.shape)
    ]
    if problems:
        more = f" (and {len(problems) - 1} more differences)" if len(problems) > 1 else ""
        raise CheckpointError(
            f"{source}: its weights do not fit {network}: {problems[0]}{more}; the file was changed after "
            "training, or it needs the model and datamodule settings of the run that wrote it"
        )


def build_network(config: dict[str, Any], key: str, weights: dict[str, Any], source: Any) -> nn.Module:
    """Build ``config``'s ``key`` network through the allow-list and load ``weights`` into it (strictly)."""
    cls, kwargs = network_spec(config, key, source)
    try:
        with torch.device("meta"):  # sizes only: a config asking for 10^12 parameters allocates nothing
            expected = cls(**kwargs).state_dict()
    except (TypeError, ValueError, RuntimeError, OverflowError, MemoryError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__  # no C++ frames
        raise CheckpointError(f"{source}: its {key} config does not build a {cls.__name__} ({reason})") from None
    check_weights_fit(expected, weights, source, f"the {cls.__name__} its config describes")
    network = cls(**kwargs)
    network.load_state_dict(weights)
    return network
