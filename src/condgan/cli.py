"""The ``condgan`` command (also ``python -m condgan``): one subcommand a job, Hydra's ``key=value`` overrides.

Every subcommand writes under the current folder (``logs/``, ``data/``, the files it is asked for) and reads
its configs from the package (``condgan/configs``); ``--config-dir`` or ``hydra.searchpath`` add your own.
"""

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from condgan import __version__
from condgan.dependencies import MissingExtraError, check_sweep_overrides, require

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
# The command a Hydra application runs, for the processes DDP starts: Lightning re-runs the script that started
# training with sys.argv[1:], which then holds the overrides alone (Hydra reads them from there).
RELAUNCHED_COMMAND = "CONDGAN_COMMAND"

COMMANDS = {  # name: (what it does, the extra it needs)
    "train": ("train a conditional GAN: condgan train [experiment=...] [trainer.max_epochs=...]", "train"),
    "generate": ("draw images into a file: condgan generate digit=5 out=five.png [ckpt_path=...]", ""),
    "eval": ("FID, label accuracy, precision/recall beside the real-data floor: condgan eval ckpt_path=...", "train"),
    "export": ("write ONNX or safetensors: condgan export ckpt_path=... format=onnx|safetensors", "train"),
    "report": ("report.md and report.html of a run: condgan report run_dir=logs/runs/<date>/<time>", "train"),
    "serve": ("the web service and its page: condgan serve [ckpt_path=...] [port=8000]", "serve"),
    "data": ("fetch a dataset into data/: condgan data mnist|fashion_mnist|emoji|cifar10", "train"),
}
USAGE = "usage: condgan <command> [key=value ...]   (condgan <command> --help: that command's keys)"


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {summary}" for name, (summary, _) in COMMANDS.items()]
    shipped = "With no ckpt_path=, generate and serve use the shipped MNIST generator."
    return "\n".join([f"condgan {__version__}", USAGE, "", "commands:", *lines, "", shipped])


def main(argv: list[str] | None = None) -> Any:
    """``condgan <command> <overrides>``: check the command and what it needs, then hand over to it."""
    args = sys.argv[1:] if argv is None else list(argv)
    relaunched = os.environ.get(RELAUNCHED_COMMAND) if "LOCAL_RANK" in os.environ else None
    if relaunched and (not args or args[0] not in COMMANDS):
        args = [relaunched, *args]  # a DDP process that Lightning started with the overrides alone
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return None
    if args[0] in ("-V", "--version"):
        print(f"condgan {__version__}")
        return None
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        raise SystemExit(f"error: unknown command {command!r}: pick one of {', '.join(COMMANDS)} (condgan --help)")
    try:
        require(COMMANDS[command][1], f"condgan {command}")
        if command == "train":
            check_sweep_overrides(rest)
    except MissingExtraError as error:
        raise SystemExit(f"error: {error}") from None
    if command == "serve":
        from condgan.serve.cli import main as serve

        return serve(rest)
    if command == "data":
        from condgan.data.__main__ import main as fetch

        return fetch(rest)
    return hydra_command(command)(rest)


def hydra_command(command: str) -> Callable[[list[str]], Any]:
    """The Hydra application of ``command``, called with its command-line overrides."""
    import hydra

    from condgan.errors import exit_on_user_error
    from condgan.training.compat import template_overrides

    task = exit_on_user_error(TASKS[command])
    app = hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=f"{command}.yaml")(task)

    def run(overrides: list[str]) -> Any:
        sys.argv = [sys.argv[0], *template_overrides(overrides, CONFIG_DIR)]
        os.environ[RELAUNCHED_COMMAND] = command
        try:
            return app()
        finally:
            os.environ.pop(RELAUNCHED_COMMAND, None)

    return run


def train_task(cfg) -> float | None:
    from condgan.training.sweep import ddp_in_this_trial
    from condgan.training.train import optimized_metric, train

    with ddp_in_this_trial():
        return optimized_metric(train(cfg), cfg.get("optimized_metric"))


def generate_task(cfg) -> None:
    from condgan.inference.sample_files import generate, generate_walk

    if cfg.digit is not None and cfg.label != cfg.digit:
        raise ValueError(f"label={cfg.label} and digit={cfg.digit} disagree; digit is another name for label")
    ckpt_path = model_path(cfg.ckpt_path)
    if cfg.interpolate:
        out = generate_walk(ckpt_path, cfg.out, cfg.seed, cfg.seed_to, cfg.steps, cfg.label, cfg.truncation)
    else:
        out = generate(ckpt_path, cfg.out, cfg.label, cfg.n, cfg.n_per_class, cfg.seed, cfg.batch_size, cfg.truncation)
    print(f"wrote {out}")


def eval_task(cfg) -> None:
    from condgan.metrics.evaluate import evaluate

    evaluate(cfg.ckpt_path, cfg.paths.data_dir, cfg.n_per_class, cfg.seed, cfg.batch_size)


def export_task(cfg) -> None:
    from condgan.inference.export import export_generator

    out = export_generator(cfg.ckpt_path, cfg.format, cfg.out)
    print(f"wrote {out} and {out.name}.json")


def report_task(cfg) -> None:
    import logging

    from condgan.report import write_report

    paths = write_report(cfg.run_dir, n_interpolation=cfg.n_interpolation, seed=cfg.seed, epochs_shown=cfg.epochs_shown)
    logging.getLogger(__name__).info("Wrote %s and %s", *paths)


TASKS = {
    "train": train_task,
    "generate": generate_task,
    "eval": eval_task,
    "export": export_task,
    "report": report_task,
}


def model_path(ckpt_path: str | None) -> str:
    """``ckpt_path`` as given, or the shipped generator's ONNX file when it is null."""
    from condgan.pretrained import pretrained_path

    return str(ckpt_path) if ckpt_path is not None else str(pretrained_path("onnx"))


def compose_config(*overrides: str, config_name: str = "train.yaml"):
    """The config that ``condgan train <overrides>`` (or another command's) would run, composed without running
    it (for tests, benchmarks and notebooks): the same config folder, the same spellings of overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from condgan.training.compat import template_overrides

    GlobalHydra.instance().clear()  # a run or composition before this one leaves Hydra initialised
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name, overrides=template_overrides(list(overrides), CONFIG_DIR))


def run_from_clone(command: str, root: Path) -> None:
    """A clone's root script (``python run.py ...``): data/ and logs/ in the clone, wherever it is run from."""
    os.environ.setdefault("CONDGAN_ROOT", str(root))
    main([command, *sys.argv[1:]])
