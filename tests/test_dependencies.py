"""The extras: without one, the command that needs it says in one line what to install; [train] needs no other."""

import subprocess
import sys

from tests.helpers import ROOT, cli_args

EXTRAS_ONLY = [
    "fastapi",
    "fastapi_offline",
    "uvicorn",
    "onnx",
    "onnxscript",
    "optuna",
    "selenium",
    "psycopg",
]


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, **kwargs)


def run_script(script: str, *args: str) -> str:
    """Python code that runs the repository's ``script`` as ``python script args``."""
    return f"import runpy; sys.argv = {[script, *args]!r}\nrunpy.run_path({str(ROOT / script)!r}, run_name='__main__')"


def condgan(*args: str) -> str:
    """Python code that runs ``condgan args``."""
    return f"from condgan.cli import main; main({list(args)!r})"


HINT = "pip install 'condgan[{0}]' (from a checkout: pip install -e '.[{0}]')"


def without(modules: list[str], code: str) -> str:
    """``code`` run as if ``modules`` were not installed."""
    return f"import sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n{code}"


def test_condgan_serve_without_the_serve_extra_names_the_install(untrained_onnx):
    result = python("-c", without(["fastapi"], condgan("serve", f"ckpt_path={untrained_onnx}")))
    assert result.returncode == 1
    assert (
        result.stderr
        == f"error: condgan serve needs fastapi, part of condgan's [serve] extra: {HINT.format('serve')}\n"
    )


def test_training_without_the_train_extra_names_the_install():
    result = python("-c", without(["torch", "lightning"], condgan("train")))
    assert result.returncode == 1
    assert result.stderr == (
        f"error: condgan train needs torch, lightning, part of condgan's [train] extra: {HINT.format('train')}\n"
    )


def test_serving_a_checkpoint_without_torch_names_the_install(untrained_checkpoint):
    result = python("-c", without(["torch"], condgan("serve", f"ckpt_path={untrained_checkpoint}")))
    assert result.returncode == 1
    assert result.stderr == (
        "error: a .ckpt file (an .onnx export runs without PyTorch) needs torch, part of condgan's [train] extra: "
        f"{HINT.format('train')}\n"
    )


def test_onnx_export_without_the_export_extra_names_the_install(untrained_checkpoint, tmp_path):
    out = tmp_path / "g.onnx"
    code = condgan("export", f"ckpt_path={untrained_checkpoint}", "format=onnx", f"out={out}")
    result = python("-c", without(["onnxscript"], code))
    assert result.returncode == 1 and not out.exists()
    assert (
        result.stderr
        == f"error: format=onnx needs onnxscript, part of condgan's [export] extra: {HINT.format('export')}\n"
    )


def test_a_sweep_without_the_sweep_extra_names_the_install():
    code = run_script("run.py", "-m", "hparams_search=mnist_optuna")
    result = python("-c", without(["optuna"], code))
    assert result.returncode == 1
    assert result.stderr == (
        "error: hparams_search (an Optuna sweep) needs optuna, part of condgan's [sweep] extra: "
        f"{HINT.format('sweep')}\n"
    )


def test_the_train_extra_trains_without_any_other(child_env, tiny_mnist, tmp_path):
    """`make train` installs [train] alone: run.py, as `make train` runs it, with every other extra's packages
    unimportable."""
    args = cli_args(tiny_mnist, tmp_path / "run", "debug=fast_dev_run")
    result = python("-c", without(EXTRAS_ONLY, run_script(*args)), env=child_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "samples" / "epoch_000.png").is_file()  # it trained a step and drew its samples
