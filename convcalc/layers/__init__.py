"""Layer semantics: one frozen record per PyTorch layer family.

`build_layer("Conv2d(3, 64, 3)")` parses and validates an expression; a `Layer`
knows its output shape, its parameters and its receptive-field step.
"""

from __future__ import annotations

from ..parsing.expr import LayerCall, parse_call
from .base import Layer, Shape
from .registry import Built, build, layer_names


def build_layer(text: str | LayerCall, source: str = "<expr>") -> Layer:
    """A layer from an expression such as `Conv2d(3, 64, 3, stride=2)`."""
    call = text if isinstance(text, LayerCall) else parse_call(text, source)
    return build(call).layer


__all__ = ["Built", "Layer", "LayerCall", "Shape", "build", "build_layer", "layer_names"]
