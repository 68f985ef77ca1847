"""The web service: /generate for good and bad requests, the command line, and a real uvicorn process."""

import base64
import re
from collections.abc import Iterator
from importlib.metadata import entry_points

import httpx
import pytest
import torch
from fastapi.testclient import TestClient

from condgan.inference.runtime import load_inference_model
from condgan.serve.app import create_app
from condgan.serve.cli import main
from tests.helpers import decode_png
from tests.helpers.local_server import local_server

STARTUP_TIMEOUT_S = 60  # importing torch and loading the model, on a busy CI machine


@pytest.fixture(scope="module", params=["checkpoint", "onnx"])
def client(request, untrained_checkpoint) -> TestClient:
    """A client of the app serving the checkpoint (PyTorch) or its ONNX export (ONNX Runtime)."""
    path = untrained_checkpoint if request.param == "checkpoint" else request.getfixturevalue("untrained_onnx")
    return TestClient(create_app(load_inference_model(path)))


def decode(png: bytes) -> torch.Tensor:
    return decode_png(png)


@pytest.mark.parametrize("n, rows, cols", [(16, 4, 4), (5, 2, 3), (1, 1, 1)])
def test_png_is_a_near_square_grid_of_n_images(client, n, rows, cols):
    response = client.get(f"/generate?label=5&n={n}&seed=1")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    grid = decode(response.content)
    if n == 1:
        assert grid.shape == (3, 28, 28)  # make_grid returns a single image as it is
    else:
        assert grid.shape == (3, rows * 30 + 2, cols * 30 + 2)  # 28 px images, 2 px padding


def test_same_seed_same_bytes_and_a_missing_seed_is_drawn_and_echoed(client):
    first, again = (client.get("/generate?label=3&n=4&seed=7") for _ in range(2))
    assert first.content == again.content and first.headers["x-seed"] == "7"
    assert client.get("/generate?label=3&n=4&seed=8").content != first.content
    drawn = client.get("/generate?label=3&n=4")
    assert client.get(f"/generate?label=3&n=4&seed={drawn.headers['x-seed']}").content == drawn.content


def test_json_holds_n_base64_pngs_with_their_labels_and_seed(client):
    body = client.get("/generate?label=2&n=3&seed=11&format=json").json()
    assert body["seed"] == 11 and body["labels"] == [2, 2, 2] and body["class_name"] == "2"
    assert [decode(base64.b64decode(image)).shape for image in body["images"]] == [(1, 28, 28)] * 3


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("label=5&n=0", "n", "greater than or equal to 1"),
        ("label=5&n=257", "n", "less than or equal to 256"),
        ("label=10", "label", "label 10 is outside the model's classes: pick a label in 0..9"),
        ("label=-1", "label", "label -1 is outside the model's classes"),
        ("label=five", "label", "label must be a whole number written with the digits 0-9"),
        ("n=4", "label", "Field required"),
        ("label=5&seed=-1", "seed", "greater than or equal to 0"),
        ("label=5&seed=4294967296", "seed", "less than or equal to 4294967295"),
        ("label=5&format=gif", "format", "Input should be 'png' or 'json'"),
        ("label=5&lable=3", "lable", "Extra inputs are not permitted"),  # a typo is refused, not ignored
    ],
)
def test_bad_requests_are_422_naming_the_field_and_the_rule(client, query, field, message):
    response = client.get(f"/generate?{query}")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", field] and message in error["msg"]


def test_metadata_health_docs_and_web_page(client):
    metadata = client.get("/metadata").json()
    assert metadata["classes"] == [str(d) for d in range(10)] and metadata["image_shape"] == [1, 28, 28]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "/generate" in client.get("/openapi.json").json()["paths"] and client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html") and 'id="generate"' in page.text


@pytest.mark.parametrize(
    "args, message",
    [
        (["ckpt_path=x.ckpt", "prot=8000"], "unknown argument 'prot=8000': the arguments are ckpt_path=, host="),
        (["ckpt_path=x.ckpt", "port=http"], "port=http is not a whole number in 1..65535: pass e.g. port=8000"),
        (["ckpt_path=model.pt"], r"cannot load model.pt: pass a training checkpoint \(.ckpt\) or an export \(.onnx or"),
        (["ckpt_path=nowhere.ckpt"], "Checkpoint not found: nowhere.ckpt"),
        (["ckpt_path=nowhere.onnx"], "nowhere.onnx not found: export one with `condgan export"),
    ],
)
def test_bad_command_lines_exit_with_the_fix(args, message):
    with pytest.raises(SystemExit, match=message):
        main(args)


def test_an_onnx_file_without_its_metadata_is_refused(untrained_onnx, tmp_path):
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(untrained_onnx.read_bytes())
    with pytest.raises(SystemExit, match=re.escape("lone.onnx.json not found: an exported model needs the metadata")):
        main([f"ckpt_path={lone}"])


def test_the_console_scripts_are_installed():
    (command,) = entry_points(group="console_scripts", name="condgan")
    (serve,) = entry_points(group="console_scripts", name="condgan-serve")
    assert command.value == "condgan.cli:main" and serve.value == "condgan.serve:main"


@pytest.fixture(scope="module")
def live_server(untrained_checkpoint) -> Iterator[str]:
    """A real `python -m condgan.serve` process on a free loopback port; yields its base URL."""
    with local_server(untrained_checkpoint, timeout_s=STARTUP_TIMEOUT_S) as server:
        yield server.url


def test_a_real_server_answers_over_http(live_server, untrained_checkpoint):
    with httpx.Client(base_url=live_server, timeout=30) as http:
        png = http.get("/generate", params={"label": 7, "n": 9, "seed": 5})
        bad = http.get("/generate", params={"label": 7, "n": 1000})
    in_process = TestClient(create_app(load_inference_model(untrained_checkpoint))).get("/generate?label=7&n=9&seed=5")
    assert png.status_code == 200 and png.content == in_process.content
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "n"]
