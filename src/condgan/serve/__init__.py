"""The web service: ``condgan-serve ckpt_path=<.ckpt or .onnx> [host=127.0.0.1] [port=8000] [threads=1] ...``."""

from condgan.dependencies import MissingExtraError, require


def main(argv: list[str] | None = None) -> None:
    """The ``condgan-serve`` command; without the serve extra installed, one line saying what to install."""
    try:
        require("serve", "condgan-serve")
    except MissingExtraError as error:
        raise SystemExit(f"error: {error}") from None
    from condgan.serve.cli import main as serve  # FastAPI and uvicorn: importable now

    serve(argv)


__all__ = ["main"]
