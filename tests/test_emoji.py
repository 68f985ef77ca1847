"""The emoji dataset on tiny renders of its font set: determinism and its manifest, the errors, the image-folder
datamodule, and `python run.py experiment=emoji_dcgan` (fast_dev_run and the default path) down to
generate/export/serve. The npm sets are tested in test_emoji_sets.py; here npm is never run.

The renders need the Debian packages fonts-noto-color-emoji and unicode-data (.ci/run installs them).
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from condgan import cli
from condgan.data import emoji, emoji_art, emoji_font, emoji_npm
from condgan.data.__main__ import main as data_cli
from condgan.data.datamodule import stratified_split
from condgan.data.datasets import load_named_split
from condgan.data.image_folder import ImageFolderDataModule
from condgan.data.sources import ChecksumError, DatasetUnavailableError
from condgan.gan.augment import DiffAugment, random_shifts
from condgan.inference.export import export_generator
from condgan.inference.metadata import class_names
from condgan.inference.runtime import load_inference_model
from condgan.serve.app import create_app
from tests.helpers import skip_without


def emoji_packages_installed() -> bool:
    return emoji_font.FONT_PATH.is_file() and emoji_font.EMOJI_LIST_PATH.is_file()


@pytest.fixture
def emoji_packages() -> None:
    skip_without(emoji_packages_installed(), f"needs `apt-get install {emoji_font.PACKAGES}`")


@pytest.fixture(autouse=True)
def no_npm(tmp_path: Path, monkeypatch) -> None:
    """No npm set here: npm is not found, and no tarball folder is named."""
    monkeypatch.setattr(emoji_npm, "NPM", str(tmp_path / "no-npm"))
    monkeypatch.delenv(emoji_npm.TARBALLS_ENV, raising=False)


needs_packages = pytest.mark.usefixtures("emoji_packages")

# Six lines of emoji-test.txt's format: a plain emoji, a variation sequence, a ZWJ family and a flag are
# kept; an unqualified form, a skin-tone variant and a component are not.
TINY_LIST = """\
# group: Smileys & Emotion
# subgroup: face-smiling
1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
263A                                                   ; unqualified         # ☺ E0.6 smiling face

# group: People & Body
1F44B                                                  ; fully-qualified     # 👋 E0.6 waving hand
1F44B 1F3FB                                            ; fully-qualified     # 👋🏻 E1.0 waving hand: light skin tone
1F468 200D 1F469 200D 1F467                            ; fully-qualified     # 👨‍👩‍👧 E2.0 family: man, woman, girl

# group: Component
1F3FB                                                  ; component           # 🏻 E1.0 light skin tone

