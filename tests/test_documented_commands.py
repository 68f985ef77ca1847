"""Docs as tests: every command in a fenced code block of README.md and docs/*.md runs as written.

Each command runs in its own process with the default config (W&B offline + CSV, the default callbacks, the test
stage on), on the tiny MNIST and shrunk only by ``trainer.max_epochs=1``, ``++trainer.limit_*_batches`` and the
sweep's trial count. Placeholders (``logs/runs/<date>/<time>``, ``ckpt_path=...``) point at a tiny trained run.
Commands that cannot run on a CPU-only machine are listed in NOT_HERE with the reason, and show as skipped.
"""

import csv
import math
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from condgan.data.emoji_font import EMOJI_LIST_PATH, FONT_PATH
from condgan.data.emoji_font import PACKAGES as EMOJI_PACKAGES
from condgan.data.emoji_npm import NPM_SETS
from tests.helpers import DOCS, ROOT, run_child, skip_without
from tests.helpers.local_server import free_loopback_port, wait_until_healthy

pytestmark = pytest.mark.e2e

SUBCOMMANDS = ("train", "generate", "eval", "export", "report", "serve", "data")
ENTRY_POINTS = ("condgan", "condgan-serve", "torchrun", "srun")  # and `python run.py`, `python -m condgan`
STORAGE_IN_DOCS = "hydra.sweeper.storage=postgresql://condgan:secret@db.example.org:5432/sweeps"  # docs/scaling.md
NOT_HERE = {  # a token of the command → why it cannot run here (the test shows it as skipped, with this reason)
    "torchrun": "multi-node; tests/test_multinode.py runs it as two nodes on 127.0.0.1",
    "srun": "SLURM; tests/test_multinode.py runs it with SLURM's variables set by hand for two tasks",
    "trainer=gpu": "needs a GPU; CI has none (trainer=default and trainer=cpu run the same code)",
    "trainer=ddp": "needs GPUs; trainer=ddp_cpu runs the same DDP code on CPU processes (tested here)",
    STORAGE_IN_DOCS: "a shared PostgreSQL study: tests/test_sweep_database.py runs it as written, on a loopback server",
}
SHRINK = (
    "trainer.max_epochs=1",
    "++trainer.limit_train_batches=2",
    "++trainer.limit_val_batches=1",
    "++trainer.limit_test_batches=1",
)
SHRUNK_KEYS = ("trainer.max_epochs=", "hydra.sweeper.n_trials=")  # replaced by SHRINK and the 2-trial sweep


@dataclass(frozen=True)
class DocCommand:
    where: str  # README.md:64
    tokens: tuple[str, ...]  # as the shell splits it, comments dropped

    @property
    def script(self) -> str:
        """train, generate, eval, export, report, serve or data: the condgan command it runs."""
        if self.tokens[0] == "condgan-serve":
            return "serve"
        if self.tokens[:2] == ("python", "run.py"):
            return "train"
        return self.tokens[3] if self.tokens[:3] == ("python", "-m", "condgan") else self.tokens[1]

    @property
    def overrides(self) -> list[str]:
        """What follows the command's name."""
        start = 4 if self.tokens[:3] == ("python", "-m", "condgan") else 1 if self.tokens[0] == "condgan-serve" else 2
        return list(self.tokens[start:])


def documented_commands() -> list[DocCommand]:
    """The condgan commands of every fenced code block (``\\``-continued lines joined)."""
    commands = []
    for doc in DOCS:
        in_block, pending, start = False, "", 0
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_block, pending = not in_block, ""
                continue
            if not in_block:
                continue
            start = start if pending else number
            pending += line.rstrip().removesuffix("\\") + " "
            if line.rstrip().endswith("\\"):
                continue
            words, text, pending = pending.split(), pending, ""
            if (
                words[:2] == ["python", "run.py"]
                or words[:3] == ["python", "-m", "condgan"]
                or (
                    words[:1]
                    and (
                        words[0] in ENTRY_POINTS[1:]
                        or (words[0] == "condgan" and words[1:2] and words[1] in SUBCOMMANDS)
                    )
                )
            ):
                commands.append(DocCommand(f"{doc.relative_to(ROOT)}:{start}", tuple(shlex.split(text, comments=True))))
    return commands


def emoji_packages_installed() -> bool:
    return FONT_PATH.is_file() and EMOJI_LIST_PATH.is_file()


def npm_tarballs_present() -> bool:
    return all((ROOT / "data" / "npm" / s.filename).is_file() for s in NPM_SETS)


def reason_not_here(command: DocCommand) -> str | None:
    return next((why for token, why in NOT_HERE.items() if token in command.tokens), None)


COMMANDS = documented_commands()
PARAMS = [
    pytest.param(
        c,
        id=f"{c.where} {' '.join(c.tokens)[:60]}",
        marks=[pytest.mark.skip(reason=why)] if (why := reason_not_here(c)) else [],
    )
    for c in COMMANDS
]


