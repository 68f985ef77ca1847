"""The demo page and /docs in headless Chromium, offline, against a real server of an ONNX export (no torch)."""

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.helpers.local_server import local_server

STARTUP_TIMEOUT_S = 60
PIXELS = """const img = arguments[0], canvas = document.createElement("canvas");
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
canvas.getContext("2d").drawImage(img, 0, 0);
return canvas.toDataURL();"""


@pytest.fixture(scope="module")
def server_url(untrained_onnx) -> Iterator[str]:
    with local_server(untrained_onnx, timeout_s=STARTUP_TIMEOUT_S) as server:
        yield server.url


def wait(driver, condition, timeout_s: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s).until(lambda d: condition(d))


def picture(driver, previous: str | None = None) -> tuple[str, str]:
    """(API URL, pixels as a data URL) of the picture shown, once it has loaded and differs from ``previous``."""

    def loaded(d) -> tuple[str, str] | None:
        view = d.find_element("id", "view")
        if view.get_attribute("hidden") is not None or not d.execute_script("return arguments[0].complete", view):
            return None
        url = view.get_attribute("data-url")
        return (url, d.execute_script(PIXELS, view)) if url and url != previous else None

    return wait(driver, loaded)


def test_page_shows_every_class_then_redraws_for_class_seed_and_truncation(chromium, server_url, untrained_onnx):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    metadata = json.loads(untrained_onnx.with_name("generator.onnx.json").read_text())
    chromium.get(server_url)
    url, pixels = picture(chromium)
    assert url.startswith("/grid?n=8&seed=")  # on load: every class, 8 each
    size = chromium.execute_script(
        "const v = arguments[0]; return [v.naturalWidth, v.naturalHeight]", chromium.find_element("id", "view")
    )
    assert size == [8 * 30 + 2, 10 * 30 + 2]
    model = chromium.find_element("id", "model").text
    assert model == f"generator.onnx · 10 classes · 1×28×28 images · config {metadata['config_sha256'][:12]}"
    rendering = chromium.execute_script(
        "return getComputedStyle(arguments[0]).imageRendering", chromium.find_element("id", "view")
    )
    assert rendering in ("pixelated", "crisp-edges")
    seen = {pixels}

    Select(chromium.find_element("id", "label")).select_by_value("3")  # a class
    url, pixels = picture(chromium, url)
    assert url.startswith("/generate?label=3&n=8&seed=") and pixels not in seen
    seen.add(pixels)

    seed = chromium.find_element("id", "seed")  # a seed typed by hand
    seed.clear()
    seed.send_keys("12345", Keys.ENTER)
    url, pixels = picture(chromium, url)
    assert url == "/generate?label=3&n=8&seed=12345" and pixels not in seen
    seen.add(pixels)

    chromium.find_element("id", "truncate").send_keys(Keys.SPACE)  # truncation on, from the keyboard
    url, pixels = picture(chromium, url)
    assert url == "/generate?label=3&n=8&seed=12345&truncation=1" and pixels not in seen
    seen.add(pixels)
    chromium.find_element("id", "truncation").send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    url, pixels = wait(chromium, lambda d: (found := picture(d, url)) and "truncation=0.7" in found[0] and found)
    assert pixels not in seen
    seen.add(pixels)

    chromium.find_element("tag name", "body").send_keys("n")  # N: a new seed
    url, pixels = picture(chromium, url)
    assert "seed=12345" not in url and pixels not in seen
    download = chromium.find_element("id", "download")
    assert download.get_attribute("href").endswith(url) and download.get_attribute("download").endswith(".png")


def test_the_latent_walk_plays_and_offers_its_gif(chromium, server_url):
    from selenium.webdriver.support.ui import Select

    chromium.get(server_url)
    url, _ = picture(chromium)
    Select(chromium.find_element("id", "label")).select_by_value("5")
    url, _ = picture(chromium, url)
    chromium.find_element("id", "walk").click()
    view = chromium.find_element("id", "view")
    frames, sources, deadline = set(), set(), time.monotonic() + 20
    while len(frames - {None}) < 5 and time.monotonic() < deadline:
        frames.add(view.get_attribute("data-frame"))
        sources.add(view.get_attribute("src"))
        time.sleep(0.05)
    assert len(frames - {None}) >= 5 and len(sources) >= 5  # frames follow each other: it moves
    assert chromium.find_element("id", "walk").text == "Stop walk"
    assert "/walk?label=5&" in view.get_attribute("data-url") and "steps=16" in view.get_attribute("data-url")
    assert chromium.find_element("id", "download").get_attribute("href").endswith("&format=gif")
    chromium.find_element("id", "walk").click()
    assert chromium.find_element("id", "walk").text == "Play walk"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("seed", "2.5", "Error 422: seed: seed must be a whole number written with the digits 0-9"),
        ("seed", "99999999999", "Error 422: seed: Input should be less than or equal to 4294967295"),
        ("n", "30", "Error 422: n: n=30 × 10 classes = 300 images, more than 256: n ≤ 25"),
    ],
)
def test_bad_input_shows_the_servers_message(chromium, server_url, field, value, message):
    from selenium.webdriver.common.keys import Keys

    chromium.get(server_url)
    picture(chromium)
    box = chromium.find_element("id", field)
    box.clear()
    box.send_keys(value, Keys.ENTER)
    status = chromium.find_element("id", "status")
    wait(chromium, lambda d: status.get_attribute("class") == "error")
    assert status.text.startswith(message)


