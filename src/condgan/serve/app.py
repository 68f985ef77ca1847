"""The FastAPI app around one loaded generator: /generate, /grid, /walk, /metadata, /healthz, the page at /, /docs.

Torch-free: the app sees the generator as ``InferenceModel`` (numpy in, numpy out) and encodes with Pillow.
Swagger UI's files come from the installed ``fastapi-offline`` package, so /docs works without a network.
"""

import base64
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from condgan.inference.images import gif_bytes, image_grid, near_square_columns, png_bytes, row_frames
from condgan.inference.noise import MIN_TRUNCATION
from condgan.inference.runtime import InferenceModel
from condgan.serve.slots import GenerationSlots, ServerBusy

MAX_IMAGES = 256  # per request: bounds the time and memory one request can take
MAX_SEED = 2**32 - 1  # JSON numbers above 2^53 lose digits in JavaScript; 32 bits also suit every RNG API
MAX_TRUNCATION = 10.0  # beyond ~4 nothing is redrawn any more: truncation is then simply off
MAX_STEPS = 64
WEB_PAGE = files("condgan.serve").joinpath("static/index.html")
WHOLE = re.compile(r"-?[0-9]{1,20}")  # no sign +, no spaces, no 1_000, no 5.0: what a person means by a count
DECIMAL = re.compile(r"-?[0-9]{1,9}(\.[0-9]{1,9})?|-?\.[0-9]{1,9}")  # 0.7, .7, 2; no nan, inf, 1e3


def plain_number(pattern: re.Pattern, kind: str, example: str) -> Callable[[Any, ValidationInfo], Any]:
    """A check of a query string before pydantic converts it: pydantic alone takes 5.0, ' 5', +5 and 1_000."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(
                f"{info.field_name} must be {kind} written with the digits 0-9, e.g. {example}, not {value[:40]!r}"
            )
        return value

    return check


Whole = Annotated[int, BeforeValidator(plain_number(WHOLE, "a whole number", "5"))]
Decimal = Annotated[float, BeforeValidator(plain_number(DECIMAL, "a decimal number", "0.7"))]
LABEL_LIST = re.compile(r"[0-9]{1,9}(,[0-9]{1,9}){0,999}")  # 6,7: no spaces, signs or empty items
LabelList = Annotated[
    str | None,
    BeforeValidator(plain_number(LABEL_LIST, "label numbers separated by commas", "6,7")),
    Field(description="the classes to draw, e.g. 6,7 (GET /metadata names them); left out: every class"),
]
Seed = Annotated[Whole | None, Field(ge=0, le=MAX_SEED, description="same seed, same images; left out: a random one")]
SeedTo = Annotated[Whole | None, Field(ge=0, le=MAX_SEED, description="where the walk ends; left out: a random seed")]
Truncation = Annotated[
    Decimal | None,
    Field(
        ge=MIN_TRUNCATION,
        le=MAX_TRUNCATION,
        description="redraw noise values beyond ±truncation: cleaner, less varied images (0.5 to 2); left out: off",
    ),
]


class Strict(BaseModel):
    """A query that refuses parameters it does not know, so a typo (``lable=3``) is not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class GenerateQuery(Strict):
    label: Whole = Field(description="the class to draw: 0 to num_classes - 1 (GET /metadata names them)")
    n: Whole = Field(16, ge=1, le=MAX_IMAGES, description="how many images")
    seed: Seed = None
    truncation: Truncation = None
    format: Literal["png", "json"] = Field("png", description="png: one grid image; json: one base64 PNG per image")


class GridQuery(Strict):
    n: Whole = Field(8, ge=1, le=MAX_IMAGES, description="images per class (a column shares its noise)")
    labels: LabelList = None
    seed: Seed = None
    truncation: Truncation = None


class WalkQuery(Strict):
    label: Whole | None = Field(None, description="the class to walk; left out: every class, one row a step")
    seed: Seed = None
    seed_to: SeedTo = None
    steps: Whole = Field(16, ge=2, le=MAX_STEPS, description="frames, both ends included")
    truncation: Truncation = None
    format: Literal["gif", "png", "json"] = Field(
        "gif", description="gif: an animation, one frame a step; png: all steps in one grid; json: base64 PNG frames"
    )


ECHO_CHARS = 100  # of a request's own text in a 422
MESSAGE_CHARS = 400  # a 422's message, which may quote the value


def query_error(field: str, message: str, value: Any) -> RequestValidationError:
    """A 422 shaped like FastAPI's own validation errors, for the checks that depend on the model."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", field), "msg": message, "input": value}])


def clipped(value: Any, chars: int = ECHO_CHARS) -> Any:
    """A request's own text echoed back at most ``chars`` long: a 100 kB parameter gets a short answer."""
    return value if not isinstance(value, str) or len(value) <= chars else f"{value[:chars]}…"


def plain_error(error: dict[str, Any]) -> dict[str, Any]:
    """One entry of a 422's detail as FastAPI shapes it (type, loc, msg, input), in the validator's own words
    (without pydantic's "Value error, " prefix) and with what the request sent clipped."""
    return {
        "type": error["type"],
        "loc": [clipped(part) for part in error["loc"]],
        "msg": clipped(error["msg"].removeprefix("Value error, "), MESSAGE_CHARS),
        "input": clipped(error.get("input")) if isinstance(error.get("input"), str | int | float | None) else None,
    }


def single_valued(request: Request) -> None:
    """Refuse ``label=1&label=2``: FastAPI would silently keep the last value."""
    names = [name for name, _ in request.query_params.multi_items()]
    for name in dict.fromkeys(names):
        if (count := names.count(name)) > 1:
            raise query_error(name, f"{name} is given {count} times: give each parameter once", None)


