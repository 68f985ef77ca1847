"""A run's console: condgan's lines, the progress bar and real warnings, each once; train.log keeps everything."""

import io
import logging
import subprocess
import sys
import warnings

from condgan.training.console import quiet_console
from tests.helpers import cli_args


def test_the_default_run_prints_each_line_once_and_no_noise(tiny_mnist, child_env, tmp_path):
    """`python run.py` with the default logger (W&B offline + CSV), callbacks and test stage, on tiny data."""
    run_dir = tmp_path / "run"
    args = [a for a in cli_args(tiny_mnist, run_dir, "trainer.max_epochs=1") if a != "logger=csv"]
    env = {key: value for key, value in child_env.items() if key not in ("HYDRA_FULL_ERROR", "WANDB_API_KEY")}
    done = subprocess.run(
        [sys.executable, *args], env={**env, "WANDB_MODE": "offline"}, capture_output=True, text=True, timeout=300
    )
    console = done.stdout + done.stderr
    assert done.returncode == 0, console[-3000:]
    lines = console.splitlines()

    assert not [line for line in lines if line.startswith("INFO:")]  # Lightning's own handler, on top of Hydra's
    for once in ("Seed set to 12345", "GPU available:", "W&B is offline", "wandb sync", "Run folder:"):
        assert sum(once in line for line in lines) == 1, (once, console)
    for noise in ("litlogger", "anonymous setting", "Run summary", "DeprecationWarning", "FutureWarning"):
        assert noise not in console
    assert "is deprecated" not in console  # library deprecation warnings reach train.log only (see below)
    assert "Epoch 0/0" in console and "Testing" in console  # the progress bars

    log = (run_dir / "train.log").read_text()
    assert "litlogger" in log and "Run folder:" in log and "W&B is offline" in log


def test_library_deprecations_go_to_the_log_file_only(tmp_path, monkeypatch):
    """Hydra's logging (a console and a file handler on the root logger), then a library's and condgan's warnings."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    console_handler = logging.StreamHandler(stream := io.StringIO())
    file_handler = logging.FileHandler(tmp_path / "train.log")
    root.addHandler(console_handler)
    root.addHandler(file_handler)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after the test
    quiet_console()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn_explicit("old_api is deprecated", FutureWarning, "/site-packages/somelib/x.py", 1)
        warnings.warn_explicit("the batch is smaller than the interval", UserWarning, "/site-packages/somelib/y.py", 2)
        warnings.warn_explicit("condgan calls old_api", DeprecationWarning, quiet_console.__code__.co_filename, 3)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").info("💡 Tip: try installing litlogger")
    file_handler.close()
    console, log = stream.getvalue(), (tmp_path / "train.log").read_text()
    assert "old_api is deprecated" not in console and "old_api is deprecated" in log
    assert console.count("the batch is smaller than the interval") == 1 and "the batch is smaller" in log
    assert "condgan calls old_api" in console  # condgan's own deprecations stay visible to its developers
    assert "litlogger" not in console and "litlogger" in log