# group: Flags
1F1EB 1F1F7                                            ; fully-qualified     # 🇫🇷 E2.0 flag: France
"""
TINY_FILES = [  # 10% of 5 emoji, at least one, is the test split
    "test/people_body/noto-1f468_200d_1f469_200d_1f467.png",
    "train/flags/noto-1f1eb_1f1f7.png",
    "train/people_body/noto-1f44b.png",
    "train/smileys_emotion/noto-1f600.png",
    "train/smileys_emotion/noto-263a_fe0f.png",
]
# The pixels sha256 of TINY_LIST rendered with fonts-noto-color-emoji 2.042: the same on every such machine.
TINY_SHA256 = "55d71698152f9b25a6fd3870f2d46c5836a4a5c309ea7b130fd8d9909f6106f8"
PER_CLASS = 20  # images per group of the tiny dataset the training tests use: 2 per class in the test split


@pytest.fixture
def tiny_list(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "emoji-test.txt"
    path.write_text(TINY_LIST, encoding="utf-8")
    monkeypatch.setattr(emoji_font, "EMOJI_LIST_PATH", path)
    monkeypatch.setattr(emoji_font, "PIXELS_SHA256", TINY_SHA256)
    return path


def test_the_list_keeps_fully_qualified_picture_emoji_without_skin_tones(tiny_list: Path) -> None:
    assert [e.path for e in emoji_font.read_emoji_list(tiny_list)] == [
        "smileys_emotion/1f600",
        "smileys_emotion/263a_fe0f",
        "people_body/1f44b",
        "people_body/1f468_200d_1f469_200d_1f467",
        "flags/1f1eb_1f1f7",
    ]
    assert tuple(sorted(emoji_art.GROUPS.values())) == emoji.CLASS_NAMES and len(emoji.CLASS_NAMES) == 9


@needs_packages
def test_render_is_deterministic_and_checked_by_its_manifest_hash(tiny_list: Path, tmp_path: Path) -> None:
    first, second = emoji.ensure_emoji(tmp_path / "a" / "emoji"), emoji.ensure_emoji(tmp_path / "b" / "emoji")
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*.png"))
    assert files == TINY_FILES
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)  # the same bytes, twice
    manifest = (first / emoji.MANIFEST).read_text()
    assert f"| 5 images | pixels sha256 {TINY_SHA256}" in manifest  # the hash committed above: the same everywhere
    assert manifest == (second / emoji.MANIFEST).read_text()
    image = Image.open(first / "train" / "flags" / "noto-1f1eb_1f1f7.png")
    assert image.size == (64, 64) and image.mode == "RGB"
    assert image.getpixel((0, 0)) == emoji_art.BACKGROUND  # glyphs sit on white
    assert len(image.getcolors(maxcolors=64 * 64)) > 100  # a colour picture, not one glyph box or a blank square

    before = {f: (first / f).stat().st_mtime_ns for f in files}
    assert emoji.ensure_emoji(first) == first  # present and verified: not rendered again
    assert before == {f: (first / f).stat().st_mtime_ns for f in files}


@needs_packages
def test_a_different_render_writes_nothing(tiny_list: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(emoji_font, "PIXELS_SHA256", "0" * 64)
    with pytest.raises(ChecksumError, match=f"pixels sha256 {TINY_SHA256}, expected 0{{64}}; nothing was written"):
        emoji.ensure_emoji(tmp_path / "emoji")
    assert list(tmp_path.iterdir()) == [tiny_list]  # no folder, no staging left behind


@needs_packages
def test_a_folder_with_other_images_is_refused_and_left_untouched(tiny_list: Path, tmp_path: Path) -> None:
    folder = emoji.ensure_emoji(tmp_path / "emoji")
    changed = folder / "train" / "flags" / "noto-1f1eb_1f1f7.png"
    Image.new("RGB", (64, 64), "red").save(changed)
    (folder / "train" / "people_body" / "noto-1f44b.png").unlink()
    (folder / "train" / "objects").mkdir()
    Image.new("RGB", (64, 64), "blue").save(folder / "train" / "objects" / "mine.png")
    with pytest.raises(ChecksumError) as error:
        emoji.ensure_emoji(folder)
    message = str(error.value)
    assert "3 differences from its manifest.txt" in message and "changed: train/flags/noto-1f1eb_1f1f7.png" in message
    assert "They are left untouched; move or delete" in message and "\n" not in message
    assert Image.open(changed).getpixel((0, 0)) == (255, 0, 0) and (folder / "train/objects/mine.png").is_file()


@needs_packages
def test_the_font_build_holds_out_the_test_images_of_before() -> None:
    """One image per emoji: the split by emoji is image_folder's per-image split of the old folder."""
    items = emoji_font.read_emoji_list(emoji_font.EMOJI_LIST_PATH)
    paths = sorted(Path(f"{e.group}/{e.name}.png") for e in items)  # <group>/<codepoints>.png, as listed before
    labels = torch.tensor([emoji.CLASS_NAMES.index(path.parent.name) for path in paths])
    (held, _), _ = stratified_split((torch.arange(len(paths)), labels), round(0.1 * len(paths)), seed=42)
    before = {paths[i].stem for i in held.tolist()}
    assert len(before) == 187 and before == {e.name for e in items if e.codepoints in emoji.held_out_emoji(items)}


