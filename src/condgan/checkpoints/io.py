"""Checkpoints that are safe to load and never half-written.

Saving: write to a temporary file beside the target, fsync, then ``os.replace`` — a run killed at any
moment leaves either the previous complete file or the new one. Loading: ``torch.load(weights_only=True)``
only, so unpickling cannot run code, and the config inside only ever builds condgan's own networks
(``condgan.checkpoints.allow_list``). Whatever is wrong with a file is refused in one line that names it.
"""

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch import nn

from condgan.atomic import atomic_write
from condgan.checkpoints.allow_list import build_network, check_weights_fit, network_spec
from condgan.checkpoints.sidecar import read_sidecar
from condgan.errors import CheckpointError, UnsafeCheckpointError
from condgan.gan.mixture import MAX_MEMBERS, GeneratorMixture

ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive
PathLike = str | os.PathLike[str]
RESUME_KEYS = ("epoch", "global_step", "loops", "optimizer_states")  # what Lightning needs to continue a run


def atomic_save(obj: Any, path: PathLike) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def read_checkpoint(path: PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with errors that say what is wrong and what to do."""
    path = Path(path)
    check_is_checkpoint_file(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"Refusing to load {path}: it needs unpickling of code, and condgan checkpoints hold only state "
            f"dicts and plain config ({reason}). If you trust the file, load it with "
            "torch.load(..., weights_only=False), keep only tensors/plain types and save it again."
        ) from e
    except Exception as e:  # torch.load's many ways of failing on a damaged archive: RuntimeError, KeyError, ...
        reason = (str(e).strip().splitlines() or [""])[0]
        raise CheckpointError(
            f"Cannot read checkpoint {path}: it is truncated or corrupt ({type(e).__name__}: {reason})."
        ) from e
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} is not a condgan checkpoint: it holds a {type(ckpt).__name__}, not a dict.")
    return ckpt


def check_is_checkpoint_file(path: Path) -> None:
    """Refuse, naming ``path``, a folder, a missing, empty or unreadable file, or one that is not a zip archive."""
    if path.is_dir():
        inside = path / "checkpoints" / "last.ckpt"
        fix = f"ckpt_path={inside}" if inside.is_file() else "ckpt_path=<run folder>/checkpoints/last.ckpt"
        raise CheckpointError(f"{path} is a folder, not a checkpoint file: pass the file itself, e.g. {fix}")
    if not path.is_file():
        raise CheckpointError(
            f"Checkpoint not found: {path}. Pass ckpt_path=<run folder>/checkpoints/last.ckpt of an existing run."
        )
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise CheckpointError(f"Cannot read checkpoint {path}: {e.strerror or e}.") from e
    if not head:
        raise CheckpointError(f"{path} is empty (0 bytes): a copy or download of it was cut short; copy it again.")
    if not head.startswith(ZIP_MAGIC):
        raise CheckpointError(
            f"{path} is not a checkpoint: torch.save writes a zip archive, and this file starts with {head!r}; "
            "pass a .ckpt written by condgan train."
        )
    check_stored_uncompressed(path)


def check_stored_uncompressed(path: Path) -> None:
    """Refuse an archive with compressed entries before reading any data: torch.save stores every entry as it is,
    so what a checkpoint unpacks to in memory is bounded by its size on disk; a compressed entry breaks that
    bound (a few MB of zeros can unpack to gigabytes)."""
    try:
        with zipfile.ZipFile(path) as archive:
            packed = [entry for entry in archive.infolist() if entry.compress_type != zipfile.ZIP_STORED]
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # torch.load names the damage, in read_checkpoint's words
    if packed:
        raise UnsafeCheckpointError(
            f"refusing {path}: its archive holds compressed entries ({packed[0].filename}: {packed[0].compress_size} "
            f"bytes unpacking to {packed[0].file_size}), which torch.save never writes"
        )


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint plugin with atomic saves and weights-only loads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: PathLike, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        atomic_save(checkpoint, path)

    def load_checkpoint(self, path: PathLike, map_location: Any = None, weights_only: bool | None = None) -> dict:
        if weights_only is False:
            raise CheckpointError(
                "condgan loads checkpoints with weights_only=True only; do not pass weights_only=False."
            )
        return read_checkpoint(path, map_location=map_location or "cpu")


def resume_log_step(ckpt_path: PathLike | None, run_dir: PathLike) -> int | None:
    """The loggers' step at which ``ckpt_path`` was saved, when it is a checkpoint of ``run_dir`` (a run resumed
    into its own folder, whose loggers continue their files); None for a new run or another run's checkpoint.

    Lightning's loggers count batches that stepped, not ``global_step`` (optimizer steps, 2 a batch here).
    """
    if ckpt_path is None or not Path(ckpt_path).resolve().is_relative_to(Path(run_dir).resolve()):
        return None
    loops = read_checkpoint(ckpt_path).get("loops") or {}
    return loops.get("fit_loop", {}).get("epoch_loop.state_dict", {}).get("_batches_that_stepped")


def load_generator(path: PathLike, map_location: Any = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the generator of a training checkpoint or a safetensors export (in eval mode) and return it with
    the run's plain config; the file's extension picks the loader.

    Works from the file alone: the network is built from the config saved in it (``hyper_parameters``, written
    by ``condgan.training.train``) through the allow-list of ``condgan.checkpoints.allow_list``, then its weights
    are loaded: the EMA generator's (``generator_ema.module.*``) when the run kept one, else ``generator.*``.
    A run with ``model.snapshots`` gives a ``GeneratorMixture`` of the snapshots it took and that generator.
    """
    if Path(path).suffix == ".safetensors":
        return generator_from_safetensors(Path(path))
    ckpt = read_checkpoint(path, map_location=map_location)
    config, state_dict = ckpt.get("hyper_parameters") or {}, training_state_dict(ckpt, path)
    ema = any(k.startswith("generator_ema.module.") for k in state_dict)
    final = with_prefix(state_dict, "generator_ema.module." if ema else "generator.")
    taken = state_dict.get("snapshots_taken")
    snapshots = [with_prefix(state_dict, f"generator_snapshots.{k}.") for k in range(snapshot_count(taken, path))]
    return generator_of(config, [*snapshots, final], path), config


