"""Where numeric kernels are registered: one per layer family, keyed by class.

A kernel is `kernel(layer, inputs: list[ndarray], params: dict[str, ndarray]) -> ndarray`
plus the multiply-accumulates it performed, counted from the operands of its products
(never from the analytic formula), so `verify` can hold the two against each other.
"""

from __future__ import annotations

from typing import Callable, Iterable

from ..classtable import ClassTable

KERNELS = ClassTable("numeric kernel")

#: decorator: `@kernel(ConvNd)` registers the executor of that family
kernel: Callable[..., Callable] = KERNELS.register


def missing(families: Iterable[type] | None = None) -> list[str]:
    """Concrete registered families that have no kernel yet."""
    if families is None:
        from ..layers.registry import families as registered
        families = [f for f in registered() if not f.wrapper]
    return KERNELS.missing(families)
