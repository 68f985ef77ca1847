"""The assignment's spelling of ``condgan train``, from a clone: ``python run.py experiment=train_mnist_gan.yaml``.

data/ and logs/ go into the clone, wherever it is run from; ``condgan train`` writes under the current folder.
"""

from pathlib import Path

from condgan.cli import run_from_clone

if __name__ == "__main__":
    run_from_clone("train", Path(__file__).resolve().parent)
