"""``<model>.json``, the metadata beside an exported generator: its schema (declared once, here), where it
lives, how it is read.

The file comes with a model someone sent you, so it is data, never instructions: known keys, plain JSON
types, values checked against each other. Nothing in it picks code (the loader follows the model file's
extension); a file that does not fit is refused with one line naming the key.
"""

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

MAX_BYTES = 1_000_000  # an honest sidecar is ~1 kB (more with many class names): no reason to read gigabytes
REEXPORT = "export again with `condgan export ckpt_path=<checkpoint> format=onnx` (or format=safetensors)"

Count = Annotated[int, Field(ge=1, le=1_000_000)]
Dim = int | Literal["batch"]  # a tensor axis: a size, or the dynamic batch axis
Text = Annotated[str, StringConstraints(max_length=4096)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Sidecar(BaseModel):
    """What a generator file is: classes, shapes, format and the training config's hash, as plain JSON types.

    ``condgan.inference.metadata.generator_metadata`` fills it; ``GET /metadata`` serves it. A safetensors file
    holds weights only, so its sidecar also carries the network's ``config`` (the training config, plain values,
    checked against the allow-list of ``condgan.checkpoints.allow_list`` before anything is built from it).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    classes: list[Annotated[str, StringConstraints(max_length=200)]]
    num_classes: Count
    latent_dim: Count
    image_shape: Annotated[list[Count], Field(min_length=3, max_length=3)]  # (C, H, W)
    inputs: dict[Literal["noise", "labels"], list[Dim]]
    outputs: dict[Literal["images"], list[Dim]]
    output_range: Annotated[list[float], Field(min_length=2, max_length=2)]
    config_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    source_checkpoint: Text
    format: Literal["onnx", "safetensors", "checkpoint"]
    torch_version: Annotated[str, StringConstraints(max_length=100)]
    config: dict[str, Any] | None = None  # safetensors only: the training config the network is rebuilt from
    # Labels that stand for several conditions at once (emoji_styles: group and style): {condition: its values},
    # label = mixed-radix number of the values' indices, the first condition most significant.
    conditions: dict[Name, list[Name]] | None = None

    @model_validator(mode="after")
    def consistent(self) -> "Sidecar":
        if (self.config is None) == (self.format == "safetensors"):
            raise ValueError(f"config is required for safetensors files and only for them (format={self.format})")
        if len(self.classes) != self.num_classes:
            raise ValueError(f"{len(self.classes)} class names for num_classes={self.num_classes}")
        if self.conditions is not None and math.prod(map(len, self.conditions.values())) != self.num_classes:
            sizes = " × ".join(str(len(values)) for values in self.conditions.values())
            raise ValueError(f"conditions of {sizes} values do not make num_classes={self.num_classes} labels")
        if self.image_shape[0] not in (1, 3):
            raise ValueError(f"image_shape {self.image_shape} has {self.image_shape[0]} channels, not 1 or 3")
        expected_inputs = {"noise": ["batch", self.latent_dim], "labels": ["batch"]}
        if self.inputs != expected_inputs:
            raise ValueError(f"inputs {self.inputs} are not {expected_inputs}")
        if self.outputs != {"images": ["batch", *self.image_shape]}:
            raise ValueError(f"outputs {self.outputs} are not images of shape ['batch', *{self.image_shape}]")
        return self


def metadata_path(model_path: str | Path) -> Path:
    """``<file>.json`` beside an exported generator file."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".json")


def validate(metadata: dict[str, Any], source: str | Path) -> dict[str, Any]:
    """``metadata`` as plain JSON values, or ValueError naming the first key that does not fit the schema."""
    try:
        return Sidecar.model_validate(metadata).model_dump()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the file"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise ValueError(f"invalid metadata in {source}: {where}: {first['msg']}{more}; {REEXPORT}") from None


def read_sidecar(model_path: Path) -> dict[str, Any]:
    """The validated ``<file>.json`` of an exported model; FileNotFoundError or ValueError say what to do."""
    json_path = metadata_path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(
            f"{model_path} not found: export one with `condgan export ckpt_path=<checkpoint> format=onnx`"
        )
    if not json_path.is_file():
        raise FileNotFoundError(
            f"{json_path} not found: an exported model needs the metadata that condgan export writes beside it; "
            + REEXPORT
        )
    if (size := json_path.stat().st_size) > MAX_BYTES:
        raise ValueError(f"invalid metadata in {json_path}: {size} bytes, more than {MAX_BYTES}; {REEXPORT}")
    try:
        metadata = json.loads(json_path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"invalid metadata in {json_path}: not JSON ({error}); {REEXPORT}") from None
    if not isinstance(metadata, dict):
        kind = type(metadata).__name__
        raise ValueError(f"invalid metadata in {json_path}: a JSON {kind}, not an object; {REEXPORT}")
    return validate(metadata, json_path)
