"""condgan's optional parts (pyproject's extras), what each needs, and the one line that says what to install.

``pip install condgan`` draws from an ONNX generator (the shipped one included); ``[train]`` trains,
evaluates and exports (PyTorch, Lightning, W&B); ``[serve]`` runs the web service (no torch needed);
``[export]`` writes ONNX files; ``[sweep]`` runs Optuna sweeps; ``[dev]`` is all of them plus the test tools.
"""

import importlib.util

from condgan.errors import UserError

MODULES = {  # extra → the modules it brings, as imported ("" is the core install)
    "": ("numpy", "PIL", "pydantic", "hydra", "omegaconf", "onnxruntime"),
    "train": ("torch", "torchvision", "lightning", "safetensors", "torchmetrics", "wandb", "matplotlib"),
    "serve": ("fastapi", "fastapi_offline", "uvicorn", "onnxruntime"),
    "export": ("onnx", "onnxscript", "onnxruntime"),
    "sweep": ("optuna",),  # and psycopg for PostgreSQL studies, named by the storage error when missing
}


class MissingExtraError(UserError, ImportError):
    """An optional part of condgan is used without the packages of its extra; the message is the fix."""


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package of a dotted name
        return False


def install_command(extra: str) -> str:
    if not extra:
        return "pip install condgan (from a checkout: pip install -e .)"
    return f"pip install 'condgan[{extra}]' (from a checkout: pip install -e '.[{extra}]')"


def require(extra: str, used_for: str) -> None:
    """Raise MissingExtraError, naming the ``pip install`` to run, unless ``extra``'s modules are importable."""
    missing = [module for module in MODULES[extra] if not installed(module)]
    if missing:
        part = f"condgan's [{extra}] extra" if extra else "condgan's core install"
        raise MissingExtraError(f"{used_for} needs {', '.join(missing)}, part of {part}: {install_command(extra)}")


def check_sweep_overrides(overrides: list[str]) -> None:
    """An Optuna sweep needs the sweep extra: say so in one line before Hydra's long composition error."""
    sweeps = [arg for arg in overrides if arg.lstrip("+").startswith(("hparams_search=", "hydra/sweeper=optuna"))]
    if any(not arg.endswith("=null") for arg in sweeps):
        require("sweep", "hparams_search (an Optuna sweep)")
