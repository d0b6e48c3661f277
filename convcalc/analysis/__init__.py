"""Analysis: the graph walk, receptive-field composition, counting conventions and explain."""

from ..dtypes import DTYPE_BYTES
from .graph import Graph, Node, walk
from .result import Analysis, LayerResult, ReceptiveField, Totals

__all__ = ["Analysis", "DTYPE_BYTES", "Graph", "LayerResult", "Node", "ReceptiveField", "Totals", "walk"]
