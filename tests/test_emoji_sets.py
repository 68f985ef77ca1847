"""The emoji dataset built from npm tarballs: tiny fake ones made here, in the real ones' shape (``package/emoji.json``
and ``package/img/<vendor>/64/*.png``), pinned by their own integrity; and one build from the real tarballs.

The fallback tests draw the font set too, so they need the Debian packages fonts-noto-color-emoji and unicode-data.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import stat
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from condgan.data import emoji, emoji_font, emoji_npm
from condgan.data.__main__ import main as data_cli
from condgan.data.datasets import load_named_split
from condgan.data.image_folder import ImageFolderDataModule
from condgan.data.sources import ChecksumError
from tests.helpers import ROOT, skip_without
from tests.test_emoji import TINY_LIST, TINY_SHA256, emoji_packages_installed

GROUPS = {"Smileys & Emotion": 0x1F600, "Animals & Nature": 0x1F400, "Flags": 0x1F1E6}  # 10 emoji each from here
SKIN_TONE = "1F44B-1F3FB"  # a variant, as emoji.json never lists one at the top level: left out all the same
REAL_SPECS = " ".join(s.spec for s in emoji_npm.NPM_SETS)


def emoji_entries() -> list[dict]:
    """emoji.json's entries: 30 picture emoji, a component, a skin-tone variant, one without its image."""
    entries = [
        {"unified": f"{start + i:X}", "category": category, "image": f"{start + i:x}.png", "skin_variations": {}}
        for category, start in GROUPS.items()
        for i in range(10)
    ]
    entries[0]["unified"], entries[0]["image"] = "263A-FE0F", "263a-fe0f.png"  # fully qualified, as the real ones
    return [
        *entries,
        {"unified": "1F3FB", "category": "Component", "image": "1f3fb.png"},
        {"unified": SKIN_TONE, "category": "People & Body", "image": "1f44b-1f3fb.png"},
        {"unified": "1F680", "category": "Travel & Places", "image": "1f680.png"},  # listed, not drawn
    ]


def drawing(index: int, colour: str) -> bytes:
    """A 64×64 RGBA PNG: a transparent square with a coloured disc whose size tells the emoji apart."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 20 + index, 20 + index), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_tarball(folder: Path, npm_set: emoji_npm.NpmSet, colour: str) -> Path:
    """``<folder>/<npm pack's name>``: emoji.json and the PNGs of ``emoji_entries`` (not the undrawn one)."""
    files = {"package/emoji.json": json.dumps(emoji_entries()).encode()}
    for i, entry in enumerate(emoji_entries()[:-1]):
        files[npm_set.images + entry["image"]] = drawing(i % 40, colour)
    files["package/README.md"] = b"images licensed as the test says\n"
    path = folder / npm_set.filename
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def fake_sets(tmp_path: Path, monkeypatch) -> Path:
    """A folder holding a tiny tarball per npm set, pinned by integrity; npm is not found. Returns the folder."""
    folder = tmp_path / "tarballs"
    folder.mkdir()
    sets = []
    for npm_set, colour in zip(emoji_npm.NPM_SETS, ("red", "blue"), strict=True):
        fake = replace(npm_set, integrity="", pixels_sha256=None)  # the tiny set's pixels are not pinned
        sets.append(replace(fake, integrity=emoji_npm.integrity(make_tarball(folder, fake, colour))))
    monkeypatch.setattr(emoji_npm, "NPM_SETS", tuple(sets))
    monkeypatch.setattr(emoji_npm, "NPM", str(tmp_path / "no-npm"))
    monkeypatch.delenv(emoji_npm.TARBALLS_ENV, raising=False)
    return folder