def test_the_docs_hold_the_commands_users_type():
    """The extraction itself: the assignment's commands and each entry point are found."""
    found = {" ".join(c.tokens) for c in COMMANDS}
    assert "python run.py experiment=train_mnist_gan.yaml trainer.max_epochs=20 datamodule.batch_size=32" in found
    assert "python run.py experiment=train_mnist_gan.yaml trainer.gpus=0" in found
    assert {c.script for c in COMMANDS} >= set(SUBCOMMANDS)


@pytest.fixture(scope="module")
def tiny_run(tiny_env, tiny_data_dir, tmp_path_factory) -> Path:
    """A run of the default experiment on the tiny data, with ONNX exports of its checkpoints."""
    run_dir = tmp_path_factory.mktemp("documented") / "run"
    run_child([ROOT / "run.py", *data_overrides(tiny_data_dir), *SHRINK, f"hydra.run.dir={run_dir}"], tiny_env)
    for ckpt in sorted((run_dir / "checkpoints").glob("*.ckpt")):
        run_child([sys.executable, "-m", "condgan", "export", f"ckpt_path={ckpt}", "format=onnx"], tiny_env)
    return run_dir


def data_overrides(data_dir: Path) -> tuple[str, ...]:
    return f"paths.data_dir={data_dir}", "datamodule.val_size=64"  # the tiny MNIST has 320 training images


def placeholders_filled(tokens: tuple[str, ...], run_dir: Path) -> list[str]:
    """``logs/runs/<date>/<time>`` → the tiny run; ``ckpt_path=...`` → its last.ckpt; ``epoch_012`` → its best."""
    best = next((run_dir / "checkpoints").glob("epoch_*.ckpt")).stem
    filled = []
    for token in tokens:
        token = token.replace("logs/runs/<date>/<time>", str(run_dir)).replace(
            "ckpt_path=...", f"ckpt_path={run_dir}/checkpoints/last.ckpt"
        )
        token = re.sub(r"(?<![/\w])checkpoints/", f"{run_dir}/checkpoints/", token)
        filled.append(re.sub(r"epoch_\d{3}", best, token))
    return filled


@pytest.mark.parametrize("command", PARAMS)
def test_documented_command_runs(command: DocCommand, tiny_run, tiny_env, tiny_data_dir, tmp_path):
    emoji = "experiment=emoji_dcgan" in command.tokens or command.overrides[:1] == ["emoji"]
    skip_without(not emoji or emoji_packages_installed(), f"needs `apt-get install {EMOJI_PACKAGES}`")
    styles = "experiment=emoji_styles" in command.tokens  # both styles: the npm sets, which .ci/run fetches
    skip_without(not styles or npm_tarballs_present(), f"needs the emoji npm tarballs in {ROOT / 'data' / 'npm'}")
    args = placeholders_filled(tuple(command.overrides), tiny_run)
    if command.script == "serve":
        return check_server(args, tiny_env, tmp_path)
    if command.script == "train":
        args = [a for a in args if not a.startswith(SHRUNK_KEYS)] + [*data_overrides(tiny_data_dir), *SHRINK]
        multirun = "-m" in args or "--multirun" in args
        args += (
            [f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.sweeper.n_trials=2"]
            if multirun
            else [f"hydra.run.dir={tmp_path / 'run'}"]
        )
    elif command.script == "eval":
        args.append(f"paths.data_dir={tiny_data_dir}")
    # from a scratch folder, as the docs' user would: outputs such as out=five.png land there
    entry = [ROOT / "run.py"] if command.tokens[:2] == ("python", "run.py") else [sys.executable, "-m", "condgan"]
    run_child([*entry, *([] if entry[0] == ROOT / "run.py" else [command.script]), *args], tiny_env, 600, cwd=tmp_path)
    if command.script == "train":
        check_run_folder(tmp_path, multirun)


def check_run_folder(tmp_path: Path, multirun: bool) -> None:
    """What the default config leaves: a checkpoint, the CSV rows of validation and test, one offline W&B run."""
    if multirun:
        trials = list(csv.DictReader((tmp_path / "sweep" / "trials.csv").open()))
        assert len(trials) == 2 and all(math.isfinite(float(t["val/fid"])) for t in trials), trials
        return
    run_dir = tmp_path / "run"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val/d_loss", "val/fid", "test/d_loss"} <= set(header)
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1


def check_server(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    """Start the documented server (on loopback, on a free port), then ask it for a PNG."""
    port = free_loopback_port()
    args = [a if not a.startswith("host=") else "host=127.0.0.1" for a in args if not a.startswith("port=")]
    executable = Path(sys.executable).with_name("condgan")  # the console script pip installed
    with (tmp_path / "server.log").open("w+b") as log:
        process = subprocess.Popen(
            [str(executable), "serve", *args, f"port={port}"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, process, 120, log)
            response = httpx.get(f"{url}/generate", params={"label": 0, "n": 2}, timeout=60)
            assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
        finally:
            process.terminate()
            process.wait(timeout=30)
