"""The FastAPI app around one loaded generator: /generate, /metadata, /healthz, the web page at / and /docs."""

import base64
import secrets
from importlib.resources import files
from typing import Annotated, Any, Literal

import torch
from fastapi import FastAPI, Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from condgan.runtime import InferenceModel
from condgan.sample_files import near_square_columns, png_grid, png_image

MAX_IMAGES = 256  # per request: bounds the time and memory one request can take
MAX_SEED = 2**32 - 1  # JSON numbers above 2^53 lose digits in JavaScript; 32 bits also suit every RNG API
WEB_PAGE = files("condgan.serve").joinpath("static/index.html")


class GenerateQuery(BaseModel):
    """The query of ``GET /generate``; a parameter it does not know is refused, so a typo is not ignored."""

    model_config = ConfigDict(extra="forbid")

    label: int = Field(description="the class to draw: 0 to num_classes - 1 (GET /metadata names them)")
    n: int = Field(16, ge=1, le=MAX_IMAGES, description="how many images")
    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="same seed, same images; left out: a random one, echoed back"
    )
    format: Literal["png", "json"] = Field("png", description="png: one grid image; json: one base64 PNG per image")


def label_error(label: int, num_classes: int) -> RequestValidationError:
    """A 422 shaped like FastAPI's own validation errors, for the one check that depends on the model."""
    message = f"label {label} is outside the model's classes: pick a label in 0..{num_classes - 1} (GET /metadata)"
    return RequestValidationError([{"type": "value_error", "loc": ("query", "label"), "msg": message, "input": label}])


def create_app(model: InferenceModel) -> FastAPI:
    """The app serving ``model``, which is loaded once, before the app starts, and shared by every request."""
    app = FastAPI(
        title="condgan",
        summary="Images of the class you ask for, from a conditional GAN.",
        description=f"Model: `{model.metadata['source_checkpoint']}` ({model.metadata['format']}).",
    )
    page = WEB_PAGE.read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def web_page() -> str:
        return page

    @app.get("/healthz", summary="Liveness and readiness: the model is loaded")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata", summary="The model: classes, latent size, image shape, training config hash")
    def metadata() -> dict[str, Any]:
        return model.metadata

    # A plain `def`: FastAPI runs it in its thread pool, so inference never blocks the event loop.
    @app.get(
        "/generate",
        summary="n images of one class, as a PNG grid or as JSON",
        responses={200: {"content": {"image/png": {}, "application/json": {}}}},
    )
    def generate(query: Annotated[GenerateQuery, Query()]) -> Response:
        if not 0 <= query.label < model.num_classes:
            raise label_error(query.label, model.num_classes)
        seed = secrets.randbelow(MAX_SEED + 1) if query.seed is None else query.seed
        images = model.images(torch.full((query.n,), query.label), seed)
        headers = {"X-Seed": str(seed)}
        if query.format == "png":
            return Response(png_grid(images, near_square_columns(query.n)), media_type="image/png", headers=headers)
        body = {
            "seed": seed,
            "labels": [query.label] * query.n,
            "class_name": model.metadata["classes"][query.label],
            "images": [base64.b64encode(png_image(image)).decode("ascii") for image in images],
        }
        return JSONResponse(body, headers=headers)

    return app