@pytest.fixture
def tiny_font(tmp_path: Path, monkeypatch) -> None:
    """The font set draws TINY_LIST (5 emoji); skipped without the Debian packages."""
    skip_without(emoji_packages_installed(), f"needs `apt-get install {emoji_font.PACKAGES}`")
    (tmp_path / "emoji-test.txt").write_text(TINY_LIST, encoding="utf-8")
    monkeypatch.setattr(emoji_font, "EMOJI_LIST_PATH", tmp_path / "emoji-test.txt")
    monkeypatch.setattr(emoji_font, "PIXELS_SHA256", TINY_SHA256)


def pngs(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))


def test_both_sets_give_every_emoji_two_labels_and_one_split(fake_sets: Path, tmp_path: Path) -> None:
    folder = emoji.ensure_emoji(tmp_path / "data" / "emoji", tarballs=fake_sets)
    files = pngs(folder)
    assert len(files) == 2 * 30  # two styles of the 30 picture emoji: no component, skin tone or undrawn one
    by_emoji: dict[str, set[tuple[str, str, str]]] = {}
    for path in files:
        split, group, name = path.split("/")
        style, codepoints = name.split("-", 1)
        by_emoji.setdefault(codepoints, set()).add((split, group, style))
    assert all({style for _, _, style in labels} == {"noto", "twemoji"} for labels in by_emoji.values())
    assert all(len({(split, group) for split, group, _ in labels}) == 1 for labels in by_emoji.values())  # no leak
    test_files = [f for f in files if f.startswith("test/")]
    assert sorted({f.split("/")[1] for f in test_files}) == ["animals_nature", "flags", "smileys_emotion"]
    assert len(test_files) == 2 * 3  # 10% of every group's emoji, in both styles
    assert "train/smileys_emotion/noto-263a_fe0f.png" in files or "test/smileys_emotion/noto-263a_fe0f.png" in files
    image = Image.open(folder / files[0])
    assert image.size == (64, 64) and image.mode == "RGB" and image.getpixel((0, 0)) == (255, 255, 255)  # on white

    manifest = (folder / emoji.MANIFEST).read_text()
    for npm_set in emoji_npm.NPM_SETS:
        assert (
            f"# set {npm_set.style}: npm {npm_set.spec} ({npm_set.integrity}) | {npm_set.licence} | 30 images"
            in manifest
        )
    assert "CC-BY-4.0" in manifest and "Apache-2.0" in manifest
    assert len([line for line in manifest.splitlines() if not line.startswith("#")]) == 60
    readme = (folder / emoji.README).read_text()
    assert "CC-BY 4.0" in readme and "Apache License 2.0" in readme and "{train,test}/<group>/<style>-" in readme

    images, groups, styles = emoji.read_emoji_split(folder, "test")
    assert images.shape == (6, 3, 64, 64) and images.dtype == torch.uint8
    assert sorted(groups.tolist()) == sorted(
        emoji.CLASS_NAMES.index(g) for g in ["animals_nature", "flags", "smileys_emotion"] * 2
    )
    assert sorted(styles.tolist()) == [0, 0, 0, 1, 1, 1]  # STYLES: noto, twemoji
    dataset = emoji.EmojiImages(folder, "train")
    image, group, style = dataset[0]
    assert len(dataset) == 54 and image.shape == (3, 64, 64) and image.max() == 1.0 and group.dtype == torch.int64
    batch = dataset.__getitems__([0, 5, 9])
    assert batch[0].shape == (3, 3, 64, 64) and batch[1].shape == batch[2].shape == (3,)

    before = {f: (folder / f).stat().st_mtime_ns for f in files}
    assert emoji.ensure_emoji(folder, tarballs=fake_sets) == folder  # present and verified: not built again
    assert before == {f: (folder / f).stat().st_mtime_ns for f in files}


def test_the_build_is_the_same_bytes_twice(fake_sets: Path, tmp_path: Path) -> None:
    first = emoji.ensure_emoji(tmp_path / "a" / "emoji", tarballs=fake_sets)
    second = emoji.ensure_emoji(tmp_path / "b" / "emoji", tarballs=fake_sets)
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