def test_api_docs_render_offline(chromium, server_url):
    chromium.get(f"{server_url}/docs")
    title = wait(chromium, lambda d: d.find_elements("css selector", ".swagger-ui .info .title"))[0]
    assert title.text.startswith("condgan")
    paths = wait(chromium, lambda d: [e.text for e in d.find_elements("css selector", ".opblock-summary-path")])
    assert {"/generate", "/grid", "/walk", "/healthz", "/metadata"} <= set(paths)


def test_an_error_replaces_the_picture_and_its_caption(chromium, server_url):
    from selenium.webdriver.common.keys import Keys

    chromium.get(server_url)
    picture(chromium)
    box = chromium.find_element("id", "n")
    box.clear()
    box.send_keys("300", Keys.ENTER)
    wait(chromium, lambda d: d.find_element("id", "status").get_attribute("class") == "error")
    assert chromium.find_element("id", "view").get_attribute("hidden") is not None
    assert chromium.find_element("id", "caption").text == ""
    assert not chromium.find_element("id", "download").is_displayed()


def test_a_walk_with_the_server_gone_says_so(chromium, untrained_onnx):
    with local_server(untrained_onnx, timeout_s=STARTUP_TIMEOUT_S) as server:
        chromium.get(server.url)
        picture(chromium)
    chromium.find_element("id", "walk").click()  # the server has stopped
    status = chromium.find_element("id", "status")
    wait(chromium, lambda d: status.get_attribute("class") == "error")
    assert status.text.startswith("Error (no answer): the server did not answer")
    assert chromium.find_element("id", "walk").text == "Play walk"


def test_a_grid_of_16_leaves_download_and_model_in_view_at_1280_by_900(chromium, server_url):
    from selenium.webdriver.common.keys import Keys

    chromium.set_window_size(1280, 900)
    chromium.get(server_url)
    url, _ = picture(chromium)
    box = chromium.find_element("id", "n")
    box.clear()
    box.send_keys("16", Keys.ENTER)
    picture(chromium, url)
    bottom = chromium.execute_script("return document.getElementById('download').getBoundingClientRect().bottom")
    assert bottom <= chromium.execute_script("return window.innerHeight")
    assert chromium.find_element("id", "about").is_displayed()
    icon = chromium.execute_script("return document.querySelector('link[rel=icon]').href")
    assert icon.startswith("data:image/svg+xml")  # no request for /favicon.ico, so no 404


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_a_model_of_two_conditions_gets_a_picker_for_each(chromium, styled_onnx):
    from selenium.webdriver.support.ui import Select

    with local_server(styled_onnx, timeout_s=STARTUP_TIMEOUT_S) as server:
        chromium.get(server.url)
        url, _ = picture(chromium)
        assert url.startswith("/grid?n=8&seed=")  # every group and style: a row a group, its styles side by side
        assert not chromium.find_element("id", "class-picker").is_displayed()
        rows = [item.text for item in chromium.find_elements("css selector", "#rows li")]
        assert rows[:2] == ["activities", "animals_nature"] and len(rows) == 9
        group, style = (Select(chromium.find_element("id", f"condition-{name}")) for name in ("group", "style"))
        assert [o.text for o in style.options] == ["All (2)", "noto", "twemoji"] and len(group.options) == 10

        style.select_by_visible_text("twemoji")  # one style of every group: 9 classes
        url, _ = picture(chromium, url)
        assert url.startswith("/grid?") and query(url)["labels"] == "1,3,5,7,9,11,13,15,17"
        assert len(chromium.find_elements("css selector", "#rows li")) == 9

        group.select_by_visible_text("food_drink")  # both chosen: one class, label 3·2 + 1
        url, _ = picture(chromium, url)
        assert url.startswith("/generate?label=7&n=8&seed=")
        assert chromium.find_element("id", "caption").text.startswith("8 × food_drink/twemoji")

        style.select_by_visible_text("All (2)")  # one group in both styles: one row
        url, _ = picture(chromium, url)
        assert url.startswith("/grid?") and query(url)["labels"] == "6,7"
        assert [item.text for item in chromium.find_elements("css selector", "#rows li")] == ["food_drink"]