def with_prefix(state_dict: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of ``state_dict`` under ``prefix``, without it."""
    return {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}


def snapshot_count(taken: Any, path: PathLike) -> int:
    """The number of snapshots a checkpoint's ``snapshots_taken`` buffer says were taken (0 without one)."""
    if taken is None:
        return 0
    counts = (
        isinstance(taken, torch.Tensor) and taken.numel() == 1 and not (taken.is_floating_point() or taken.is_complex())
    )
    if not counts or not 0 <= int(taken) < MAX_MEMBERS:
        raise CheckpointError(f"{path}: its snapshots_taken is not a count of snapshots; the file was changed")
    return int(taken)


def generator_of(config: dict[str, Any], members: list[dict[str, Any]], path: PathLike) -> nn.Module:
    """One allowed network per weights in ``members`` (in eval mode), as a ``GeneratorMixture`` when several."""
    networks = [build_network(config, "model.generator", weights, path) for weights in members]
    return (networks[0] if len(networks) == 1 else GeneratorMixture(networks)).eval()


def generator_from_safetensors(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """A ``condgan export format=safetensors`` file: weights (no pickle) and its ``.json``, whose config says
    which allowed network to build. The weights are read as stored, uncompressed: memory is the file's size."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        metadata = read_sidecar(path)
        if metadata["format"] != "safetensors":
            raise ValueError(f"{path}.json describes a {metadata['format']} export, not this .safetensors file")
        config, weights = metadata["config"], load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot load {path}: {error}") from None
    if not any(name.startswith("members.") for name in weights):
        return generator_of(config, [weights], path), config
    count = len({name.split(".", 2)[1] for name in weights if name.startswith("members.")})  # members.<k>.<weight>
    members = [with_prefix(weights, f"members.{k}.") for k in range(min(count, MAX_MEMBERS + 1))]
    if count > MAX_MEMBERS or sum(map(len, members)) != len(weights):
        raise CheckpointError(f"{path}: its weights are not those of a generator mixture; the file was changed")
    return generator_of(config, members, path), config


def training_state_dict(ckpt: dict[str, Any], path: PathLike) -> dict[str, Any]:
    state_dict = ckpt.get("state_dict")
    if not isinstance(state_dict, dict) or not all(isinstance(k, str) for k in state_dict):
        raise CheckpointError(
            f"{path} is not a condgan training checkpoint (no state_dict of named weights); "
            "use a <run folder>/checkpoints/*.ckpt written by condgan train."
        )
    return state_dict


def check_resumable_file(path: PathLike) -> dict[str, Any]:
    """The checkpoint at ``path`` if training can resume from it as a file, whatever the model: it reads
    (weights-only), its config passes the allow-list of ``load_generator`` (a checkpoint that names code is
    refused wherever it is opened), it holds a training state, and its callbacks list no files elsewhere."""
    ckpt = read_checkpoint(path)
    network_spec(ckpt.get("hyper_parameters") or {}, "model.generator", path)
    if missing := [key for key in RESUME_KEYS if key not in ckpt]:
        raise CheckpointError(
            f"{path} holds weights only (no {', '.join(missing)}), so training cannot resume from it: "
            "pass the <run folder>/checkpoints/last.ckpt that condgan train writes."
        )
    training_state_dict(ckpt, path)
    check_checkpoint_callback_paths(ckpt, path)
    return ckpt


def check_resumable(path: PathLike, model: nn.Module) -> None:
    """Refuse, before any training, a ``ckpt_path`` that ``model`` cannot continue from, in one line. Resuming
    builds the networks from this run's config, not the file's: their weights must fit the file's."""
    ckpt = check_resumable_file(path)
    check_weights_fit(model.state_dict(), training_state_dict(ckpt, path), path, "this run's model")


def check_checkpoint_callback_paths(ckpt: dict[str, Any], path: PathLike) -> None:
    """Refuse a ModelCheckpoint state listing files outside its folder: Lightning deletes those it replaces."""
    callbacks = ckpt.get("callbacks")
    for name, state in (callbacks if isinstance(callbacks, dict) else {}).items():
        if not isinstance(state, dict) or not isinstance(state.get("dirpath"), str):
            continue
        folder = Path(state["dirpath"]).resolve()
        best_k = state.get("best_k_models")
        listed = [*(best_k if isinstance(best_k, dict) else {})]
        listed += [state.get("kth_best_model_path"), state.get("last_model_path")]
        for file in filter(None, listed):
            if not isinstance(file, str) or folder not in Path(file).resolve().parents:
                raise UnsafeCheckpointError(
                    f"refusing {path}: its {name} state lists {file!r}, outside its checkpoint folder {folder}, "
                    "and Lightning deletes the files it lists when it saves better ones"
                )