def test_a_corrupt_tarball_is_refused_in_one_line_and_nothing_is_written(fake_sets: Path, tmp_path: Path) -> None:
    tarball = fake_sets / emoji_npm.NPM_SETS[1].filename
    tarball.write_bytes(tarball.read_bytes()[:-10] + b"0123456789")  # the same size, other bytes
    root = tmp_path / "data"
    with pytest.raises(ChecksumError) as error:
        emoji.ensure_emoji(root / "emoji", tarballs=fake_sets)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"emoji: {tarball} is not emoji-datasource-twitter@16.0.0: ")
    assert "nothing was written. Delete it and run `python -m condgan.data emoji` again" in message
    assert not root.exists()  # no folder, no staging, no cache
    with pytest.raises(SystemExit) as exit_info:  # the command line says it as one `error:` line
        data_cli(["emoji", "--data-dir", str(root), "--tarballs", str(fake_sets)])
    assert str(exit_info.value.code) == f"error: {message}" and not root.exists()


def test_a_folder_whose_sets_are_not_the_pinned_ones_is_left_untouched(fake_sets: Path, tmp_path: Path) -> None:
    folder = emoji.ensure_emoji(tmp_path / "emoji", tarballs=fake_sets)
    manifest = (folder / emoji.MANIFEST).read_text()
    (folder / emoji.MANIFEST).write_text(
        manifest.replace("emoji-datasource-twitter@16.0.0", "emoji-datasource-twitter@1")
    )
    with pytest.raises(ChecksumError, match=r"unknown set: npm emoji-datasource-twitter@1 .* They are left untouched"):
        emoji.ensure_emoji(folder, tarballs=fake_sets)
    (folder / emoji.MANIFEST).write_text(manifest)
    for split in ("train", "test"):  # the layout of before: a class folder per group, no manifest sets
        for group in (folder / split).iterdir():
            group.rename(folder / f"{group.name}-{split}")
    with pytest.raises(ChecksumError, match=r"differences from its manifest\.txt, e\.g\. missing: test/"):
        emoji.ensure_emoji(folder, tarballs=fake_sets)
    old = tmp_path / "old" / "emoji"  # the one-style folder condgan made before: <group>/<codepoints>.png
    (old / "flags").mkdir(parents=True)
    Image.new("RGB", (64, 64), "white").save(old / "flags" / "1f1eb_1f1f7.png")
    with pytest.raises(ChecksumError, match="is the one-style emoji folder of an older condgan") as error:
        emoji.ensure_emoji(old, tarballs=fake_sets)
    assert str(error.value).endswith(
        f"untouched; move or delete {old} and run `python -m condgan.data emoji --data-dir {old.parent}` to build the "
        "emoji with their styles and split"
    )
    assert (old / "flags" / "1f1eb_1f1f7.png").is_file()


@pytest.mark.usefixtures("tiny_font")
def test_a_missing_set_falls_back_to_the_font_and_says_so_in_one_line(fake_sets: Path, tmp_path: Path, caplog) -> None:
    (fake_sets / emoji_npm.NPM_SETS[0].filename).unlink()  # no Noto from npm: the font draws style noto
    with caplog.at_level(logging.INFO, logger="condgan.data.emoji"):
        folder = emoji.ensure_emoji(tmp_path / "data" / "emoji", tarballs=fake_sets)
    assert (
        len([f for f in pngs(folder) if "/noto-" in f]) == 5
        and len([f for f in pngs(folder) if "/twemoji-" in f]) == 30
    )
    manifest = (folder / emoji.MANIFEST).read_text()
    assert f"# set noto: the Debian font {emoji_font.MADE_FROM} | {emoji_font.LICENCE} | 5 images" in manifest
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "\n" not in warning and warning.startswith("emoji: left out emoji-datasource-google@16.0.0 (")
    assert f"run `npm pack emoji-datasource-google@16.0.0 --pack-destination {tmp_path / 'data' / 'npm'}`" in warning


