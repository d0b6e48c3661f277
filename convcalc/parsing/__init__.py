"""Text to structures: layer expressions and input shapes. Knows nothing of layers."""

from .expr import Arg, LayerCall, parse_call, split_chain
from .shapes import parse_shape

__all__ = ["Arg", "LayerCall", "parse_call", "split_chain", "parse_shape"]
