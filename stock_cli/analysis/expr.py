"""The screen / alert expression language: a small parser of our own, never `eval`.

    rsi_14 < 30 and close > sma_200
    cross_above(sma_50, sma_200)
    pct_change_1d < -5 or (volume > 2 * sma_volume_20 and not close < open)

Grammar (lowest precedence first): `or`, `and`, `not`, comparisons (< <= > >= == !=),
`+ -`, `* /`, unary minus, `**`, atoms: numbers, names, `name(args)`, `( … )`.
Names are price columns (open high low close volume), `pct_change_<n>d`, or any
indicator output name (`sma_200`, `macd_signal_12_26_9`, `bbands_upper_20_2`, …).
Functions: cross_above(a, b), cross_below(a, b), abs(x), min(a, b), max(a, b),
prev(x, n). Expressions are evaluated over whole series (numpy), so the same tree serves
screens (last bar) and alerts (any bar); NaN compares false.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from stock_cli.analysis.indicators import IndicatorSpec, parse_output_name
from stock_cli.errors import UsageError

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_EXPONENT = 64.0
PRICE_NAMES = frozenset({"open", "high", "low", "close", "volume"})
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|<=|>=|==|!=|[-+*/<>(),]))"
)
_PCT_CHANGE = re.compile(r"^pct_change_(\d{1,4})d$")
_KEYWORDS = frozenset({"and", "or", "not", "true", "false"})
_COMPARISONS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class ExpressionError(UsageError):
    type = "expression"

    def __init__(self, message: str, *, text: str, position: int) -> None:
        self.position = position
        pointer = f"  {text}\n  {' ' * position}^"
        super().__init__(f"{message} at position {position}\n{pointer}")


@dataclass(frozen=True)
class Token:
    kind: str  # number | name | op | end
    text: str
    position: int


@dataclass(frozen=True)
class Node:
    kind: str  # number | name | unary | binary | compare | logic | not | call
    value: object = None
    children: tuple[Node, ...] = ()
    position: int = 0


@dataclass(frozen=True)
class Expression:
    """A parsed expression and the series it needs."""

    text: str
    tree: Node
    indicators: tuple[tuple[IndicatorSpec, str, str], ...]  # (spec, talib output, name)
    columns: frozenset[str]  # price columns read directly
    max_shift: int  # bars looked back by prev/cross/pct_change
    constants: frozenset[str] = frozenset()  # names given by the caller (an alert's weight)

    def evaluate(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """Evaluate over aligned series; returns a bool array (one value per bar)."""
        result = _evaluate(self.tree, values)
        if result.dtype != np.bool_:
            raise UsageError("the expression must be a condition (a comparison, and/or/not)")
        return result


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            offset = position + (len(text[position:]) - len(text[position:].lstrip()))
            raise ExpressionError(
                f"unexpected character {text[offset]!r}", text=text, position=offset
            )
        kind = match.lastgroup or "op"
        start = match.start(kind)
        tokens.append(Token(kind, match.group(kind), start))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> ExpressionError:
        token = token or self.token
        return ExpressionError(message, text=self.text, position=token.position)

    def take(self, text: str | None = None) -> Token:
        token = self.token
        if text is not None and token.text != text:
            shown = repr(token.text) if token.text else "the end"
            raise self.error(f"expected {text!r} but found {shown}")
        self.index += 1
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression is nested more than {MAX_DEPTH} levels deep")

    def parse(self) -> Node:
        if not self.text.strip():
            raise ExpressionError("the expression is empty", text=self.text, position=0)
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.token.text!r}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.token.text == "or":
            token = self.take()
            node = Node("logic", "or", (node, self.parse_and()), token.position)
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.token.text == "and":
            token = self.take()
            node = Node("logic", "and", (node, self.parse_not()), token.position)
        return node

    def parse_not(self) -> Node:
        if self.token.text == "not":
            token = self.take()
            self.enter()
            node = Node("not", None, (self.parse_not(),), token.position)
            self.depth -= 1
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        node = self.parse_sum()
        if self.token.text in _COMPARISONS:
            token = self.take()
            node = Node("compare", token.text, (node, self.parse_sum()), token.position)
            if self.token.text in _COMPARISONS:
                raise self.error("comparisons cannot be chained: use 'and'")
        return node

    def parse_sum(self) -> Node:
        node = self.parse_product()
        while self.token.text in ("+", "-"):
            token = self.take()
            node = Node("binary", token.text, (node, self.parse_product()), token.position)
        return node

    def parse_product(self) -> Node:
        node = self.parse_unary()
        while self.token.text in ("*", "/"):
            token = self.take()
            node = Node("binary", token.text, (node, self.parse_unary()), token.position)
        return node

    def parse_unary(self) -> Node:
        if self.token.text in ("-", "+"):
            token = self.take()
            self.enter()
            operand = self.parse_unary()
            self.depth -= 1
            return operand if token.text == "+" else Node("unary", "-", (operand,), token.position)
        return self.parse_power()

    def parse_power(self) -> Node:
        node = self.parse_atom()
        if self.token.text == "**":
            token = self.take()
            self.enter()
            exponent = self.parse_unary()
            self.depth -= 1
            if exponent.kind == "number" and abs(float(exponent.value)) > MAX_EXPONENT:  # type: ignore[arg-type]
                raise self.error(f"exponents are limited to ±{MAX_EXPONENT:g}", token)
            node = Node("binary", "**", (node, exponent), token.position)
        return node

    def parse_atom(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.take()
            return Node("number", float(token.text), (), token.position)
        if token.text == "(":
            self.take()
            self.enter()
            node = self.parse_or()
            self.depth -= 1
            self.take(")")
            return node
        if token.kind == "name":
            self.take()
            lowered = token.text.lower()
            if lowered in ("true", "false"):
                return Node("bool", lowered == "true", (), token.position)
            if lowered in _KEYWORDS:
                raise self.error(f"unexpected {token.text!r}", token)
            if self.token.text == "(":
                return self.parse_call(token)
            return Node("name", lowered, (), token.position)
        if not token.text:
            raise self.error("expected a value but found the end of the expression", token)
        raise self.error(f"unexpected {token.text!r}", token)

    def parse_call(self, name: Token) -> Node:
        function = name.text.lower()
        if function not in _FUNCTIONS:
            raise self.error(
                f"unknown function {name.text!r} (known: {', '.join(sorted(_FUNCTIONS))})", name
            )
        self.take("(")
        self.enter()
        args = []
        if self.token.text != ")":
            args.append(self.parse_or())
            while self.token.text == ",":
                self.take()
                args.append(self.parse_or())
        self.depth -= 1
        self.take(")")
        arity = _FUNCTIONS[function][0]
        if len(args) != arity:
            raise self.error(f"{function}() takes {arity} argument(s), got {len(args)}", name)
        if function == "prev" and args[1].kind != "number":
            raise self.error("prev(x, n): n must be a number", name)
        return Node("call", function, tuple(args), name.position)


def parse_expression(text: str, *, constants: frozenset[str] = frozenset()) -> Expression:
    """Parse and resolve names; raises ExpressionError pointing at the bad token.
    `constants` are further names the caller gives a value of when evaluating."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is longer than {MAX_LENGTH} characters",
            text=text[:40] + "…",
            position=0,
        )
    tree = _Parser(text).parse()
    indicators: dict[str, tuple[IndicatorSpec, str, str]] = {}
    columns: set[str] = set()
    used: set[str] = set()
    shifts = [1]

    def visit(node: Node) -> None:
        if node.kind == "name":
            name = str(node.value)
            if name in constants:
                used.add(name)
            elif name in PRICE_NAMES:
                columns.add(name)
            elif match := _PCT_CHANGE.match(name):
                columns.add("close")
                shifts.append(int(match.group(1)))
            else:
                try:
                    resolved = parse_output_name(name)
                except UsageError as exc:
                    raise ExpressionError(exc.message, text=text, position=node.position) from None
                if resolved is None:
                    raise ExpressionError(
                        f"unknown name {name!r}", text=text, position=node.position
                    )
                spec, output = resolved
                indicators[name] = (spec, output, name)
        if node.kind == "call" and node.value == "prev":
            shifts.append(int(float(node.children[1].value)))  # type: ignore[arg-type]
        for child in node.children:
            visit(child)

    visit(tree)
    return Expression(
        text=text,
        tree=tree,
        indicators=tuple(indicators.values()),
        columns=frozenset(columns),
        max_shift=max(shifts) + 1,
        constants=frozenset(used),
    )


