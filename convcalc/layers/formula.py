"""Formulas written once: evaluated for the numbers, printed for `explain`.

A layer family writes each rule as an expression over named symbols,

    WINDOW = floor((IN + 2 * PAD - DIL * (K - 1) - 1) / S) + 1

and `term()` both evaluates it (exact integer arithmetic, so it *is* the shape rule)
and, when `explain` asks, records it with the values put in.  The printed form and the
computed number therefore cannot drift apart.

Expressions compile to nested closures on first use: evaluating one costs about a
dozen Python calls, which keeps a 10,000-layer analysis well under a second.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

Env = dict[str, Any]

_ADD, _MUL, _ATOM = 1, 2, 3  # precedence levels


def num(value: Any) -> str:
    """A number as the formulas write it: a true minus sign, fractions as a/b."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Fraction):
        value = value.numerator if value.denominator == 1 else value
        if isinstance(value, Fraction):
            return ("−" if value < 0 else "") + f"{abs(value.numerator)}/{value.denominator}"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"−{-value}" if value < 0 else str(value)


class Expr:
    """A node of a formula. Build with + - * / and floor()/ceil(); never mutated."""

    prec = _ATOM
    _fn: Callable[[Env], Any] | None = None

    # -- building
    def __add__(self, other): return Op("+", self, lift(other))
    def __radd__(self, other): return Op("+", lift(other), self)
    def __sub__(self, other): return Op("−", self, lift(other))
    def __rsub__(self, other): return Op("−", lift(other), self)
    def __mul__(self, other): return Op("×", self, lift(other))
    def __rmul__(self, other): return Op("×", lift(other), self)
    def __truediv__(self, other): return Op("/", self, lift(other))
    def __rtruediv__(self, other): return Op("/", lift(other), self)

    # -- evaluating
    def eval(self, env: Env) -> Any:
        fn = self._fn
        if fn is None:
            fn = self._fn = self.compile()
        return fn(env)

    def compile(self) -> Callable[[Env], Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def symbols(self) -> list["Sym"]:
        """Every symbol, in order of first appearance."""
        return []

    # -- printing
    def render(self, env: Env | None = None, axis: str = "", reduce: bool = False,
               compact: bool = False) -> str:  # pragma: no cover - interface
        """The formula: symbolic (env None), with values put in, or with the operands of
        every division already computed (`reduce`), as the tutorials write the middle step."""
        raise NotImplementedError


def lift(value: Any) -> Expr:
    return value if isinstance(value, Expr) else Num(value)


class Num(Expr):
    def __init__(self, value: Any):
        self.value = value

    def compile(self):
        value = self.value
        return lambda env: value

    def render(self, env=None, axis="", reduce=False, compact=False):
        return num(self.value)


class Sym(Expr):
    """A named input of a formula; `label` is how it prints ('{a}' becomes the axis name)."""

    def __init__(self, key: str, label: str | None = None):
        self.key, self.label = key, label or key

    def compile(self):
        key = self.key
        return lambda env: env[key]

    def symbols(self):
        return [self]

    def shown(self, axis: str) -> str:
        return self.label.replace("{a}", axis)

    def render(self, env=None, axis="", reduce=False, compact=False):
        if env is None:
            return self.shown(axis)
        value = env[self.key]
        text = num(value)
        return f"({text})" if text.startswith("−") else text


class Op(Expr):
    def __init__(self, op: str, a: Expr, b: Expr):
        self.op, self.a, self.b = op, a, b
        self.prec = _ADD if op in "+−" else _MUL

    def compile(self):
        fa, fb = self.a.compile(), self.b.compile()
        if self.op == "+":
            return lambda env: fa(env) + fb(env)
        if self.op == "−":
            return lambda env: fa(env) - fb(env)
        if self.op == "×":
            return lambda env: fa(env) * fb(env)
        return lambda env: _divide(fa(env), fb(env))

    def symbols(self):
        return _unique(self.a.symbols() + self.b.symbols())

    def render(self, env=None, axis="", reduce=False, compact=False):
        if self.op == "/" and reduce and env is not None:
            return f"{num(self.a.eval(env))}{'/' if compact else ' / '}{num(self.b.eval(env))}"
        left = self.a.render(env, axis, reduce, self._compact(self.a, compact))
        right = self.b.render(env, axis, reduce, self._compact(self.b, compact))
        if self.a.prec < self.prec:
            left = f"({left})"
        if self.b.prec < self.prec or (self.b.prec == self.prec and self.op in "−/"):
            right = f"({right})"
        return f"{left}{self.op}{right}" if compact else f"{left} {self.op} {right}"

    def _compact(self, child: Expr, compact: bool) -> bool:
        """Spaces around the outermost operators only: `L_in + 2×padding − dilation×(kernel−1)`."""
        if self.op == "/":
            return compact
        if child.prec == self.prec and not (self.op == "×" and getattr(child, "op", "") == "/"):
            return compact
        return True


class Call(Expr):
    """floor(x) or ceil(x); floor(a / b) of integers stays in integer arithmetic."""

    def __init__(self, name: str, arg: Expr):
        self.name, self.arg = name, arg

    def compile(self):
        arg = self.arg
        if isinstance(arg, Op) and arg.op == "/":
            fa, fb = arg.a.compile(), arg.b.compile()
            if self.name == "floor":
                return lambda env: _floordiv(fa(env), fb(env))
            return lambda env: -_floordiv(-fa(env), fb(env))
        f = arg.compile()
        rounding = math.floor if self.name == "floor" else math.ceil
        return lambda env: rounding(f(env))

    def symbols(self):
        return self.arg.symbols()

    def render(self, env=None, axis="", reduce=False, compact=False):
        return f"{self.name}({self.arg.render(env, axis, reduce, False)})"


class IfAtLeast(Expr):
    """`then if lhs ≥ rhs else otherwise`: a rule with a case (ceil_mode's last window)."""

    prec = 0

    def __init__(self, lhs: Expr, rhs: Expr, then: Expr, otherwise: Expr):
        self.lhs, self.rhs, self.then, self.otherwise = lhs, rhs, then, otherwise

    def compile(self):
        fl, fr, ft, fo = (e.compile() for e in (self.lhs, self.rhs, self.then, self.otherwise))
        return lambda env: ft(env) if fl(env) >= fr(env) else fo(env)

    def symbols(self):
        return _unique(self.then.symbols() + self.lhs.symbols() + self.rhs.symbols()
                       + self.otherwise.symbols())

    def render(self, env=None, axis="", reduce=False, compact=False):
        parts = [e.render(env, axis, reduce, False) for e in (self.then, self.lhs, self.rhs, self.otherwise)]
        return "{} if {} ≥ {} else {}".format(*parts)


class Function(Expr):
    """A named function of several arguments, e.g. gcd(a, b)."""

    def __init__(self, name: str, fn: Callable[..., Any], args: tuple[Expr, ...]):
        self.name, self.fn, self.args = name, fn, args

    def compile(self):
        fn, parts = self.fn, [a.compile() for a in self.args]
        return lambda env: fn(*(p(env) for p in parts))

    def symbols(self):
        return _unique([s for a in self.args for s in a.symbols()])

    def render(self, env=None, axis="", reduce=False, compact=False):
        return f"{self.name}({', '.join(a.render(env, axis, reduce, False) for a in self.args)})"


def gcd(a: Any, b: Any) -> Expr:
    return Function("gcd", math.gcd, (lift(a), lift(b)))


def floor(x: Any) -> Expr:
    return Call("floor", lift(x))


def ceil(x: Any) -> Expr:
    return Call("ceil", lift(x))


def product(items: list) -> Expr:
    """a × b × c, for a kernel or a shape of any rank (1 for none)."""
    if not items:
        return Num(1)
    out = lift(items[0])
    for item in items[1:]:
        out = out * item
    return out


def total(items: list) -> Expr:
    """a + b + c."""
    out = lift(items[0])
    for item in items[1:]:
        out = out + item
    return out


def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return a // b if a % b == 0 else Fraction(a, b)
    return a / b


def _floordiv(a: Any, b: Any) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return math.floor(a / b)


def _unique(symbols: list[Sym]) -> list[Sym]:
    seen, out = set(), []
    for s in symbols:
        if s.key not in seen:
            seen.add(s.key)
            out.append(s)
    return out


class Term:
    """One quantity worked out: its name, formula, the values put in and the result."""

    __slots__ = ("name", "expr", "env", "axis", "value", "note")

    def __init__(self, name: str, expr: Expr, env: Env, axis: str, value: Any, note: str | None = None):
        self.name, self.expr, self.env, self.axis = name, expr, env, axis
        self.value, self.note = value, note

    @property
    def label(self) -> str:
        return self.name.replace("{a}", self.axis)

    def symbolic(self) -> str:
        return self.expr.render(None, self.axis)

    def substituted(self) -> str:
        return self.expr.render(self.env, self.axis)

    def reduced(self) -> str:
        return self.expr.render(self.env, self.axis, reduce=True)

    def values(self) -> dict[str, Any]:
        return {s.shown(self.axis): self.env[s.key] for s in self.expr.symbols()}

    def steps(self) -> list[str]:
        """The right-hand sides in order: formula, numbers, middle step, result (no repeats)."""
        out: list[str] = []
        for text in (self.symbolic(), self.substituted(), self.reduced(), num(self.value)):
            if text not in out:
                out.append(text)
        return out

    def to_dict(self) -> dict:
        value = self.value
        if isinstance(value, Fraction):
            value = int(value) if value.denominator == 1 else float(value)
        values = {k: (float(v) if isinstance(v, Fraction) else v) for k, v in self.values().items()}
        out = {"name": self.label, "formula": self.symbolic(), "values": values,
               "substituted": self.substituted(), "result": value}
        if self.note:
            out["note"] = self.note
        return out


def term(terms: list[Term] | None, name: str, expr: Expr, env: Env, axis: str = "",
         note: str | None = None) -> Any:
    """Evaluate `expr` in `env`; when `terms` is a list (explain asked), record the working."""
    value = expr.eval(env)
    if terms is not None:
        terms.append(Term(name, expr, env, axis, value, note))
    return value
