"""Block parameters put into text: `{planes * 4}` placeholders and `when:` conditions.

An expression is read with Python's `ast` and only a small arithmetic is evaluated:
numbers, strings, booleans, None, tuples, parameter names, `+ - * / // % **`,
comparisons, `and`/`or`/`not`, `x if c else y`, and `min`, `max`, `abs`, `int`,
`round`. Nothing is called or looked up beyond that, and numbers stay small (a
parameter is a layer argument, not a computation), so a hostile spec cannot make one
expression slow.
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from typing import Callable, Mapping

from ..errors import ConvcalcError, quote

MAX_TEXT = 1000  # characters of one expression
_MAX_BITS = 256  # integers beyond this are no layer argument
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

_BINARY: dict[type, Callable] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                                 ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
                                 ast.Mod: operator.mod, ast.Pow: operator.pow}
_COMPARE: dict[type, Callable] = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
                                  ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_FUNCTIONS: dict[str, Callable] = {"min": min, "max": max, "abs": abs, "int": int, "round": round}


class TemplateError(ConvcalcError):
    """A placeholder or condition that cannot be evaluated (the caller adds the location)."""


def has_placeholders(text: str) -> bool:
    return "{" in text or "}" in text


def names_in(text: str) -> list[tuple[str, str]]:
    """(name, expression) for every parameter name the placeholders of `text` read;
    TemplateError for a placeholder that is not an expression."""
    found = []
    for expression in placeholders(text):
        found += [(n, expression) for n in expression_names(expression)]
    return found


def placeholders(text: str) -> list[str]:
    """The expressions inside `{...}`; TemplateError for an unmatched brace."""
    found = [m.group(1) for m in _PLACEHOLDER.finditer(text)]
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        brace = "{" if "{" in rest else "}"
        raise TemplateError(f"unmatched {brace!r} in {quote(text)}; a placeholder is written "
                            "'{name}' or '{expression}'")
    return found


def expression_names(expression: str) -> list[str]:
    tree = _parse(expression)
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCTIONS]


def substitute(text: str, params: Mapping[str, object]) -> str:
    """`text` with each `{expression}` replaced by its value written as a Python literal
    (`64`, `(2, 2)`, `'same'`, `True`), so that the result is a layer expression."""
    placeholders(text)  # unmatched braces
    return _PLACEHOLDER.sub(lambda m: literal(evaluate(m.group(1), params)), text)


def literal(value: object) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def evaluate(expression: str, params: Mapping[str, object]) -> object:
    """The value of one expression over the parameters."""
    tree = _parse(expression)
    try:
        return _eval(tree.body, params, expression)
    except RecursionError:
        raise TemplateError(f"expression nested too deeply: {quote(expression)}") from None


def _parse(expression: str) -> ast.Expression:
    text = expression.strip()
    if not text:
        raise TemplateError("empty placeholder '{}'; expected a parameter name or an expression inside")
    if len(text) > MAX_TEXT:
        raise TemplateError(f"expected an expression of at most {MAX_TEXT} characters; got {len(text):,}")
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise TemplateError(f"cannot read the expression {quote(text)}: {(exc.msg or 'invalid syntax').lower()}") \
            from None
    except (RecursionError, MemoryError, ValueError):
        raise TemplateError(f"cannot read the expression {quote(text)}: nested too deeply") from None


def _number(value: object, expression: str) -> int | float:
    if isinstance(value, (int, float)):
        return value
    raise TemplateError(f"expected numbers in arithmetic; got {quote(value)} in {quote(expression)}")


def _eval(node: ast.AST, params: Mapping[str, object], expression: str) -> object:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            if isinstance(node.value, int) and node.value.bit_length() > _MAX_BITS:
                raise TemplateError(f"number too large in {quote(expression)}")
            return node.value
    elif isinstance(node, ast.Name):
        if node.id in params:
            return params[node.id]
        raise unknown_name(node.id, params, expression)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _number(_eval(node.left, params, expression), expression)
        right = _number(_eval(node.right, params, expression), expression)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or
                                             (isinstance(left, int) and left.bit_length() * abs(right) > _MAX_BITS)):
            raise TemplateError(f"power too large in {quote(expression)}")
        try:
            value = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise TemplateError(f"division by zero in {quote(expression)}") from None
        except OverflowError:
            raise TemplateError(f"number too large in {quote(expression)}") from None
        if isinstance(value, int) and value.bit_length() > _MAX_BITS:
            raise TemplateError(f"number too large in {quote(expression)}")
        if isinstance(value, complex):
            raise TemplateError(f"expected a real number; got a complex one in {quote(expression)}")
        return value
    elif isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, params, expression)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            value = _number(value, expression)
            return -value if isinstance(node.op, ast.USub) else value
    elif isinstance(node, ast.BoolOp):
        value = _eval(node.values[0], params, expression)
        for item in node.values[1:]:
            if isinstance(node.op, ast.And) and not value or isinstance(node.op, ast.Or) and value:
                return value
            value = _eval(item, params, expression)
        return value
    elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _eval(node.left, params, expression)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, params, expression)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise TemplateError(f"cannot compare {quote(left)} with {quote(right)} in "
                                    f"{quote(expression)}") from None
            left = right
        return True
    elif isinstance(node, ast.IfExp):
        test = _eval(node.test, params, expression)
        return _eval(node.body if test else node.orelse, params, expression)
    elif isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_eval(e, params, expression) for e in node.elts)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS \
            and not node.keywords and node.args:
        args = [_eval(a, params, expression) for a in node.args]
        if len(args) == 1 and isinstance(args[0], tuple):
            args = list(args[0])
        if not args:
            raise TemplateError(f"{node.func.id}() of nothing in {quote(expression)}")
        args = [_number(a, expression) for a in args]
        try:
            return _FUNCTIONS[node.func.id](*args)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TemplateError(f"{node.func.id}() failed in {quote(expression)}: {exc}") from None
    raise TemplateError(f"expected arithmetic on parameters (numbers, names, + - * / // % **, comparisons, "
                        f"and/or/not, min/max/abs/int/round); got {_describe(node)} in {quote(expression)}")


def unknown_name(name: str, params: Mapping[str, object], expression: str) -> TemplateError:
    if not params:
        return TemplateError(f"unknown name {quote(name)} in {quote('{' + expression + '}')}: placeholders "
                             "read the parameters of the block they are written in, and there are none here")
    close = difflib.get_close_matches(name, list(params), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return TemplateError(f"unknown name {quote(name)} in {quote(expression)}; the parameters are "
                         f"{', '.join(params)}{hint}")


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        return "a function call"
    if isinstance(node, ast.Attribute):
        return "an attribute"
    if isinstance(node, ast.Subscript):
        return "a subscript"
    return type(node).__name__.lower()
