"""Emoji: labelled 64×64 colour images with two conditions each, the emoji group (9 classes) and the drawing
style (``STYLES``), built offline from whichever emoji sets are available.

``ensure_emoji(folder)`` writes, once::

    <folder>/train/<group>/<style>-<codepoints>.png     e.g. train/flags/twemoji-1f1eb_1f1f7.png
    <folder>/test/<group>/<style>-<codepoints>.png
    <folder>/manifest.txt    the sets that went in (source, licence, image count), then every image's pixel sha256
    <folder>/README.md       the same for people: licences and attribution

``train/`` and ``test/`` are each an ordinary image folder (one sub-folder per group), so the group-only
models read them as before (``datamodule=emoji``, or ``datamodule=image_folder`` with ``data_dir=<folder>/train
test_dir=<folder>/test``); the style is the file name's prefix (``read_emoji_split``, ``EmojiImages``).

The split is by emoji, not by image: 10% of the emoji of every group (seed 42, ``stratified_split`` over the
emoji in codepoint order) are test emoji, in every style, so no drawing of a test emoji is trained on. Built
from the font alone, the test split holds the very images image_folder's per-image split held out before.

The sets (``emoji_npm``, ``emoji_font``): style "noto" comes from npm's ``emoji-datasource-google`` when it is
available, else from the Debian Noto Color Emoji font (the same drawings, Unicode 15.0 instead of 16.0);
style "twemoji" from ``emoji-datasource-twitter``. A set that is not available is left out, with one logged
line saying how to add it. Skin-tone variants are left out: one image per base emoji. With them, People & Body
would hold 2148 of 3655 images per style, most of them five recolourings of one drawing.

The images are deterministic: each set's pixels must hash to its pinned sha256 (when pinned), a build that
differs is never written, and a folder that differs from its manifest is never overwritten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from condgan.data import emoji_font, emoji_npm
from condgan.data.datamodule import square_resize, stratified_split, to_unit_range
from condgan.data.emoji_art import CLASS_NAMES, IMAGE_SIZE, STYLES, Drawing, Emoji, pixel_sha256
from condgan.data.sources import ChecksumError, DatasetUnavailableError

__all__ = [
    "CLASS_NAMES",
    "CONDITIONS",
    "IMAGE_SIZE",
    "STYLED_CLASS_NAMES",
    "STYLES",
    "EmojiImages",
    "ensure_emoji",
    "read_emoji_split",
    "read_styled_split",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.txt"
README = "README.md"
SPLITS = ("train", "test")
NPM_CACHE = "npm"  # <data root>/npm: the tarballs npm pack fetched
# The held-out test split of every emoji run and of the metrics: image_folder's own defaults, now by emoji.
TEST_SIZE = 0.1
SPLIT_SEED = 42
# Dataset emoji_styles conditions on both: label = group · len(STYLES) + style, named "<group>/<style>".
CONDITIONS = {"group": CLASS_NAMES, "style": STYLES}
STYLED_CLASS_NAMES = tuple(f"{group}/{style}" for group in CLASS_NAMES for style in STYLES)


@dataclass(frozen=True)
class SetRecord:
    """One set as the manifest lists it."""

    style: str
    source: str  # package and version (npm: and its integrity)
    licence: str
    images: int
    pixels_sha256: str

    @property
    def line(self) -> str:
        return (
            f"# set {self.style}: {self.source} | {self.licence} | {self.images} images | "
            f"pixels sha256 {self.pixels_sha256}"
        )


def set_sha256(drawings: list[Drawing]) -> str:
    """sha256 of ``<pixel sha256>  <group>/<codepoints>`` per drawing, sorted: one set's pixels, whatever the split."""
    lines = sorted(f"{pixel_sha256(d.image)}  {d.emoji.path}" for d in drawings)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def held_out_emoji(emoji: list[Emoji]) -> set[tuple[int, ...]]:
    """The codepoints of the test emoji: ``TEST_SIZE`` of every group's emoji, by ``stratified_split``."""
    ordered = sorted(emoji, key=lambda e: (e.group, e.name))  # as an image folder of one style lists them
    labels = torch.tensor([CLASS_NAMES.index(e.group) for e in ordered])
    held = max(1, round(TEST_SIZE * len(ordered)))
    (picked, _), _ = stratified_split((torch.arange(len(ordered)), labels), held, SPLIT_SEED)
    return {ordered[i].codepoints for i in picked.tolist()}


