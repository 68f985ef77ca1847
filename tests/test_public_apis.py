"""Only the public APIs of the libraries condgan builds on (torch, Lightning, torchmetrics, W&B, Hydra, ...):
their ``_private`` attributes and modules change without notice, and the next upgrade breaks the code using them.

Every Python file of the repository is parsed. A ``_name`` attribute, ``getattr(x, "_name")`` or imported name is
allowed only when condgan's own code defines it (a ``self._cache = ...``, a ``def _helper``); a module path with a
``_private`` part is allowed only inside condgan's own packages. Strings (a pickle's global names, a checkpoint's
keys) are data, not code, and are not checked.
"""

import ast
from pathlib import Path

from tests.helpers import ROOT

OWN_PACKAGES = ("condgan", "tests", "bench")
SKIPPED_DIRS = {".venv", ".git", "build", "logs", "data", "wandb", "outputs", "multirun"}


def python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIPPED_DIRS & set(p.relative_to(ROOT).parts))


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("_")  # not __dunder__, nor Hydra's _target_ and such


def own_private_names(trees: dict[Path, ast.Module]) -> set[str]:
    """Every ``_name`` that our code defines: functions, classes, assigned names and attributes, parameters."""
    names = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {name for name in names if is_private(name)}


def is_own_module(module: str) -> bool:
    return module.split(".")[0] in OWN_PACKAGES or (ROOT / f"{module.split('.')[0]}.py").is_file()


def private_uses(path: Path, tree: ast.Module, own: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in own:
            found.append(f"{where}: .{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and is_private(node.args[1].value)
            and node.args[1].value not in own
        ):
            found.append(f"{where}: {node.func.id}(..., {node.args[1].value!r})")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and not is_own_module(module):
                if any(is_private(part) for part in module.split(".")):
                    found.append(f"{where}: from {module}")
                found += [f"{where}: import {alias.name}" for alias in node.names if is_private(alias.name)]
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if not is_own_module(alias.name) and any(is_private(part) for part in alias.name.split(".")):
                        found.append(f"{where}: import {alias.name}")
    return found


def test_no_private_attributes_or_modules_of_libraries():
    trees = {path: ast.parse(path.read_text(), str(path)) for path in python_files()}
    own = own_private_names(trees)
    found = [use for path, tree in trees.items() for use in private_uses(path, tree, own)]
    assert not found, "private library APIs in use (find a public one):\n" + "\n".join(found)


def test_the_check_finds_private_uses():
    """The check itself: each kind of private use it must refuse, next to our own private names it must allow."""
    code = """
import torch._dynamo
from lightning.fabric.utilities.types import _PATH
from torchmetrics.image import _private_helper
from condgan.data import __main__
import condgan.atomic

class Ours:
    def __init__(self):
        self._cache = {}

    def step(self, trainer):
        self._cache.clear()
        getattr(trainer, "_logger_connector")
        return trainer._logger_connector.should_update_logs
"""
    path = ROOT / "example.py"  # named inside the repository, parsed from the string: nothing is written
    tree = ast.parse(code)
    found = private_uses(path, tree, own_private_names({path: tree}))
    assert sorted(use.split(": ", 1)[1] for use in found) == sorted(
        [
            "import torch._dynamo",
            "import _PATH",  # from a public module, a private name
            "import _private_helper",
            "getattr(..., '_logger_connector')",
            "._logger_connector",
        ]
    )