@pytest.mark.usefixtures("tiny_font")
def test_without_npm_or_tarballs_the_font_alone_is_built(fake_sets: Path, tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="condgan.data.emoji"):
        folder = emoji.ensure_emoji(tmp_path / "data" / "emoji", tarballs=tmp_path / "empty")
    assert len(pngs(folder)) == 5 and all("/noto-" in f for f in pngs(folder))
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert re.match(r"emoji: left out emoji-datasource-google@16.0.0, emoji-datasource-twitter@16.0.0 \(", warning)
    assert "--pack-destination" in warning and "\n" not in warning


def test_npm_pack_fetches_a_missing_tarball_into_the_cache(fake_sets: Path, tmp_path: Path, monkeypatch) -> None:
    npm = tmp_path / "bin" / "npm"  # stands in for npm: `npm pack <spec> --pack-destination DIR` copies the tarball
    npm.parent.mkdir()
    npm.write_text(f'#!/bin/sh\nname=$(echo "$2" | sed "s/@/-/").tgz\ncp "{fake_sets}/$name" "$4/$name"\n')
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(emoji_npm, "NPM", str(npm))
    root = tmp_path / "data"
    emoji.ensure_emoji(root / "emoji", tarballs=None)
    assert sorted(p.name for p in (root / "npm").iterdir()) == sorted(s.filename for s in emoji_npm.NPM_SETS)
    assert len(pngs(root / "emoji")) == 60


def test_the_emoji_datamodule_reads_the_split_of_the_folder(fake_sets: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(emoji_npm.TARBALLS_ENV, str(fake_sets))  # how a run finds tarballs it did not fetch
    dm = ImageFolderDataModule(str(tmp_path), dataset="emoji", val_size=3, batch_size=8)
    dm.prepare_data()
    dm.setup("fit")
    test_files = [f for f in pngs(tmp_path / "emoji") if f.startswith("test/")]
    assert len(dm.test_set) == len(test_files) == 6 and len(dm.train_set) + len(dm.val_set) == 54
    assert dm.class_names == sorted(["animals_nature", "flags", "smileys_emotion"])  # the groups this build holds
    images, labels = load_named_split("emoji", tmp_path, "test")  # what the metrics measure against
    assert torch.equal(images, dm.test_set.images) and torch.equal(labels, dm.test_set.labels)


def real_tarballs() -> Path:
    return Path(os.environ.get(emoji_npm.TARBALLS_ENV) or ROOT / "data" / "npm")


def test_the_real_sets_give_plausible_counts_per_style_and_group(tmp_path: Path, monkeypatch) -> None:
    folder = real_tarballs()
    present = all((folder / s.filename).is_file() for s in emoji_npm.NPM_SETS)
    skip_without(present, f"needs the npm tarballs in {folder}: `npm pack {REAL_SPECS} --pack-destination {folder}`")
    monkeypatch.setattr(emoji_npm, "NPM", str(tmp_path / "no-npm"))
    built = emoji.ensure_emoji(tmp_path / "emoji", tarballs=folder)
    counts: dict[tuple[str, str], int] = {}
    for path in built.glob("*/*/*.png"):
        key = (path.name.split("-", 1)[0], path.parent.name)
        counts[key] = counts.get(key, 0) + 1
    for style in emoji.STYLES:
        assert 1800 <= sum(n for (s, _), n in counts.items() if s == style) <= 2100  # Unicode 16.0, no skin tones
        for group in emoji.CLASS_NAMES:
            assert 60 <= counts[style, group] <= 450, (style, group, counts[style, group])
    assert counts["noto", "flags"] == counts["twemoji", "flags"] >= 250  # every country and region
    manifest = (built / emoji.MANIFEST).read_text()
    assert "CC-BY-4.0 (Twemoji" in manifest and "Apache-2.0 (Noto" in manifest
    tests = {p.name.split("-", 1)[1] for p in (built / "test").glob("*/*.png")}
    assert not tests & {p.name.split("-", 1)[1] for p in (built / "train").glob("*/*.png")}
