"""Text to structures: layer expressions and input shapes. Knows nothing of layers."""

from .expr import Arg, LayerCall, flatten_calls, parse_call, split_chain
from .files import read_layer_file, read_text_file
from .pasted import Pasted, read_pasted
from .shapes import parse_shape

__all__ = ["Arg", "LayerCall", "Pasted", "flatten_calls", "parse_call", "parse_shape", "read_layer_file",
           "read_pasted", "read_text_file", "split_chain"]