def test_no_set_at_all_names_the_two_packages_and_npm(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(emoji_font, "FONT_PATH", tmp_path / "NotoColorEmoji.ttf")
    (tmp_path / "emoji-test.txt").write_text("# group: Flags\n")  # the list present, whatever this machine has
    monkeypatch.setattr(emoji_font, "EMOJI_LIST_PATH", tmp_path / "emoji-test.txt")
    with pytest.raises(DatasetUnavailableError) as error:
        emoji.ensure_emoji(tmp_path / "emoji")
    assert "\n" not in str(error.value)  # one line
    assert str(error.value).startswith(
        f"emoji: no emoji set is available: {tmp_path / 'NotoColorEmoji.ttf'} not found; "
    )
    assert "install them with `sudo apt-get install fonts-noto-color-emoji unicode-data`, or fetch" in str(error.value)
    (tmp_path / "emoji-test.txt").unlink()
    with pytest.raises(SystemExit) as exit_info:  # the command line says it as one `error:` line
        data_cli(["emoji", "--data-dir", str(tmp_path)])
    assert re.fullmatch(
        rf"error: emoji: no emoji set is available: {tmp_path}/NotoColorEmoji.ttf and {tmp_path}/emoji-test.txt not "
        r"found; install them with `sudo apt-get install fonts-noto-color-emoji unicode-data`, or fetch the npm sets "
        rf"with `npm pack emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0 --pack-destination "
        rf"{tmp_path}/npm`",
        str(exit_info.value.code),
    )
    assert not (tmp_path / "emoji").exists() and not (tmp_path / "npm").exists()


def test_stratified_split_gives_every_class_its_share() -> None:
    labels = torch.tensor([0] * 10 + [1] * 5 + [2] * 1)
    images = torch.arange(16, dtype=torch.uint8).view(16, 1, 1, 1)  # image i shows i
    (held, held_labels), (rest, rest_labels) = stratified_split((images, labels), 4, seed=0)
    assert held_labels.tolist() == [0, 0, 0, 1]  # quotas 2.5, 1.25, 0.25: the largest remainder gets the 4th
    assert sorted(torch.cat([held, rest]).flatten().tolist()) == list(range(16))  # a partition
    assert torch.equal(labels[torch.cat([held, rest]).flatten().long()], torch.cat([held_labels, rest_labels]))
    assert not torch.equal(held, stratified_split((images, labels), 4, seed=1)[0][0])  # seeded


def test_augmentations_uncover_the_white_background_of_emoji() -> None:
    torch.manual_seed(0)
    shifted = DiffAugment("translation", fill=1.0)(-torch.ones(16, 3, 64, 64))  # black images moved about
    assert shifted.unique().tolist() == [-1.0, 1.0] and (shifted == 1).any(dim=(1, 2, 3)).sum() >= 8  # white borders
    holes = (DiffAugment("cutout", fill=1.0)(-torch.ones(16, 3, 64, 64)) == 1).all(1).flatten(1).sum(1)
    assert holes.min() > 0  # every image got its white square
    shifted = random_shifts(torch.ones(8, 3, 32, 32), 4, 4, fill=None, generator=torch.Generator().manual_seed(0))
    assert torch.equal(shifted, torch.ones(8, 3, 32, 32))  # the classifier's: the edge repeats, white stays white


@pytest.fixture(scope="module")
def emoji_root(tmp_path_factory) -> Path:
    """A data root whose emoji/ holds the first PER_CLASS emoji of every group (180 images), with the
    manifest hash of that list standing in for the committed one while the module's tests run."""
    skip_without(emoji_packages_installed(), f"needs `apt-get install {emoji_font.PACKAGES}`")
    root = tmp_path_factory.mktemp("data")
    by_group: dict[str, list[emoji_art.Emoji]] = {}
    for item in emoji_font.read_emoji_list(emoji_font.EMOJI_LIST_PATH):
        by_group.setdefault(item.group, []).append(item)
    chosen = [item for items in by_group.values() for item in items[:PER_CLASS]]
    names = {v: k for k, v in emoji_art.GROUPS.items()}
    lines = [
        line
        for item in chosen
        for line in (
            f"# group: {names[item.group]}",
            f"{' '.join(f'{c:X}' for c in item.codepoints)} ; fully-qualified",
        )
    ]
    list_path = root / "emoji-test.txt"
    list_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    font = emoji_font.ImageFont.truetype(str(emoji_font.FONT_PATH), emoji_font.FONT_SIZE)
    drawings = [emoji_art.Drawing(item, "noto", emoji_font.render(item, font)) for item in chosen]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emoji_font, "EMOJI_LIST_PATH", list_path)
        patch.setattr(emoji_font, "PIXELS_SHA256", emoji.set_sha256(drawings))
        patch.setattr(emoji_npm, "NPM", str(root / "no-npm"))  # the font set alone
        patch.delenv(emoji_npm.TARBALLS_ENV, raising=False)
        yield root


