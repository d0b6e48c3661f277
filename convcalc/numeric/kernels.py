"""Where numeric kernels are registered: one per layer family, keyed by class.

A kernel computes one analysed row on real arrays:

    @kernel(ConvNd)
    def conv(layer, inputs: list[ndarray], params: dict[str, ndarray], ctx: Context) -> ndarray

Every product it computes goes through `ctx.matmul` / `ctx.einsum`, which count the
multiply-accumulates from the operands' shapes, so `verify` holds what the executor
really did against the analytic `macs` (never by calling the analytic formula).

Kernel modules are `convcalc/numeric/ops_*.py`; `load_all()` imports them.
A family's learnable parameters and buffers are declared beside its kernel:

    @parameters(ConvNd)
    def conv_params(layer) -> dict[str, tuple[int, ...]]   # {"weight": (...), "bias": (...)}

with PyTorch's names and shapes (weight C_out × C_in/groups × kernel, bias, running_mean…).
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

from ..classtable import ClassTable

KERNELS = ClassTable("numeric kernel")
PARAMETERS = ClassTable("parameter layout")

#: decorator: `@kernel(ConvNd)` registers the executor of that family
kernel: Callable[..., Callable] = KERNELS.register
#: decorator: `@parameters(ConvNd)` registers the names and shapes of its arrays
parameters: Callable[..., Callable] = PARAMETERS.register


class Context:
    """What a kernel may use besides its inputs: MAC counting, and the memory budget for
    the scratch arrays it makes (windows, im2col buffers), so it can process in chunks."""

    def __init__(self, chunk_bytes: int = 64 << 20):
        self.macs = 0
        #: the largest scratch array a kernel should make at once; split the work above it
        self.chunk_bytes = chunk_bytes

    def matmul(self, a, b):
        """numpy.matmul(a, b), counting (batch dims) × m × k × n multiply-accumulates."""
        import numpy as np
        out = np.matmul(a, b)
        k = a.shape[-1] if a.ndim > 1 else a.shape[0]
        self.macs += (out.size * k) if out.ndim else k
        return out

    def einsum(self, spec: str, *operands, optimize: bool = True):
        """numpy.einsum(spec, ...), counting one MAC per (output element × summed index);
        `optimize=False` keeps numpy from copying operands into a BLAS layout (a short
        summed axis, e.g. bilinear sampling's 4 corners, is faster and smaller in place)."""
        import numpy as np
        out = np.einsum(spec, *operands, optimize=optimize)
        self.macs += _einsum_macs(spec, operands)
        return out


def _einsum_macs(spec: str, operands) -> int:
    """Output elements × the product of the contracted dimensions, read off the operands."""
    inputs, _, output = spec.replace(" ", "").partition("->")
    sizes: dict[str, int] = {}
    for labels, array in zip(inputs.split(","), operands):
        for label, size in zip(labels, array.shape):
            sizes[label] = size
    kept = math.prod(sizes[c] for c in output)
    summed = math.prod(size for c, size in sizes.items() if c not in output)
    return kept * summed if len(operands) > 1 else 0


def load_all() -> None:
    """Import every kernel module (`convcalc/numeric/ops_*.py`), which registers its kernels:
    a new module is found without a list to keep in step."""
    import importlib
    import pkgutil

    from . import __path__ as here, __name__ as package
    for info in pkgutil.iter_modules(here):
        if info.name.startswith("ops_"):
            importlib.import_module(f"{package}.{info.name}")


def missing(families: Iterable[type] | None = None) -> list[str]:
    """Concrete registered families that have no kernel yet (after loading them all)."""
    load_all()
    if families is None:
        from ..layers.registry import families as registered
        families = [f for f in registered() if not f.wrapper]
    return KERNELS.missing(families)
