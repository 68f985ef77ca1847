"""Callbacks a test adds to a run with ``+callbacks.<name>._target_=tests.helpers.callbacks.<Class>``."""

import hashlib
import json
from pathlib import Path

import lightning as L


class RecordSeenImages(L.Callback):
    """Writes ``<dirpath>/rank<global rank>.json``: a hash of every training image this rank stepped on, and
    the global step it ended at, so a test can check how the world split the data."""

    def __init__(self, dirpath: str):
        self.dirpath, self.seen = Path(dirpath), []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        images, _ = batch
        self.seen += [hashlib.sha1(image.cpu().numpy().tobytes()).hexdigest() for image in images]

    def on_train_end(self, trainer, pl_module) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        record = {"seen": self.seen, "global_step": trainer.global_step, "world_size": trainer.world_size}
        (self.dirpath / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))