def test_image_folder_datamodule_on_rendered_emoji_holds_out_every_class(emoji_root: Path) -> None:
    dm = ImageFolderDataModule(str(emoji_root), dataset="emoji", num_classes=9, val_size=9, batch_size=16)
    dm.prepare_data()  # renders data/emoji
    assert (emoji_root / "emoji" / emoji.MANIFEST).is_file()
    dm.setup("fit")
    assert dm.class_names == list(emoji.CLASS_NAMES) and dm.image_shape == (3, 64, 64)
    assert torch.bincount(dm.test_set.labels, minlength=9).tolist() == [2] * 9  # 10% of every class
    assert len(dm.train_set) + len(dm.val_set) == 9 * (PER_CLASS - 2)
    test_images, test_labels = load_named_split("emoji", emoji_root, "test")  # what the metrics measure against
    assert torch.equal(test_images, dm.test_set.images) and torch.equal(test_labels, dm.test_set.labels)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (16, 3, 64, 64) and images.dtype == torch.float32 and labels.max() < 9
    assert images.amax() == 1.0  # the white background maps to 1
    with pytest.raises(ValueError, match=r"measured on its fixed test split \(test_dir=null, test_size=0.1"):
        ImageFolderDataModule(str(emoji_root), dataset="emoji", test_size=0.2)
    with pytest.raises(ValueError, match=re.escape("unknown datamodule.dataset='emojis'")):
        ImageFolderDataModule(str(emoji_root), dataset="emojis")


def run_emoji(root: Path, run_dir: Path, monkeypatch, *overrides: str) -> Path:
    """``condgan train experiment=emoji_dcgan <overrides>`` in this process, data in ``root``."""
    argv = ["train", "experiment=emoji_dcgan", f"paths.data_dir={root}", f"hydra.run.dir={run_dir}", *overrides]
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the command sets sys.argv for Hydra
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # raise instead of exiting, so pytest shows the failure
    cli.main(argv)
    return run_dir


def test_emoji_dcgan_passes_fast_dev_run(emoji_root: Path, tmp_path: Path, monkeypatch) -> None:
    run_dir = run_emoji(emoji_root, tmp_path / "run", monkeypatch, "debug=fast_dev_run", "trainer.accelerator=cpu")
    grid = Image.open(run_dir / "samples" / "epoch_000.png")
    assert grid.mode == "RGB" and grid.size == (10 * 66 + 2, 9 * 66 + 2)  # 9 rows: the groups


