"""Analysis: the graph walk, receptive-field composition and counting conventions."""

from .graph import DTYPE_BYTES, Graph, Node, walk
from .result import Analysis, LayerResult, ReceptiveField, Totals

__all__ = ["Analysis", "DTYPE_BYTES", "Graph", "LayerResult", "Node", "ReceptiveField", "Totals", "walk"]
