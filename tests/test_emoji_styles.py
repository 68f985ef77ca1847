"""Two conditions in one label: dataset emoji_styles (group × style), its metrics per condition, and a model of it
exported, generated from and served (the page's pickers are in test_page.py). The data are the tiny npm sets of
test_emoji_sets.py; the model is an untrained narrow DCGAN."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from condgan.checkpoints.sidecar import validate
from condgan.conditions import condition_index
from condgan.data import emoji, emoji_npm
from condgan.data.datasets import class_names, conditions, load_named_split
from condgan.data.image_folder import ImageFolderDataModule
from condgan.data.sources import DatasetUnavailableError
from condgan.inference.noise import labels_per_row
from condgan.inference.runtime import load_inference_model
from condgan.inference.sample_files import generate
from condgan.metrics.features import Embedded
from condgan.metrics.measure import condition_accuracies, per_condition
from condgan.serve.app import create_app
from tests.test_emoji_sets import fake_sets  # noqa: F401  (a fixture)

STYLES = {"group": emoji.CLASS_NAMES, "style": emoji.STYLES}


def test_a_label_is_group_times_styles_plus_style_and_both_styles_of_an_emoji_share_a_split(fake_sets, tmp_path):  # noqa: F811
    emoji.ensure_emoji(tmp_path / "emoji", tarballs=fake_sets)
    assert class_names("emoji_styles")[:3] == ("activities/noto", "activities/twemoji", "animals_nature/noto")
    assert conditions("emoji_styles") == STYLES and conditions("emoji") is None
    for split in ("train", "test"):
        images, labels = load_named_split("emoji_styles", tmp_path, split)
        by_group, groups, styles = (
            load_named_split("emoji", tmp_path, split),
            *emoji.read_emoji_split(tmp_path / "emoji", split)[1:],
        )
        assert images.shape[1:] == (3, 64, 64) and torch.equal(images, by_group[0])  # the same images, in one order
        assert torch.equal(labels, groups * 2 + styles)
        assert torch.equal(labels[styles == 0] + 1, labels[styles == 1])  # every emoji in both styles
    small, _ = load_named_split("emoji_styles", tmp_path, "test", image_size=32)
    assert small.shape[1:] == (3, 32, 32)


def test_the_datamodule_trains_on_18_labels(fake_sets, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv(emoji_npm.TARBALLS_ENV, str(fake_sets))
    dm = ImageFolderDataModule(str(tmp_path), dataset="emoji_styles", num_classes=18, val_size=3, batch_size=8)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.num_classes == 18 and dm.class_names[-1] == "travel_places/twemoji"
    assert len(dm.train_set) + len(dm.val_set) == 54 and int(dm.train_set.labels.max()) < 18


def test_a_build_without_a_style_is_refused_in_one_line(tmp_path):
    for name in ("noto-1f600", "noto-1f601"):  # a font-only build: noto alone
        (tmp_path / "emoji" / "test" / "smileys_emotion").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 64), "white").save(tmp_path / "emoji" / "test" / "smileys_emotion" / f"{name}.png")
    with pytest.raises(DatasetUnavailableError) as error:
        emoji.read_styled_split(tmp_path / "emoji", "test")
    message = str(error.value)
    assert "\n" not in message and "holds no twemoji images" in message and "npm pack" in message
    assert "datamodule=emoji" in message  # the group-only dataset still trains


def embedded(labels: list[int], predicted: list[int], features: torch.Tensor | None = None) -> Embedded:
    n = len(labels)
    features = torch.randn(n, 4, generator=torch.Generator().manual_seed(n)) if features is None else features
    return Embedded(features, torch.tensor(predicted), torch.tensor(labels))


def test_each_condition_is_scored_on_its_own():
    assert condition_index(torch.tensor([0, 1, 2, 3, 17]), STYLES, "group").tolist() == [0, 0, 1, 1, 8]
    assert condition_index(torch.tensor([0, 1, 2, 3, 17]), STYLES, "style").tolist() == [0, 1, 0, 1, 1]
    # right group wrong style, wrong group right style, both right, both wrong
    sample = embedded([4, 4, 4, 4], [5, 6, 4, 9])
    assert condition_accuracies(sample, STYLES) == {"group_acc": 0.5, "style_acc": 0.5}
    assert condition_accuracies(sample, None) == {}


def test_the_per_condition_table_compares_like_with_like():
    # style 0 images sit around 0, style 1 around 10; the generated style-1 images sit at 20: far only there
    real_features = torch.cat([torch.randn(40, 4), torch.randn(40, 4) + 10])
    real = embedded([0] * 40 + [1] * 40, [0] * 40 + [1] * 40, real_features)
    fake_features = torch.cat([torch.randn(40, 4), torch.randn(40, 4) + 20])
    fake = embedded([0] * 40 + [1] * 40, [0] * 40 + [0] * 40, fake_features)
    table = per_condition(fake, real, STYLES)
    assert set(table["style"]) == {"noto", "twemoji"} and set(table["group"]) == {
        "activities"
    }  # no other group's images
    noto, twemoji = table["style"]["noto"], table["style"]["twemoji"]
    assert noto["fid"] < 5 < 100 < twemoji["fid"] and noto["n_images"] == twemoji["n_images"] == 40
    assert noto["style_acc"] == 1.0 and twemoji["style_acc"] == 0.0 and twemoji["group_acc"] == 1.0
    assert twemoji["recall"] == 0.0 and noto["recall"] > 0.5


def test_the_sidecar_says_how_labels_split_into_conditions():
    base = json.loads((Path(__file__).parents[1] / "src/condgan/pretrained/mnist_dcgan.onnx.json").read_text())
    assert "conditions" not in base and validate(base, "old.json")["conditions"] is None  # older files still load
    with pytest.raises(ValueError, match=r"conditions of 3 × 2 values do not make num_classes=10 labels"):
        validate({**base, "conditions": {"digit": list("abc"), "ink": ["a", "b"]}}, "bad.json")
    assert validate({**base, "conditions": {"digit": list("abcde"), "ink": ["a", "b"]}}, "ok.json")["conditions"]


@pytest.mark.parametrize(
    "labels, per_row",
    [([0, 1, 2, 3], 2), ([1, 3, 5], 1), ([2, 3], 2), ([0, 1, 3], 1), (list(range(18)), 2)],
)
def test_a_grid_row_holds_one_groups_styles(labels, per_row):
    assert labels_per_row(np.array(labels), STYLES) == per_row
    assert labels_per_row(np.array(labels), None) == 1


def test_an_export_carries_the_conditions_and_the_grid_puts_a_groups_styles_in_one_row(styled_onnx, tmp_path):
    model = load_inference_model(styled_onnx)
    assert model.conditions == {name: list(values) for name, values in STYLES.items()}
    assert model.metadata["classes"][3] == "animals_nature/twemoji"
    out = generate(styled_onnx, tmp_path / "all.png", n_per_class=3)
    with Image.open(out) as grid:  # 9 rows (groups) of 2 styles × 3 images, 28 px + 2 px padding
        assert grid.size == (6 * 30 + 2, 9 * 30 + 2)
    arrays = np.load(generate(styled_onnx, tmp_path / "all.npz", n_per_class=3))
    assert arrays["labels"].tolist() == np.arange(18).repeat(3).tolist()


def test_the_server_draws_some_classes_of_a_grid(styled_onnx):
    client = TestClient(create_app(load_inference_model(styled_onnx)))
    assert client.get("/metadata").json()["conditions"]["style"] == ["noto", "twemoji"]
    response = client.get("/grid?n=2&labels=6,7,10,11&seed=3")  # food_drink and objects, both styles
    assert response.status_code == 200, response.text
    with Image.open(io.BytesIO(response.content)) as grid:
        assert grid.size == (4 * 30 + 2, 2 * 30 + 2)
        top_left = np.asarray(grid)[2:30, 2:30]
    whole = client.get("/grid?n=2&seed=3")
    with Image.open(io.BytesIO(whole.content)) as grid:
        assert grid.size == (4 * 30 + 2, 9 * 30 + 2)
        assert np.array_equal(np.asarray(grid)[3 * 30 + 2 : 4 * 30, 2:30], top_left)  # row 3 is food_drink
    response = client.get("/grid?n=2&labels=1,3,5&seed=3")  # one style of three groups: a class a row
    with Image.open(io.BytesIO(response.content)) as grid:
        assert grid.size == (2 * 30 + 2, 3 * 30 + 2)


@pytest.mark.parametrize(
    "labels, message",
    [
        ("6,18", "label 18 is outside the model's classes: pick a label in 0..17"),
        ("6,6", "labels lists a class twice"),
        ("6, 7", "labels must be label numbers separated by commas"),
        ("6,,7", "labels must be label numbers separated by commas"),
        ("-1", "labels must be label numbers separated by commas"),
    ],
)
def test_a_bad_label_list_is_refused_in_one_line(styled_onnx, labels, message):
    client = TestClient(create_app(load_inference_model(styled_onnx)))
    response = client.get("/grid", params={"labels": labels})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "labels"] and message in error["msg"]


def test_the_readme_grid_of_real_images_is_laid_out_as_the_generated_one(fake_sets, tmp_path):  # noqa: F811
    from bench.emoji_grids import real_grid
    from bench.quality import condition_cells

    emoji.ensure_emoji(tmp_path / "emoji", tarballs=fake_sets)
    images, labels = load_named_split("emoji_styles", tmp_path, "test")
    grid = real_grid(tmp_path, per_class=1)  # the tiny build's test split: one emoji of each of 3 groups
    assert grid.shape == (3, 3 * 66 + 2, 2 * 66 + 2)  # a row per group, its two styles side by side
    first = labels.tolist().index(int(labels.min()) + 1)  # the first group's twemoji, right of its noto one
    assert np.array_equal(grid[:, 2:66, 68:132], images[first].numpy())
    with pytest.raises(ValueError, match="fewer than 2 test images"):
        real_grid(tmp_path, per_class=2)
    model = {"fid": 1.0, "label_acc": 0.5, "group_acc": 0.75, "style_acc": 0.875}
    assert condition_cells(model, model) == "group 75.0% (75.0%), style 87.5% (87.5%)"
    assert condition_cells({"label_acc": 0.5}, {"label_acc": 0.5}) == "–"


def test_eval_of_a_two_condition_model_adds_a_table_per_group_and_per_style(fake_sets, tmp_path, monkeypatch):  # noqa: F811
    from condgan.metrics.evaluate import evaluate
    from tests.helpers import write_untrained_checkpoint

    monkeypatch.setattr(emoji, "TEST_SIZE", 0.5)  # 5 test emoji a group: enough for k-NN radii per group
    emoji.ensure_emoji(tmp_path / "data" / "emoji", tarballs=fake_sets)
    overrides = ("datamodule=emoji_styles", "model=dcgan", "model.generator.base_channels=8")
    checkpoint = write_untrained_checkpoint(tmp_path / "run", *overrides)
    report = evaluate(checkpoint, tmp_path / "data", n_per_class=3)
    assert {"group_acc", "style_acc"} <= set(report["model"]) and {"group_acc", "style_acc"} <= set(report["floor"])
    groups = report["per_condition"]["model"]["group"]
    assert set(groups) == {"animals_nature", "flags", "smileys_emotion"}  # the groups the tiny test split holds
    assert groups["flags"]["n_images"] == 2 * 3 and set(report["per_condition"]["floor"]["style"]) == {
        "noto",
        "twemoji",
    }
    written = json.loads((checkpoint.parent / "metrics.json").read_text())
    assert written["per_condition"] == report["per_condition"]
    markdown = (checkpoint.parent / "metrics.md").read_text()
    assert "| group accuracy |" in markdown and "Per style (model, real-data floor in brackets):" in markdown
    assert "| twemoji |" in markdown and "| flags |" in markdown


def test_intra_class_fid_leaves_out_classes_the_test_split_holds_one_image_of():
    from condgan.metrics.measure import intra_class_fid

    sample = embedded([0] * 5 + [1] * 5, [0] * 10)
    reference = embedded([0] * 5 + [1], [0] * 6)
    assert intra_class_fid(sample, reference) == intra_class_fid(sample.subset(sample.labels == 0), reference)
    assert np.isnan(intra_class_fid(sample, embedded([0, 1], [0, 1])))  # no class with two: no distance at all
