"""The web service under odd requests and load: strict numbers, repeated parameters, /grid, /walk, truncation,
and the generation slots that turn a burst into waiting and 503s instead of memory."""

import asyncio
import base64
import io
import threading

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from condgan.inference.runtime import InferenceModel, load_inference_model
from condgan.serve.app import create_app
from condgan.serve.slots import GenerationSlots, ServerBusy


@pytest.fixture(scope="module", params=["checkpoint", "onnx"])
def model(request, untrained_checkpoint) -> InferenceModel:
    path = untrained_checkpoint if request.param == "checkpoint" else request.getfixturevalue("untrained_onnx")
    return load_inference_model(path)


@pytest.fixture(scope="module")
def client(model) -> TestClient:
    return TestClient(create_app(model))


def decode_base64(png: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(png)))


def picture(response: httpx.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


@pytest.mark.parametrize(
    "query, field",
    [
        ("label=5.0", "label"),
        ("label=5&n=16.0", "n"),
        ("label=%205", "label"),  # " 5"
        ("label=5&seed=+5", "seed"),  # "+5" in a URL is " 5"; %2B5 is the plus sign
        ("label=5&seed=%2B5", "seed"),
        ("label=5&seed=1_000", "seed"),
        ("label=5&seed=1e3", "seed"),
        ("label=%D9%A3", "label"),  # an Arabic-Indic digit 3: int() takes it, a URL should not
        ("label=5&truncation=nan", "truncation"),
        ("label=5&truncation=1e9", "truncation"),
    ],
)
def test_numbers_must_be_written_plainly(client, query, field):
    response = client.get(f"/generate?{query}")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", field] and error["msg"].startswith(f"{field} must be a")


@pytest.mark.parametrize("path", ["/generate?label=1&label=2", "/grid?seed=1&n=2&seed=3", "/walk?steps=2&steps=3"])
def test_a_repeated_parameter_is_refused_not_silently_overridden(client, path):
    response = client.get(path)
    assert response.status_code == 422
    name = path.split("?")[1].split("&")[-1].split("=")[0]
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", name] and error["msg"] == f"{name} is given 2 times: give each parameter once"


def test_truncation_changes_the_images_and_keeps_the_noise_bounded(client, model):
    plain, truncated = (client.get(f"/generate?label=3&n=4&seed=9{t}").content for t in ("", "&truncation=0.3"))
    assert plain != truncated
    assert client.get("/generate?label=3&n=4&seed=9&truncation=0.3").content == truncated  # still one seed, one set
    assert client.get("/generate?label=3&n=4&seed=9&truncation=0.001").status_code == 422  # below 0.01


def test_grid_shows_every_class_in_its_own_row(client, model):
    grid = picture(client.get("/grid?n=3&seed=4"))
    assert grid.size == (3 * 30 + 2, 10 * 30 + 2)  # 3 columns, 10 rows of 28 px images, 2 px padding
    rows = np.asarray(grid.convert("L"))
    first_row, second_row = rows[2:30, 2:92], rows[32:60, 2:92]
    assert not np.array_equal(first_row, second_row)  # another class, the same noise: not the same picture
    assert client.get("/grid?n=26").json()["detail"][0]["msg"].startswith("n=26 × 10 classes = 260 images")


def test_walk_is_an_animation_from_seed_to_seed_to(client, model):
    response = client.get("/walk?label=2&seed=1&seed_to=2&steps=5")
    gif = picture(response)
    assert gif.format == "GIF" and gif.n_frames == 5 and gif.size == (28, 28)
    assert response.headers["x-seed"] == "1" and response.headers["x-seed-to"] == "2"
    frames = client.get("/walk?label=2&seed=1&seed_to=2&steps=5&format=json").json()["frames"]
    (start,) = client.get("/generate?label=2&n=1&seed=1&format=json").json()["images"]
    first, start = (np.asarray(decode_base64(png).convert("L"), dtype=int) for png in (frames[0], start))
    assert len(frames) == 5 and np.abs(first - start).max() <= 1  # the walk starts at the seed's own image
    every_class = picture(client.get("/walk?seed=1&seed_to=2&steps=3&format=png"))
    assert every_class.size == (10 * 30 + 2, 3 * 30 + 2)  # a row of every class per step
    error = client.get("/walk?seed=3&seed_to=3").json()["detail"][0]
    assert error["loc"] == ["query", "seed_to"] and "a walk needs two different seeds" in error["msg"]


def test_a_checkpoint_and_its_onnx_export_draw_the_same_images(untrained_checkpoint, untrained_onnx):
    queries = [
        "/generate?label=4&n=8&seed=3",
        "/grid?n=4&seed=8&truncation=0.7",
        "/walk?label=1&seed=3&seed_to=4&steps=4&format=png",
    ]
    clients = [TestClient(create_app(load_inference_model(path))) for path in (untrained_checkpoint, untrained_onnx)]
    for query in queries:
        ckpt, onnx = (np.asarray(picture(c.get(query)), dtype=int) for c in clients)
        assert np.abs(ckpt - onnx).max() <= 1  # float differences of ~1e-7 may round one grey level apart


def test_metadata_and_openapi_name_the_model_file_never_its_folder(client, model, untrained_checkpoint):
    metadata = client.get("/metadata").json()
    assert metadata["model_file"] in ("last.ckpt", "generator.onnx") and metadata["source_checkpoint"] == "last.ckpt"
    for text in (client.get("/metadata").text, client.get("/openapi.json").text):
        assert str(untrained_checkpoint.parent) not in text and "/tmp" not in text


class Gate:
    """A generator that blocks until opened: makes 'a generation is running' last as long as the test wants."""

    def __init__(self, model: InferenceModel):
        self.model, self.opened, self.started = model, threading.Event(), threading.Semaphore(0)

    def __call__(self, noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        self.started.release()
        assert self.opened.wait(timeout=30)
        return self.model.generator(noise, labels)


def test_beyond_the_slots_and_the_queue_requests_get_503_with_retry_after(model):
    gate = Gate(model)
    app = create_app(InferenceModel(gate, model.metadata), max_concurrency=1, max_queue=1, max_wait_s=30)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            running = asyncio.create_task(http.get("/generate?label=1&n=2&seed=1"))
            await asyncio.to_thread(gate.started.acquire)  # the one slot is taken
            queued = asyncio.create_task(http.get("/generate?label=1&n=2&seed=2"))
            await asyncio.sleep(0.2)  # queued is waiting now
            refused = await http.get("/grid?n=1")  # the queue (1) is full: refused at once
            health = await http.get("/healthz")  # the event loop still answers while generations wait
            gate.opened.set()
            return [await running, await queued, refused, health]

    running, queued, refused, health = asyncio.run(burst())
    assert running.status_code == queued.status_code == health.status_code == 200
    assert refused.status_code == 503 and refused.headers["retry-after"] == "15"
    assert "1 generations running and 1 waiting, the most it queues (max_queue=1)" in refused.json()["detail"]


def test_a_request_that_waits_past_max_wait_s_gets_503():
    slots = GenerationSlots(slots=1, queue=4, wait_s=0.2)
    release = threading.Event()

    async def scenario() -> BaseException | None:
        running = asyncio.create_task(slots.run(lambda: release.wait(10)))
        await asyncio.sleep(0.05)
        try:
            await slots.run(lambda: None)
        except ServerBusy as busy:
            return busy
        finally:
            release.set()
            await running
        return None

    busy = asyncio.run(scenario())
    assert isinstance(busy, ServerBusy) and "no generation slot came free within max_wait_s=0.2 s" in str(busy)
    assert busy.retry_after_s == 1 and slots.waiting == 0
    slots.close()


def test_slots_run_at_most_max_concurrency_generations_at_once():
    slots, lock, running, most = GenerationSlots(slots=2, queue=100, wait_s=30), threading.Lock(), [0], [0]

    def work() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.02)
        with lock:
            running[0] -= 1

    async def many() -> None:
        await asyncio.gather(*(slots.run(work) for _ in range(20)))

    asyncio.run(many())
    slots.close()
    assert most[0] == 2


def test_a_422_names_the_rule_in_its_own_words_and_echoes_little(client):
    huge = "x" * 60_000  # near the longest URL httpx sends
    for query in (f"label=5&{huge}=1", f"label={huge}"):
        response = client.get(f"/generate?{query}")
        assert response.status_code == 422 and len(response.content) < 2_000  # not the 100 kB back
        (error,) = response.json()["detail"]
        assert not error["msg"].startswith("Value error") and all(len(str(p)) <= 101 for p in error["loc"])
