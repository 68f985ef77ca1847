"""Labels that stand for several conditions at once (dataset emoji_styles: group and style).

``conditions`` is ``{condition: its values}`` in order; a label is the mixed-radix number of the values'
indices, the first condition most significant: emoji_styles' label = group · 2 + style. Torch-free: serving
reads it too. Works on ints, numpy arrays and torch tensors alike.
"""

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

Labels = TypeVar("Labels")  # an int, a numpy array or a torch tensor of label numbers
Conditions = Mapping[str, Sequence[str]]


def condition_index(labels: Labels, conditions: Conditions, name: str) -> Labels:
    """The index of condition ``name``'s value in each label, e.g. ``condition_index(7, ..., "group") == 3``."""
    sizes = [len(values) for values in conditions.values()]
    position = list(conditions).index(name)
    return labels // math.prod(sizes[position + 1 :]) % sizes[position]
