"""``python -m condgan <command> ...``: the same as the ``condgan`` command."""

from condgan.cli import main

main()
