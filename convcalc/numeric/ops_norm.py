"""BatchNormNd in eval mode.

With running statistics PyTorch's CPU kernel folds everything into one multiply-add
per element: alpha = weight / sqrt(running_var + eps), beta = bias - running_mean *
alpha, y = x * alpha + beta.  Without them (track_running_stats=False) eval() still
normalises with the batch's own statistics (mean and biased variance over every axis
but the channels), folded the same way.
"""

from __future__ import annotations

import numpy as np

from ..layers.norm import BatchNormNd, InstanceNormNd
from .kernel_support import accept, compute_dtype, flat_blocks, parameter
from .kernels import kernel, parameters


@parameters(BatchNormNd, InstanceNormNd)
def batch_norm_params(layer: BatchNormNd | InstanceNormNd) -> dict[str, tuple[int, ...]]:
    """BatchNorm's and InstanceNorm's arrays: weight and bias (affine; bias=False drops the
    bias), running_mean and running_var (track_running_stats; running_var must be
    non-negative).  num_batches_tracked, a training counter, plays no part in eval()."""
    c = (layer.num_features,)
    shapes: dict[str, tuple[int, ...]] = {}
    if layer.affine:
        shapes["weight"] = c
        if layer.bias:
            shapes["bias"] = c
    if layer.track_running_stats:
        shapes["running_mean"] = c
        shapes["running_var"] = c
    return shapes


@kernel(BatchNormNd)
def batch_norm(layer: BatchNormNd, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    accept(layer, x)  # batch_norm has no integer kernel
    layer.output_shape([x.shape])
    work = compute_dtype(x.dtype)
    channels = x.shape[1]
    stat_shape = (1, channels) + (1,) * (x.ndim - 2)
    eps = work.type(layer.eps)

    declared = batch_norm_params(layer)

    def vector(name: str, default: float) -> np.ndarray:
        """A declared parameter (required), or the value PyTorch uses without it."""
        if name in declared:
            return parameter(layer, params, name, channels, work)
        return np.full(channels, default, dtype=work)

    if layer.track_running_stats:
        mean = vector("running_mean", 0.0)
        var = vector("running_var", 1.0)
    else:
        axes = (0,) + tuple(range(2, x.ndim))
        xw = x.astype(work, copy=False)
        mean = xw.mean(axis=axes, dtype=work)
        var = ((xw - mean.reshape(stat_shape)) ** 2).mean(axis=axes, dtype=work)  # biased, as PyTorch
    invstd = work.type(1) / np.sqrt(var + eps)
    alpha = invstd * vector("weight", 1.0)
    beta = vector("bias", 0.0) - mean * alpha
    alpha, beta = alpha.reshape(stat_shape), beta.reshape(stat_shape)
    if work == x.dtype:
        out = x * alpha
        out += beta
        return out
    # float16: a block of the batch at a time in float32 (PyTorch's opmath), rounded once
    out = np.empty(x.shape, dtype=x.dtype)
    per_item = max(1, x.size // max(1, x.shape[0])) * 2 * work.itemsize
    for block in flat_blocks(x.shape[0], per_item, ctx.chunk_bytes):
        out[block] = x[block].astype(work) * alpha + beta
    return out
