"""``python -m condgan.serve ...``: the same as the ``condgan-serve`` command."""

from condgan.serve import main

main()
