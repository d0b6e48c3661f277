"""convcalc: shapes, parameters, MACs/FLOPs and receptive fields of PyTorch layers, without PyTorch."""

from .api import analyze, chain_graph, explain
from .errors import (ConvcalcError, ExpressionError, IncompatibleInputError, LayerConfigError,
                     Location, ShapeError)
from .layers import build_layer
from .parsing import parse_shape

__version__ = "0.1.0"

__all__ = ["ConvcalcError", "ExpressionError", "IncompatibleInputError", "LayerConfigError",
           "Location", "ShapeError", "analyze", "build_layer", "chain_graph", "explain",
           "parse_shape", "__version__"]