def _shift(values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(values.shape, np.nan if values.dtype != np.bool_ else False, dtype=values.dtype)
    if n < len(values):
        out[n:] = values[: len(values) - n] if n else values
    return out


def _as_float(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float64) if values.dtype == np.bool_ else values


def _cross_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = _as_float(a), _as_float(b)
    with np.errstate(invalid="ignore"):
        return (a > b) & (_shift(a, 1) <= _shift(b, 1))


def _cross_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = _as_float(a), _as_float(b)
    with np.errstate(invalid="ignore"):
        return (a < b) & (_shift(a, 1) >= _shift(b, 1))


_FUNCTIONS: dict[str, tuple[int, Callable[..., np.ndarray]]] = {
    "cross_above": (2, _cross_above),
    "cross_below": (2, _cross_below),
    "abs": (1, lambda a: np.abs(_as_float(a))),
    "min": (2, lambda a, b: np.fmin(_as_float(a), _as_float(b))),
    "max": (2, lambda a, b: np.fmax(_as_float(a), _as_float(b))),
}


def _evaluate(node: Node, values: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(_evaluate_node(node, values))


def _evaluate_node(node: Node, values: dict[str, np.ndarray]) -> Any:
    length = len(next(iter(values.values()))) if values else 1
    kind = node.kind
    if kind == "number":
        return np.full(length, float(node.value))  # type: ignore[arg-type]
    if kind == "bool":
        return np.full(length, bool(node.value))
    if kind == "name":
        name = str(node.value)
        if match := _PCT_CHANGE.match(name):
            close = values["close"]
            previous = _shift(close, int(match.group(1)))
            with np.errstate(divide="ignore", invalid="ignore"):
                return (close / previous - 1.0) * 100.0
        return values[name]
    if kind == "not":
        return ~_bool(_evaluate(node.children[0], values))
    if kind == "logic":
        left, right = (_bool(_evaluate(c, values)) for c in node.children)
        return left & right if node.value == "and" else left | right
    if kind == "compare":
        left, right = (_as_float(_evaluate(c, values)) for c in node.children)
        with np.errstate(invalid="ignore"):
            return _COMPARISONS[str(node.value)](left, right) & ~np.isnan(left) & ~np.isnan(right)
    if kind == "unary":
        return -_as_float(_evaluate(node.children[0], values))
    if kind == "binary":
        left, right = (_as_float(_evaluate(c, values)) for c in node.children)
        with np.errstate(all="ignore"):
            if node.value == "+":
                return left + right
            if node.value == "-":
                return left - right
            if node.value == "*":
                return left * right
            if node.value == "/":
                return np.where(right == 0, np.nan, left / np.where(right == 0, 1.0, right))
            return np.power(left, np.clip(right, -MAX_EXPONENT, MAX_EXPONENT))
    if kind == "call":
        if node.value == "prev":
            series = _evaluate(node.children[0], values)
            return _shift(series, int(float(node.children[1].value)))  # type: ignore[arg-type]
        function = _FUNCTIONS[str(node.value)][1]
        return function(*(_evaluate(c, values) for c in node.children))
    raise AssertionError(f"unknown node {kind}")


def _bool(values: np.ndarray) -> np.ndarray:
    if values.dtype != np.bool_:
        raise UsageError("'and', 'or' and 'not' need conditions on both sides (e.g. rsi_14 < 30)")
    return values


_FUNCTIONS["prev"] = (2, lambda a, _n: a)  # evaluated specially above; listed for arity/help