def draw_seed(avoid: int | None = None) -> int:
    seed = secrets.randbelow(MAX_SEED + 1)
    return seed if seed != avoid else (seed + 1) % (MAX_SEED + 1)


def png_response(image: np.ndarray, headers: dict[str, str]) -> Response:
    return Response(png_bytes(image), media_type="image/png", headers=headers)


def base64_png(image: np.ndarray) -> str:
    return base64.b64encode(png_bytes(image)).decode("ascii")


def create_app(model: InferenceModel, max_concurrency: int = 2, max_queue: int = 16, max_wait_s: float = 10) -> FastAPI:
    """The app serving ``model``, loaded once before the app starts and shared by every request.

    At most ``max_concurrency`` generations run at once; ``max_queue`` more wait up to ``max_wait_s`` seconds;
    the rest get 503 with Retry-After (``condgan.serve.slots``).
    """
    slots = GenerationSlots(max_concurrency, max_queue, max_wait_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        slots.close()  # at shutdown: the worker threads go with the server

    app = FastAPIOffline(
        title="condgan",
        summary="Images of the class you ask for, from a conditional GAN.",
        description=f"Model: `{model.metadata['model_file']}` ({model.metadata['format']}).",
        redoc_url=None,
        lifespan=lifespan,
    )
    page = WEB_PAGE.read_text()
    classes = model.metadata["classes"]
    single = [Depends(single_valued)]

    @app.exception_handler(ServerBusy)
    def busy(request: Request, error: ServerBusy) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": str(error.retry_after_s)})

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [plain_error(e) for e in error.errors()]}, status_code=422)

    def check_label(label: int, field: str = "label") -> None:
        if not 0 <= label < model.num_classes:
            message = f"label {label} is outside the model's classes: pick a label in 0..{model.num_classes - 1}"
            raise query_error(field, f"{message} (GET /metadata)", label)

    def grid_labels(text: str) -> np.ndarray:
        labels = np.array([int(label) for label in text.split(",")], np.int64)
        for label in labels:
            check_label(int(label), "labels")
        if len(set(labels.tolist())) < len(labels):
            raise query_error("labels", "labels lists a class twice: name each class once", text)
        return labels

    def check_total(field: str, value: int, per: int, what: str) -> None:
        if value * per > MAX_IMAGES:
            most = MAX_IMAGES // per
            message = f"{field}={value} × {per} {what} = {value * per} images, more than {MAX_IMAGES}: {field} ≤ {most}"
            raise query_error(field, message, value)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def web_page() -> str:
        return page

    @app.get("/healthz", summary="Liveness and readiness: the model is loaded")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata", summary="The model: classes, latent size, image shape, training config hash, file name")
    def metadata() -> dict[str, Any]:
        return model.metadata

    responses = {200: {"content": {"image/png": {}, "image/gif": {}, "application/json": {}}}}

    @app.get(
        "/generate", summary="n images of one class, as a PNG grid or JSON", responses=responses, dependencies=single
    )
    async def generate(query: Annotated[GenerateQuery, Query()]) -> Response:
        check_label(query.label)
        seed = draw_seed() if query.seed is None else query.seed
        headers = {"X-Seed": str(seed)}

        def work() -> Response:
            images = model.images(np.full(query.n, query.label, np.int64), seed, query.truncation)
            if query.format == "png":
                return png_response(image_grid(images, near_square_columns(query.n)), headers)
            body = {
                "seed": seed,
                "labels": [query.label] * query.n,
                "class_name": classes[query.label],
                "images": [base64_png(image) for image in images],
            }
            return JSONResponse(body, headers=headers)

        return await slots.run(work)

    @app.get(
        "/grid",
        summary="Every class (or some), one row each (a group's styles share one), as a PNG",
        responses=responses,
        dependencies=single,
    )
    async def grid(query: Annotated[GridQuery, Query()]) -> Response:
        labels = np.arange(model.num_classes) if query.labels is None else grid_labels(query.labels)
        check_total("n", query.n, len(labels), "classes")
        seed = draw_seed() if query.seed is None else query.seed

        def work() -> Response:
            images = model.class_grid(query.n, seed, query.truncation, labels)
            return png_response(image_grid(images, model.grid_columns(labels, query.n)), {"X-Seed": str(seed)})

        return await slots.run(work)

    @app.get("/walk", summary="A latent walk from one seed to another", responses=responses, dependencies=single)
    async def walk(query: Annotated[WalkQuery, Query()]) -> Response:
        if query.label is not None:
            check_label(query.label)
        labels = np.arange(model.num_classes) if query.label is None else np.array([query.label])
        check_total("steps", query.steps, len(labels), "images a step")
        seed = draw_seed() if query.seed is None else query.seed
        seed_to = draw_seed(avoid=seed) if query.seed_to is None else query.seed_to
        if seed_to == seed:
            raise query_error("seed_to", f"seed_to equals seed ({seed}): a walk needs two different seeds", seed_to)
        headers = {"X-Seed": str(seed), "X-Seed-To": str(seed_to)}

        def work() -> Response:
            images = model.walk(labels, seed, seed_to, query.steps, query.truncation)
            if query.format == "png":
                return png_response(image_grid(images, len(labels)), headers)
            frames = row_frames(images, len(labels))
            if query.format == "gif":
                return Response(gif_bytes(frames), media_type="image/gif", headers=headers)
            body = {
                "seed": seed,
                "seed_to": seed_to,
                "labels": labels.tolist(),
                "frames": list(map(base64_png, frames)),
            }
            return JSONResponse(body, headers=headers)

        return await slots.run(work)

    return app