def layout(drawings: list[Drawing]) -> dict[str, Drawing]:
    """{``<split>/<group>/<style>-<codepoints>.png``: drawing}. An emoji's group is the one its first set gives
    it (sets disagree only across Unicode versions), so all its styles sit in one group and one split."""
    groups: dict[tuple[int, ...], str] = {}
    for d in drawings:
        groups.setdefault(d.emoji.codepoints, d.emoji.group)
    emoji = [Emoji(group, codepoints) for codepoints, group in groups.items()]
    test = held_out_emoji(emoji)
    paths = {}
    for d in drawings:
        split = "test" if d.emoji.codepoints in test else "train"
        emoji_item = Emoji(groups[d.emoji.codepoints], d.emoji.codepoints)
        paths[f"{split}/{emoji_item.group}/{d.style}-{emoji_item.name}.png"] = Drawing(emoji_item, d.style, d.image)
    return paths


def manifest_text(records: list[SetRecord], digests: dict[str, str]) -> str:
    """A comment, one ``# set`` line per set, then ``<pixel sha256>  <path>`` per image, sorted by path."""
    header = ["# sha256 of each image's decoded RGB pixels, then its path (condgan.data.emoji)"]
    rows = [f"{digests[path]}  {path}" for path in sorted(digests)]
    return "\n".join([*header, *(r.line for r in records), *rows]) + "\n"


def readme_text(records: list[SetRecord], left_out: list[str]) -> str:
    sets = "\n".join(f"- style `{r.style}`: {r.images} images from {r.source}; licence {r.licence}" for r in records)
    missing = f"\nLeft out (not available when it was built): {', '.join(left_out)}.\n" if left_out else ""
    return (
        "# condgan emoji\n\n"
        "64×64 RGB emoji on white, made by `python -m condgan.data emoji` (condgan.data.emoji).\n"
        "Layout: `{train,test}/<group>/<style>-<codepoints>.png`; the split is by emoji (10% of every group).\n\n"
        f"{sets}\n{missing}\n"
        "Twemoji graphics: Copyright Twitter, Inc and other contributors, CC-BY 4.0 "
        "(https://creativecommons.org/licenses/by/4.0/). Noto Emoji: Copyright Google Inc., Apache License 2.0.\n"
        "The images were composited on white and resized; skin-tone variants are left out.\n"
    )


def gather(data_root: Path, tarballs: str | Path | None) -> tuple[list[Drawing], list[SetRecord], list[str]]:
    """(drawings, their sets, the sets left out): every npm set found, and the font for a missing "noto"."""
    drawings: list[Drawing] = []
    records, left_out = [], []
    for npm_set in emoji_npm.NPM_SETS:
        path = emoji_npm.find_tarball(npm_set, data_root / NPM_CACHE, tarballs)
        if path is None:
            left_out.append(npm_set.spec)
            continue
        made = emoji_npm.read_drawings(npm_set, path)
        records.append(checked(npm_set.style, npm_set.source, npm_set.licence, made, npm_set.pixels_sha256))
        drawings += made
    if "noto" not in {r.style for r in records}:
        reason = emoji_font.missing()
        if reason is None:
            made = emoji_font.font_drawings()
            source = f"the Debian font {emoji_font.MADE_FROM}"
            records.insert(0, checked("noto", source, emoji_font.LICENCE, made, emoji_font.PIXELS_SHA256))
            drawings = made + drawings
        elif not records:
            specs = " ".join(s.spec for s in emoji_npm.NPM_SETS)
            raise DatasetUnavailableError(
                f"emoji: no emoji set is available: {reason}, or fetch the npm sets with "
                f"`npm pack {specs} --pack-destination {data_root / NPM_CACHE}`"
            )
    return drawings, records, left_out


