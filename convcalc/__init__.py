"""convcalc: shapes, parameters, MACs/FLOPs and receptive fields of PyTorch layers, without PyTorch."""

from .api import analyze, chain_graph
from .errors import (ConvcalcError, ExpressionError, IncompatibleInputError, LayerConfigError,
                     Location, ShapeError)
from .layers import build_layer
from .parsing import parse_shape

__version__ = "0.1.0"

__all__ = ["ConvcalcError", "ExpressionError", "IncompatibleInputError", "LayerConfigError",
           "Location", "ShapeError", "analyze", "build_layer", "chain_graph", "explain",
           "parse_shape", "__version__"]


def explain(layers, input_shape):
    """Step-by-step arithmetic for a layer (or a chain): a list of LayerExplanation, one per layer."""
    from .explanation import explain_layer
    return explain_layer(layers, input_shape)
