"""What the report says about a run folder: one function per section, each saying plainly what is missing
and which command makes it."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from condgan.checkpoints.io import CheckpointError, UnsafeCheckpointError, load_generator
from condgan.report.document import Block, Figure, Missing, Section, Table, Text
from condgan.report.figures import epochs_to_show, plot_logged_losses, write_interpolation_strip, write_samples_gif
from condgan.report.run_folder import RunFolder

LOSS_CURVES_PNG, SAMPLES_GIF, INTERPOLATION_PNG = "loss_curves.png", "samples.gif", "interpolation.png"
CONFIG_FIELDS = {  # row name: key in the run's config
    "dataset": "datamodule.dataset",
    "image size (px)": "datamodule.image_size",
    "generator": "model.generator._target_",
    "discriminator": "model.discriminator._target_",
    "loss": "model.loss._target_",
    "epochs (trainer.max_epochs)": "trainer.max_epochs",
    "batch size": "datamodule.batch_size",
    "seed": "seed",
}
NO_CSV = "no `csv/metrics.csv`: the CSV logger writes it; train with `logger=csv` or `logger=default`."
RETRAIN = "train with the default callbacks: `condgan train callbacks=default`"


def config_section(run: RunFolder) -> Section:
    config = run.config()
    rows = [(name, f"`{config_value(config, key)}`") for name, key in CONFIG_FIELDS.items()]
    blocks: list[Block] = [
        Text(f"Run folder `{run.path}`. Settings from `{run.config_path.relative_to(run.path)}`."),
        Table(("setting", "value"), rows),
    ]
    overrides = run.overrides()
    if overrides is None:
        blocks.append(Missing("no `.hydra/overrides.yaml`, so the command line's overrides are unknown."))
    else:
        blocks.append(Text(f"Command: `{' '.join(['condgan train', *overrides])}`"))
    return Section("Run", blocks)


def config_value(config: DictConfig, key: str) -> str:
    value = OmegaConf.select(config, key, default="not set", throw_on_resolution_failure=False)
    return "null" if value is None else str(value)


def metrics_section(run: RunFolder) -> Section:
    if run.metrics_json.is_file():
        source = Text(
            "Measured by `condgan eval` (`checkpoints/metrics.json`), with the real-data floor where it has one."
        )
        return Section("Final metrics", [source, metrics_table(run.evaluation())])
    evaluate = f"`condgan eval ckpt_path={run.last_checkpoint}`"
    blocks: list[Block] = [Missing(f"no `checkpoints/metrics.json` (sample quality): run {evaluate}.")]
    if not run.metrics_csv.is_file():
        return Section("Final metrics", [*blocks, Missing(NO_CSV)])
    rows = run.logged_rows()
    final = {k: v for row in rows for k, v in row.items() if k.startswith(("val/", "test/"))}  # last value wins
    if not final:
        return Section("Final metrics", [*blocks, Missing("`csv/metrics.csv` holds no val/ or test/ values yet.")])
    validated = [int(row["epoch"]) for row in rows if any(k.startswith("val/") for k in row)]
    after = f"; the last validation ran after epoch {validated[-1]} (counting from 0)" if validated else ""
    source = Text(f"The last logged val/ and test/ values of `csv/metrics.csv`{after}.")
    return Section("Final metrics", [*blocks, source, metrics_table(final)])


def metrics_table(metrics: dict[str, float]) -> Table:
    """One row per number; a floor (``floor/fid``, ``fid_floor``) goes beside the number it belongs to."""
    floors = {target: value for key, value in metrics.items() if (target := floor_of(key)) is not None}
    numbers = {key: value for key, value in metrics.items() if floor_of(key) is None}
    rows = [(f"`{key}`", number(value), counterpart(key, floors)) for key, value in numbers.items()]
    if not floors:
        return Table(("metric", "value"), [row[:2] for row in rows])
    return Table(("metric", "value", "real-data floor"), rows)


def floor_of(key: str) -> str | None:
    """The key whose floor ``key`` is ("floor/fid" → "fid", "val/fid_floor" → "val/fid"), or None."""
    parts = key.split("/")
    if "floor" in parts:
        return "/".join(part for part in parts if part != "floor")
    return key.removesuffix("_floor") if key.endswith("_floor") else None


def counterpart(key: str, floors: dict[str, float]) -> str:
    """The floor of ``key`` itself, or of it without its group ("model/fid" pairs with "floor/fid")."""
    for candidate in (key, key.partition("/")[2]):
        if candidate in floors:
            return number(floors[candidate])
    return ""


def number(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.4g}"  # counts as 10000, not 1e+04


def loss_curves_section(run: RunFolder, figures_dir: Path) -> Section:
    if not run.metrics_csv.is_file():
        return Section("Loss curves", [Missing(NO_CSV)])
    path = figures_dir / LOSS_CURVES_PNG
    if not plot_logged_losses(run.logged_rows(), path):
        return Section("Loss curves", [Missing("`csv/metrics.csv` holds no train/ or val/ G and D losses yet.")])
    caption = "G and D losses, train and val, from csv/metrics.csv"
    return Section("Loss curves", [Figure(path.relative_to(run.path), caption)])


def samples_section(run: RunFolder, figures_dir: Path, epochs_shown: int) -> Section:
    grids = run.sample_grids()
    if not grids:
        missing = (
            f"no `samples/epoch_*.png`: the `sample_grid` callback writes one every `every_n_epochs` epochs and "
            f"after the last; {RETRAIN}."
        )
        return Section("Samples", [Missing(missing)])
    gif = figures_dir / SAMPLES_GIF
    write_samples_gif(grids, gif)
    epochs = list(grids)
    about = Text(
        f"Sample grids: {len(epochs)} (epochs {epochs[0]} to {epochs[-1]}). Row k is label k, and every column "
        "keeps the same noise in every epoch."
    )
    shown = [Figure(grids[e].relative_to(run.path), f"epoch {e}") for e in epochs_to_show(epochs, epochs_shown)]
    return Section("Samples", [about, *shown, Figure(gif.relative_to(run.path), "every grid, one frame each")])


def interpolation_section(run: RunFolder, figures_dir: Path, steps: int, seed: int) -> Section:
    checkpoint = run.last_checkpoint
    if not checkpoint.exists():  # a folder or an unreadable file in its place is a failure, below
        missing = f"no `checkpoints/last.ckpt` to draw from: the default callbacks write one every epoch; {RETRAIN}."
        return Section("Interpolation", [Missing(missing)])
    try:
        generator, _ = load_generator(checkpoint)
    except UnsafeCheckpointError:
        raise  # a checkpoint that names code is not a gap in the report: condgan report refuses it, in one line
    except CheckpointError as error:
        return Section("Interpolation", [Missing(f"`checkpoints/last.ckpt` does not load: {error}")], str(error))
    path = figures_dir / INTERPOLATION_PNG
    write_interpolation_strip(generator, steps, seed, path)
    caption = (
        f"checkpoints/last.ckpt: row k is label k, walking in {steps} steps between two noises (seed {seed}), "
        "the same walk in every row"
    )
    return Section("Interpolation", [Figure(path.relative_to(run.path), caption)])