def checked(style: str, source: str, licence: str, drawings: list[Drawing], pinned: str | None) -> SetRecord:
    """The set's record; raises ``ChecksumError`` (nothing written) when its pixels are not the pinned ones."""
    actual = set_sha256(drawings)
    if pinned is not None and actual != pinned:
        raise ChecksumError(
            f"emoji: the {len(drawings)} images of style {style} made here from {source} have pixels sha256 "
            f"{actual}, expected {pinned}; nothing was written. Another Pillow or font version draws other pixels"
        )
    return SetRecord(style, source, licence, len(drawings), actual)


def ensure_emoji(folder: str | Path, tarballs: str | Path | None = None) -> Path:
    """Return ``folder`` holding the verified emoji images, building them first if it is absent or empty.

    ``tarballs``: a folder holding npm tarballs (default ``$CONDGAN_EMOJI_TARBALLS``, then ``<data root>/npm``).
    Raises ``DatasetUnavailableError`` when no set is available, and ``ChecksumError`` when the folder holds
    other images (they are left untouched), a tarball is not the pinned one, or this machine makes different
    pixels (then nothing is written).
    """
    folder = Path(folder)
    if folder.is_dir() and any(folder.iterdir()):
        verify_emoji(folder)
        log.info("emoji: %s present (manifest verified)", folder)
        return folder
    drawings, records, left_out = gather(folder.parent, tarballs)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))  # renamed into place at the end
    try:
        digests = {}
        for path, drawing in layout(drawings).items():
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            drawing.image.save(staging / path)
            digests[path] = pixel_sha256(drawing.image)
        (staging / MANIFEST).write_text(manifest_text(records, digests))
        (staging / README).write_text(readme_text(records, left_out))
        for path in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            os.chmod(path, 0o755)  # mkdtemp makes it private
        os.replace(staging, folder)  # replaces only an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    counts = ", ".join(f"{r.style}: {r.images}" for r in records)
    log.info("emoji: built %d images into %s (%s)", len(digests), folder, counts)
    if left_out:
        log.warning(
            "emoji: left out %s (no tarball, and npm could not fetch it); to add them, run `npm pack %s "
            "--pack-destination %s`, move %s away and run `python -m condgan.data emoji --data-dir %s` again",
            ", ".join(left_out), " ".join(left_out), folder.parent / NPM_CACHE, folder, folder.parent,
        )  # fmt: skip
    return folder


def known_sets() -> dict[str, str | None]:
    """{source: pinned pixels sha256} of every set this code builds from."""
    font = f"the Debian font {emoji_font.MADE_FROM}"
    return {font: emoji_font.PIXELS_SHA256, **{s.source: s.pixels_sha256 for s in emoji_npm.NPM_SETS}}


def verify_emoji(folder: Path) -> None:
    """Raise ``ChecksumError`` naming the differences when ``folder`` is not an emoji folder as this code builds
    it: its images must be those of its manifest, and the manifest's sets the pinned ones."""
    again = f"move or delete {folder} and run `python -m condgan.data emoji --data-dir {folder.parent}`"
    if not (folder / "train").is_dir() and any((folder / group).is_dir() for group in CLASS_NAMES):
        raise ChecksumError(
            f"emoji: {folder} is the one-style emoji folder of an older condgan (<group>/<codepoints>.png), left "
            f"untouched; {again} to build the emoji with their styles and split"
        )
    digests = {
        path.relative_to(folder).as_posix(): pixel_sha256(Image.open(path))
        for split in SPLITS
        for path in sorted((folder / split).glob("*/*.png"))
    }
    listed, sets = read_manifest(folder / MANIFEST)
    differences = [
        *(f"changed: {p}" for p in sorted(digests.keys() & listed.keys()) if digests[p] != listed[p]),
        *(f"missing: {p}" for p in sorted(listed.keys() - digests.keys())),
        *(f"added: {p}" for p in sorted(digests.keys() - listed.keys())),
    ]
    known = known_sets()
    differences += [f"unknown set: {source}" for source in sets if source not in known]
    differences += [f"other pixels: {source}" for source, sha in sets.items() if known.get(source) not in (None, sha)]
    if not sets:
        differences.append(f"no {MANIFEST} listing its sets")
    if not differences:
        return
    raise ChecksumError(
        f"emoji: {folder} holds {len(digests)} images that are not condgan's emoji ({len(differences)} differences "
        f"from its {MANIFEST}, e.g. {', '.join(differences[:3])}). They are left untouched; {again} to build "
        "the emoji again."
    )