@pytest.fixture(scope="module")
def trained_emoji_run(emoji_root: Path, tmp_path_factory) -> Path:
    """The default path shrunk: W&B offline + CSV loggers, default callbacks (the quality metrics measure the
    last epoch, here the only one), the test stage; two batches of training."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WANDB_MODE", "offline")
        return run_emoji(
            emoji_root,
            tmp_path_factory.mktemp("emoji_run"),
            monkeypatch,
            "++trainer.limit_train_batches=2",
            "++trainer.limit_val_batches=1",
            "trainer.max_epochs=1",
            "callbacks.quality_metrics.n_per_class=8",
            "datamodule.batch_size=32",
            "trainer.accelerator=cpu",
        )


def test_emoji_dcgan_default_path_trains_measures_and_tests(trained_emoji_run: Path) -> None:
    metrics = (trained_emoji_run / "csv" / "metrics.csv").read_text()
    for key in ("val/fid", "val/fid_floor", "val/label_acc", "val/precision", "val/recall", "test/d_loss"):
        assert key in metrics
    assert list((trained_emoji_run / "wandb").glob("offline-run-*"))
    assert (trained_emoji_run / "checkpoints" / "last.ckpt").is_file()  # best-by-FID ones: every 5th epoch


def test_generate_export_and_serve_the_emoji_model(trained_emoji_run: Path, tmp_path: Path, run_script) -> None:
    ckpt = trained_emoji_run / "checkpoints" / "last.ckpt"
    run_script("generate", f"ckpt_path={ckpt}", "label=2", "n=4", f"out={tmp_path / 'flags.png'}")
    assert Image.open(tmp_path / "flags.png").mode == "RGB"
    onnx = export_generator(ckpt, "onnx", tmp_path / "emoji.onnx")
    metadata = json.loads((tmp_path / "emoji.onnx.json").read_text())
    assert metadata["classes"] == list(emoji.CLASS_NAMES) and metadata["image_shape"] == [3, 64, 64]
    for model in (ckpt, onnx):
        client = TestClient(create_app(load_inference_model(model)))
        assert client.get("/metadata").json()["classes"] == list(emoji.CLASS_NAMES)
        png = client.get("/generate?label=8&n=1&seed=3")
        assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).mode == "RGB"


def test_class_names_of_an_emoji_config_need_no_data() -> None:
    config = {
        "datamodule": {
            "_target_": "condgan.data.image_folder.ImageFolderDataModule",
            "data_dir": "/nowhere",
            "dataset": "emoji",
        }
    }
    assert class_names(config, 9) == list(emoji.CLASS_NAMES)


def test_floor_spread_retrains_the_recipe_per_seed(tiny_mnist: Path) -> None:
    """bench/floor_spread.py's unit: another seed, another classifier and other held-out images, another floor."""
    from bench.floor_spread import floor_for_seed

    recipe = {"epochs": 1, "holdout_per_class": 5, "max_shift": 0}  # as in a weights file, shrunk
    floors = [floor_for_seed("mnist", str(tiny_mnist), recipe, seed, n_per_class=5) for seed in (0, 1)]
    for floor in floors:
        assert set(floor) == {"test_accuracy", "fid", "kid", "intra_fid", "label_acc", "precision", "recall"}
        assert 0 <= floor["test_accuracy"] <= 1 and floor["fid"] > 0
    assert floors[0]["fid"] != floors[1]["fid"]


@pytest.mark.parametrize(
    "epoch, global_step, max_epochs, max_steps, due",
    [
        (0, 48, 1000, 4320, False),  # emoji_dcgan: 48 optimizer steps an epoch, measured every 10th epoch
        (9, 480, 1000, 4320, True),
        (88, 4272, 1000, 4320, False),  # epoch 90 still completes: measured there
        (89, 4320, 1000, 4320, True),
        (88, 4272, 1000, 4300, True),  # the last complete epoch before max_steps stops mid-epoch
        (0, 4, 1, -1, True),  # a one-epoch run is measured at its end
        (0, 4, -1, -1, False),  # no end in sight
    ],
)
def test_quality_metrics_measure_every_nth_and_the_last_epoch(epoch, global_step, max_epochs, max_steps, due) -> None:
    from types import SimpleNamespace

    from condgan.training.callbacks import QualityMetrics
    from condgan.training.callbacks.schedule import epoch_due

    trainer = SimpleNamespace(current_epoch=epoch, global_step=global_step, max_epochs=max_epochs, max_steps=max_steps)
    assert QualityMetrics(every_n_epochs=10).due(trainer) is due
    assert epoch_due(trainer, 10) is due  # the sample grid's rule too


def test_bench_counts_epochs_when_val_fid_is_logged_every_10_epochs() -> None:
    """emoji_dcgan measures every 10th epoch; bench/quality.py still counts epochs by the epoch column."""
    from bench.quality import epochs_trained

    rows = [{"epoch": e, "step": 24.0 * (e + 1)} | ({"val/fid": 150.0} if e % 10 == 9 else {}) for e in range(25)]
    rows.append({"epoch": 25.0, "step": 24.0 * 25 + 12})  # cut short half-way by max_time
    assert epochs_trained(rows) == pytest.approx(25.5)
