"""What an analysis returns: one row object per layer, one totals object."""

from __future__ import annotations

from fractions import Fraction

from ..record import field, record


@record
class ReceptiveField:
    """Per spatial dim of the network input (see CONTRACT section 4)."""

    size: tuple[int, ...]
    stride: tuple[Fraction, ...]
    start: tuple[int | None, ...]

    def to_dict(self) -> dict:
        return {"size": list(self.size), "stride": [_number(s) for s in self.stride],
                "start": list(self.start)}


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


@record
class LayerResult:
    index: int
    name: str
    type: str
    spec: str
    inputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int
    flops: int
    output_bytes: int
    receptive_field: ReceptiveField | None
    notes: tuple[str, ...] = ()
    #: the concrete layer this row describes (a Lazy layer resolved, a block expanded)
    layer: object = field(default=None, repr=False)
    #: the element type of the output (the layer's own dtype=, else the analysis')
    dtype: str = "float32"
    #: buffer elements (BatchNorm's running statistics): state, not parameters
    buffers: int = 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.input_shapes[0]

    def to_dict(self) -> dict:
        return {
            "index": self.index, "name": self.name, "type": self.type, "spec": self.spec,
            "inputs": list(self.inputs),
            "input_shape": list(self.input_shapes[0]) if len(self.input_shapes) == 1
            else [list(s) for s in self.input_shapes],
            "output_shape": list(self.output_shape),
            "params": self.params, "trainable_params": self.trainable_params,
            "macs": self.macs, "flops": self.flops, "output_bytes": self.output_bytes,
            "buffers": self.buffers,
            "receptive_field": None if self.receptive_field is None else self.receptive_field.to_dict(),
        }


@record
class Totals:
    params: int
    trainable_params: int
    macs: int
    flops: int
    output_shape: tuple[int, ...]
    output_bytes: int  # activation memory: every layer's output, summed
    param_bytes: int  # parameters times their element size
    input_bytes: int  # the network input tensor

    @property
    def activation_bytes(self) -> int:
        """CONTRACT section 4's name for the summed outputs (torchinfo's forward pass size)."""
        return self.output_bytes

    @property
    def total_bytes(self) -> int:
        """torchinfo's estimated total: input + parameters + forward activations."""
        return self.input_bytes + self.param_bytes + self.output_bytes

    def to_dict(self) -> dict:
        return {"params": self.params, "trainable_params": self.trainable_params,
                "macs": self.macs, "flops": self.flops, "output_shape": list(self.output_shape),
                "output_bytes": self.output_bytes, "param_bytes": self.param_bytes,
                "activation_bytes": self.activation_bytes, "input_bytes": self.input_bytes,
                "total_bytes": self.total_bytes}


@record
class Analysis:
    input_shape: tuple[int, ...]
    layers: tuple[LayerResult, ...]
    total: Totals
    dtype: str = "float32"
    warnings: tuple[str, ...] = field(default=())
    #: the counting convention of the MACs and FLOPs
    convention: str = "convcalc"

    def to_dict(self) -> dict:
        return {"input_shape": list(self.input_shape), "dtype": self.dtype, "convention": self.convention,
                "layers": [r.to_dict() for r in self.layers], "total": self.total.to_dict(),
                "warnings": list(self.warnings)}
