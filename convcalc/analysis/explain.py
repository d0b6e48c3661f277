"""`convcalc explain`: the arithmetic behind an analysis, step by step, as the tutorials
write it:

    L_out = floor((L_in + 2×padding − dilation×(kernel−1) − 1) / stride) + 1
          = floor((128 + 2×0 − 1×(4−1) − 1) / 2) + 1 = floor(124 / 2) + 1 = 63

Nothing is derived here: each row of an `Analysis` asks its own layer for the formula
terms of its shape and parameters, and the analysis' convention for its MACs and
FLOPs, so what is printed is what was computed (dtype, convention and all).
"""

from __future__ import annotations

from fractions import Fraction

from ..layers.formula import Sym, Term, num, term
from ..layers.rf import WindowStep
from ..layers.windows import axis_name
from ..record import record
from . import conventions
from .result import Analysis, LayerResult

# The textbook receptive-field recurrence, exact while every stride so far is whole
R_IN, J_IN, START_IN = Sym("r", "r_in"), Sym("j", "j_in"), Sym("start", "start_in")
RF_SIZE = R_IN + (Sym("kernel") - 1) * Sym("dilation") * J_IN
RF_STRIDE = J_IN * Sym("stride")
RF_START = START_IN - Sym("padding") * J_IN


@record
class Section:
    title: str
    terms: tuple[Term, ...]
    notes: tuple[str, ...] = ()  # printed before the terms
    after: tuple[str, ...] = ()  # printed after them

    @property
    def lines(self) -> tuple[str, ...]:
        """The section as text: its notes, each term's working, then the closing lines."""
        return self.notes + tuple(line for t in self.terms for line in term_lines(t)) + self.after

    def to_dict(self) -> dict:
        return {"title": self.title, "quantities": [t.to_dict() for t in self.terms],
                "notes": list(self.notes + self.after)}


@record
class LayerExplanation:
    row: LayerResult
    sections: tuple[Section, ...]
    #: the output shape the printed formulas produce (a test holds it to the row's)
    derived_shape: tuple[int, ...]

    def to_dict(self) -> dict:
        return {"layer": self.row.to_dict(), "sections": [s.to_dict() for s in self.sections]}

    def text(self) -> str:
        lines = [f"{self.row.name}: {self.row.spec}"]
        for section in self.sections:
            lines.append(f"  {section.title}")
            lines.extend(f"    {line}" for line in section.lines)
        return "\n".join(lines)


def term_lines(t: Term) -> list[str]:
    """`name = formula` then `      = numbers = middle step = result` (no step repeated)."""
    steps = t.steps()
    if isinstance(t.value, int) and not isinstance(t.value, bool):
        steps[-1] = num(t.value) if t.value < 0 else f"{t.value:,}"
    head = f"{t.label} = {steps[0]}"
    one_line = f"{t.label} = {' = '.join(steps)}"
    if len(steps) == 1 or len(steps[0]) <= 40 and len(one_line) <= 100:
        lines = [one_line]
    else:
        lines = [head, " " * len(t.label) + " = " + " = ".join(steps[1:])]
    if t.note:
        lines[-1] += f"  ({t.note})"
    return lines


def explain(analysis: Analysis) -> list[LayerExplanation]:
    """One explanation per analysed row."""
    counting = conventions.get(analysis.convention)
    out, previous = [], None
    for row in analysis.layers:
        out.append(_explain_row(row, counting, previous))
        previous = row.receptive_field
    return out


def _explain_row(row: LayerResult, counting, previous) -> LayerExplanation:
    layer, inputs, output = row.layer, row.input_shapes, row.output_shape
    shape_terms: list[Term] = []
    derived = layer.derive(inputs, shape_terms)
    arrow = " and ".join(str(list(s)) for s in inputs)
    shape_notes = [f"input {arrow} → output {list(output)}"]
    if not shape_terms:
        shape_notes.append("inputs broadcast together" if len(inputs) > 1 else "shape unchanged")
    sections = [Section("shape", tuple(shape_terms), tuple(shape_notes))]

    params: list[Term] = []
    learnable = layer.params(params)
    n_param_terms = len(params)
    layer.buffers(params)
    notes = []
    if n_param_terms == 0:
        notes.append("no learnable parameters")
    elif n_param_terms > 1:
        notes.append(f"total: {learnable:,}")
    sections.append(Section("parameters", tuple(params), after=tuple(notes)))

    counts: list[Term] = []
    counting.count(layer, inputs, output, counts)
    sections.append(Section(f"multiply-accumulates and FLOPs ({counting.name} convention)", tuple(counts)))

    if row.receptive_field is not None:
        sections.append(_receptive_field(row, previous))
    direct = getattr(layer, "direct_terms", None)
    if direct is not None:
        sections.append(Section("as a direct convolution", tuple(direct(inputs)),
                                ("insert stride−1 zeros, pad dilation×(kernel−1)−padding on each side (plus "
                                 "output_padding after), flip the kernel, convolve with stride 1",)))
    return LayerExplanation(row, tuple(sections), tuple(derived))


def _receptive_field(row: LayerResult, previous) -> Section:
    """The composed values, and the textbook recurrence for window steps where it holds."""
    rf = row.receptive_field
    n = len(rf.size)
    notes = []
    for i, (size, stride, start) in enumerate(zip(rf.size, rf.stride, rf.start)):
        shown = num(stride) + ("" if stride.denominator == 1 else f" ({float(stride):.4g})")
        notes.append(f"{axis_name(i, n)}: size {size}, stride {shown}, start "
                     f"{'none' if start is None else num(start)}")
    terms: list[Term] = []
    effect = row.layer.rf_effect(row.input_shapes, row.output_shape)
    for axis, step in effect.steps.items():
        i = n + axis
        if not isinstance(step, WindowStep) or not 0 <= i < n:
            continue
        r, j, start = (1, Fraction(1), 0) if previous is None else (
            previous.size[i], previous.stride[i], previous.start[i])
        if j.denominator != 1 or start is None:
            continue  # after up-sampling the recurrence is not exact; the composed values are
        env = {"r": r, "j": int(j), "start": start, "kernel": step.kernel, "dilation": step.dilation,
               "stride": step.stride, "padding": step.padding}
        found: list[Term] = []
        a = axis_name(i, n)
        values = (term(found, f"{a}: size", RF_SIZE, env), term(found, f"{a}: stride", RF_STRIDE, env),
                  term(found, f"{a}: start", RF_START, env))
        if (values[0], values[2]) == (rf.size[i], rf.start[i]) and values[1] == rf.stride[i]:
            terms.extend(found)
    if any(s.denominator != 1 for s in rf.stride):
        notes.append("neighbouring units can see regions of different extent; size is the largest")
    return Section("receptive field (in input positions)", tuple(terms), tuple(notes))
