"""The emoji sets on npm: ``emoji-datasource-<vendor>`` tarballs, each holding one vendor's 64×64 PNGs
(``img/<vendor>/64/``) and ``emoji.json`` (per emoji: its category, i.e. Unicode group, its fully-qualified
``unified`` codepoints, its ``image`` file, and its skin-tone variants, which are left out).

A tarball is looked for in the folder the user names (``--tarballs DIR`` or ``$CONDGAN_EMOJI_TARBALLS``),
then in the cache ``<data root>/npm``; else ``npm pack`` fetches it into the cache. Every tarball must have
the sha512 integrity npm's registry lists for it (pinned below), or the build stops before writing anything.

Left out: ``openmoji@17.0.0`` (CC BY-SA 4.0) ships its drawings as SVG only (no PNG, no font), and condgan
has no SVG rasteriser; ``emoji-datasource-apple`` and ``-facebook`` may not be used (their README says so).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from condgan.data.emoji_art import GROUPS, Drawing, Emoji, has_skin_tone, on_white
from condgan.data.sources import ChecksumError

log = logging.getLogger(__name__)

NPM = "npm"  # the command; a test points it elsewhere
TARBALLS_ENV = "CONDGAN_EMOJI_TARBALLS"
PACK_TIMEOUT_S = 600


@dataclass(frozen=True)
class NpmSet:
    style: str
    package: str
    version: str
    integrity: str  # `npm view <package>@<version> dist.integrity`
    licence: str  # of the drawings, as the package's README.md states it
    images: str  # the folder of 64 px PNGs inside the tarball
    pixels_sha256: str | None  # emoji.set_sha256 of the drawings made from it; None: not pinned (tests)

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def filename(self) -> str:
        return f"{self.package}-{self.version}.tgz"  # npm pack's name for it

    @property
    def source(self) -> str:
        return f"npm {self.spec} ({self.integrity})"


# In style order: "noto" from npm when it is there (the font is the fallback), then the other styles.
NPM_SETS = (
    NpmSet(
        "noto",
        "emoji-datasource-google",
        "16.0.0",
        "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==",
        "Apache-2.0 (Noto Emoji images, Google); package code MIT",
        "package/img/google/64/",
        "7985ad1494fee04a08e79036d7844147f4f0011b1cdd48178e113508f75aaa07",
    ),
    NpmSet(
        "twemoji",
        "emoji-datasource-twitter",
        "16.0.0",
        "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==",
        "CC-BY-4.0 (Twemoji graphics, Twitter and contributors); package code MIT",
        "package/img/twitter/64/",
        "84011e6cfd021811d2237c798b3cea2f6ce5f4807699e215190862a8d8f5d687",
    ),
)


def integrity(path: Path) -> str:
    """npm's integrity string of a file: ``sha512-`` and the base64 digest."""
    digest = hashlib.sha512()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def tarball_dirs(cache: Path, tarballs: str | Path | None) -> list[Path]:
    """Where tarballs are looked for, in order: the user's folder (argument, else the environment), the cache."""
    given = tarballs or os.environ.get(TARBALLS_ENV)
    return [*([Path(given)] if given else []), cache]


def find_tarball(npm_set: NpmSet, cache: Path, tarballs: str | Path | None) -> Path | None:
    """The verified tarball of ``npm_set``, fetched into ``cache`` with npm when no folder has it; None when
    there is none and npm could not fetch it (no npm, offline). Raises ``ChecksumError`` for a wrong file."""
    for folder in tarball_dirs(cache, tarballs):
        if (folder / npm_set.filename).is_file():
            return verified(npm_set, folder / npm_set.filename)
    path = npm_pack(npm_set, cache)
    return path and verified(npm_set, path)


def verified(npm_set: NpmSet, path: Path) -> Path:
    actual = integrity(path)
    if actual != npm_set.integrity:
        raise ChecksumError(
            f"emoji: {path} is not {npm_set.spec}: its integrity is {actual}, npm lists {npm_set.integrity}; "
            f"nothing was written. Delete it and run `python -m condgan.data emoji` again (npm fetches it anew)"
        )
    return path


def npm_pack(npm_set: NpmSet, cache: Path) -> Path | None:
    """``npm pack <spec>`` into ``cache``; None when npm is missing or fails (offline), logged at debug level."""
    if shutil.which(NPM) is None:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".pack-") as staging:  # a killed pack leaves no tarball
        try:
            done = subprocess.run(
                [NPM, "pack", npm_set.spec, "--pack-destination", staging, "--silent"],
                capture_output=True, text=True, timeout=PACK_TIMEOUT_S, cwd=staging,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            log.debug("emoji: npm pack %s failed: %s", npm_set.spec, error)
            return None
        packed = Path(staging) / npm_set.filename
        if done.returncode != 0 or not packed.is_file():
            log.debug("emoji: npm pack %s failed: %s", npm_set.spec, done.stderr.strip()[-500:])
            return None
        os.replace(packed, cache / npm_set.filename)
    log.info("emoji: fetched %s into %s", npm_set.spec, cache)
    return cache / npm_set.filename


def read_drawings(npm_set: NpmSet, path: Path) -> list[Drawing]:
    """The emoji of the picture groups that the tarball draws, without skin-tone variants, in codepoint order."""
    with tarfile.open(path, "r:gz") as tar:
        members = {member.name: member for member in tar.getmembers() if member.isfile()}
        entries = json.loads(tar.extractfile(members["package/emoji.json"]).read())
        drawings = {}
        for entry in entries:
            codepoints = tuple(int(code, 16) for code in entry["unified"].split("-"))
            image = members.get(npm_set.images + entry["image"])
            if entry["category"] not in GROUPS or image is None or has_skin_tone(codepoints):
                continue
            with Image.open(io.BytesIO(tar.extractfile(image).read())) as png:
                picture = on_white(png)
            drawings[codepoints] = Drawing(Emoji(GROUPS[entry["category"]], codepoints), npm_set.style, picture)
    return [drawings[codepoints] for codepoints in sorted(drawings)]
