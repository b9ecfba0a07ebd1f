"""The one exception the cost model raises for bad input: a model, a shape or a profile it cannot use."""
from __future__ import annotations


class CostModelError(ValueError):
    """Unusable input, with a message that names the file, node, input or dim at fault.

    A ValueError so callers that already catch bad-input errors need nothing new.
    """