def read_manifest(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """({image path: pixel sha256}, {set source: pixels sha256}) of a manifest; empty when there is none."""
    if not path.is_file():
        return {}, {}
    images, sets = {}, {}
    for line in path.read_text().splitlines():
        if line.startswith("# set "):
            fields = line.split(": ", 1)[1].split(" | ")
            sets[fields[0]] = fields[-1].removeprefix("pixels sha256 ")
        elif not line.startswith("#"):
            digest, image = line.split("  ", 1)
            images[image] = digest
    return images, sets


def read_emoji_split(folder: str | Path, split: str) -> tuple[Tensor, Tensor, Tensor]:
    """(uint8 images N×3×64×64, int64 groups N, int64 styles N) of ``<folder>/<split>``: group i is
    ``CLASS_NAMES[i]``, style j is ``STYLES[j]``, in path order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {list(SPLITS)}")
    paths = sorted((Path(folder) / split).glob("*/*.png"))
    if not paths:
        raise FileNotFoundError(f"{Path(folder) / split} holds no emoji; run `python -m condgan.data emoji` first")
    images = np.stack([np.asarray(Image.open(path).convert("RGB")) for path in paths])  # N×H×W×3
    groups = [CLASS_NAMES.index(path.parent.name) for path in paths]
    styles = [STYLES.index(path.name.split("-", 1)[0]) for path in paths]
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.tensor(groups), torch.tensor(styles)


def read_styled_split(folder: str | Path, split: str, image_size: int = IMAGE_SIZE) -> tuple[Tensor, Tensor]:
    """(uint8 images N×3×S×S, int64 labels N) of ``<folder>/<split>`` for dataset emoji_styles: label
    ``group · len(STYLES) + style`` (``STYLED_CLASS_NAMES``). Every style must be in the build."""
    images, groups, styles = read_emoji_split(folder, split)
    if missing := [style for index, style in enumerate(STYLES) if not (styles == index).any()]:
        specs = " ".join(s.spec for s in emoji_npm.NPM_SETS)
        raise DatasetUnavailableError(
            f"emoji_styles: {Path(folder) / split} holds no {', '.join(missing)} images, and emoji_styles draws "
            f"every style in {list(STYLES)}; fetch the sets with `npm pack {specs} --pack-destination "
            f"{Path(folder).parent / NPM_CACHE}`, move {folder} away and run `python -m condgan.data emoji` again "
            "(or train the group-only dataset: datamodule=emoji)"
        )
    return square_resize(images, image_size), groups * len(STYLES) + styles


class EmojiImages(Dataset):
    """One split of the emoji folder as (float32 image 3×64×64 in [-1, 1], int64 group, int64 style), for a
    model with two conditions. Like ``InMemoryImages``, a batch is one indexing op (``__getitems__``)."""

    def __init__(self, folder: str | Path, split: str) -> None:
        self.images, self.groups, self.styles = read_emoji_split(folder, split)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        return to_unit_range(self.images[index]), self.groups[index], self.styles[index]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor, Tensor]:
        batch = torch.as_tensor(indices)
        images = self.images.index_select(0, batch)
        return to_unit_range(images), self.groups.index_select(0, batch), self.styles.index_select(0, batch)
