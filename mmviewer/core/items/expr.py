"""The item filter language: a small, safe grammar parsed by hand (never ``eval``).

Examples::

    partner_rank > 10
    label == "3" and not tagged "checked"
    missing audio or score_audio_image < 0.2
    id contains "cat"          label in ("1", "7")          `file name` != ""

Grammar (keywords are case-insensitive; ``&&``/``||``/``!`` may stand for and/or/not)::

    expr    := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | predicate
    predicate := ("has" | "missing") NAME | "tagged" [STRING] | "selected"
               | value [OP value | "contains" value | ["not"] "in" "(" value ("," value)* ")"]
    value   := NUMBER | STRING | NAME | `quoted name`
    OP      := == | = | != | < | <= | > | >=

:func:`parse` turns the text into a small tree of tuples; :func:`evaluate` turns a tree into a
boolean mask over the items, asking a ``resolve`` callback for column values (see
:mod:`mmviewer.core.items.frame`). A bad expression raises :class:`FilterError` naming the
position and what was expected.
"""

from __future__ import annotations

import re

import numpy as np

OPS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = {"and", "or", "not", "in", "contains", "has", "missing", "tagged", "selected", "true",
            "false"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`[^`]*`)
  | (?P<op>==|!=|<=|>=|&&|\|\||=|<|>|!|\(|\)|,)
  | (?P<name>[^\W\d]\w*(?:\.\w+)*)
""", re.VERBOSE)


class FilterError(ValueError):
    """A filter that cannot be parsed or evaluated; ``position`` is a 0-based column."""

    def __init__(self, message: str, position: int | None = None):
        where = f" (at column {position + 1})" if position is not None else ""
        super().__init__(message + where)
        self.position = position


def tokenize(text: str) -> list[tuple[str, object, int]]:
    """``(kind, value, position)`` tokens; kinds: number, string, name, keyword, op, end."""
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(f"unexpected {text[pos]!r}", pos)
        kind, raw = m.lastgroup, m.group()
        if kind == "number":
            tokens.append(("number", float(raw), pos))
        elif kind == "string":
            tokens.append(("string", re.sub(r"\\(.)", r"\1", raw[1:-1]), pos))
        elif kind == "quoted":
            tokens.append(("name", raw[1:-1], pos))
        elif kind == "op":
            tokens.append(("op", {"=": "==", "&&": "and", "||": "or", "!": "not"}.get(raw, raw), pos))
        elif kind == "name":
            low = raw.lower()
            tokens.append(("keyword", low, pos) if low in KEYWORDS else ("name", raw, pos))
        pos = m.end()
    tokens.append(("end", None, len(text)))
    # "and"/"or"/"not" typed as && || ! are keywords too
    return [("keyword", v, p) if k == "op" and v in ("and", "or", "not") else (k, v, p)
            for k, v, p in tokens]


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, kind: str, value=None) -> bool:
        k, v, _ = self.peek()
        if k == kind and (value is None or v == value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value, what: str):
        k, v, p = self.peek()
        if k != kind or v != value:
            raise FilterError(f"expected {what}, found {_describe(k, v)}", p)
        self.i += 1

    def expr(self):
        left = self.conj()
        while self.accept("keyword", "or"):
            left = ("or", left, self.conj())
        return left

    def conj(self):
        left = self.unary()
        while self.accept("keyword", "and"):
            left = ("and", left, self.unary())
        return left

    def unary(self):
        if self.accept("keyword", "not"):
            return ("not", self.unary())
        if self.accept("op", "("):
            inner = self.expr()
            self.expect("op", ")", "')'")
            return inner
        return self.predicate()

    def predicate(self):
        k, v, p = self.peek()
        if k == "keyword" and v in ("has", "missing"):
            self.take()
            nk, nv, np_ = self.take()
            if nk not in ("name", "string"):
                raise FilterError(f"expected a modality after '{v}', found {_describe(nk, nv)}", np_)
            return (v, str(nv).lower(), np_)
        if k == "keyword" and v == "tagged":
            self.take()
            tk, tv, _ = self.peek()
            if tk in ("string", "name"):
                self.take()
                return ("tagged", str(tv))
            return ("tagged", None)
        if k == "keyword" and v == "selected":
            self.take()
            return ("selected",)
        left = self.value()
        k, v, p = self.peek()
        if k == "op" and v in OPS:
            self.take()
            return ("cmp", v, left, self.value())
        if k == "keyword" and v == "contains":
            self.take()
            return ("contains", left, self.value())
        negate = False
        if k == "keyword" and v == "not" and self.tokens[self.i + 1][:2] == ("keyword", "in"):
            self.take()
            negate = True
            k, v, p = self.peek()
        if k == "keyword" and v == "in":
            self.take()
            self.expect("op", "(", "'(' after 'in'")
            values = [self.value()]
            while self.accept("op", ","):
                values.append(self.value())
            self.expect("op", ")", "')'")
            node = ("in", left, tuple(values))
            return ("not", node) if negate else node
        if left[0] in ("column", "bool"):
            return ("truthy", left)
        raise FilterError(f"a value alone is not a condition: compare it (==, <, contains, in) "
                          f"after {_describe(*self.tokens[self.i - 1][:2])}", p)

    def value(self):
        k, v, p = self.take()
        if k == "number":
            return ("number", v)
        if k == "string":
            return ("string", v)
        if k == "name":
            return ("column", v, p)
        if k == "keyword" and v in ("true", "false"):
            return ("bool", v == "true")
        raise FilterError(f"expected a value (a number, \"text\" or a column), found {_describe(k, v)}", p)


def _describe(kind: str, value) -> str:
    if kind == "end":
        return "the end"
    if kind == "string":
        return f'"{value}"'
    if kind == "number":
        return f"{value:g}"
    return f"'{value}'"


def parse(text: str):
    """The expression tree of ``text``; None for an empty filter (everything passes)."""
    if not text.strip():
        return None
    parser = _Parser(text)
    tree = parser.expr()
    k, v, p = parser.peek()
    if k != "end":
        raise FilterError(f"unexpected {_describe(k, v)}; join conditions with 'and' / 'or'", p)
    return tree


def columns_of(tree) -> set[str]:
    """Column names an expression reads (to know which columns it waits for)."""
    if not isinstance(tree, tuple):
        return set()
    if tree[0] == "column":
        return {tree[1]}
    out = set()
    for part in tree[1:]:
        if isinstance(part, tuple):
            if part and isinstance(part[0], tuple):
                for sub in part:
                    out |= columns_of(sub)
            else:
                out |= columns_of(part)
    return out


def evaluate(tree, n: int, resolve) -> np.ndarray:
    """(n,) bool mask of the items that pass ``tree``.

    ``resolve(kind, name, position)`` answers: ``("column", name)`` -> (n,) array (numbers as
    floats with NaN for missing, text as objects/str); ``("has", modality)`` -> (n,) bool;
    ``("tagged", name or None)`` -> (n,) bool; ``("selected", None)`` -> (n,) bool. It raises
    :class:`FilterError` for unknown names.
    """
    if tree is None:
        return np.ones(n, bool)
    op = tree[0]
    if op == "or":
        return evaluate(tree[1], n, resolve) | evaluate(tree[2], n, resolve)
    if op == "and":
        return evaluate(tree[1], n, resolve) & evaluate(tree[2], n, resolve)
    if op == "not":
        return ~evaluate(tree[1], n, resolve)
    if op == "has":
        return np.asarray(resolve("has", tree[1], tree[2]), bool)
    if op == "missing":
        return ~np.asarray(resolve("has", tree[1], tree[2]), bool)
    if op == "tagged":
        return np.asarray(resolve("tagged", tree[1], None), bool)
    if op == "selected":
        return np.asarray(resolve("selected", None, None), bool)
    if op == "truthy":
        v = _value(tree[1], n, resolve)
        nums = _as_numbers(v)
        if nums is not None:
            return np.nan_to_num(nums, nan=0.0) != 0
        return np.array([str(x) not in ("", "None", "nan", "False", "0") for x in v], bool)
    if op == "cmp":
        return _compare(tree[1], _value(tree[2], n, resolve), _value(tree[3], n, resolve))
    if op == "contains":
        hay = _as_text(_value(tree[1], n, resolve))
        needle = str(_scalar(tree[2], "contains")).lower()
        return np.strings.find(np.strings.lower(hay), needle) >= 0
    if op == "in":
        left = _value(tree[1], n, resolve)
        out = np.zeros(n, bool)
        for value in tree[2]:
            out |= _compare("==", left, _value(value, n, resolve))
        return out
    raise FilterError(f"cannot evaluate {op!r}")


def _scalar(node, where: str):
    if node[0] in ("number", "string", "bool"):
        return node[1]
    raise FilterError(f"'{where}' needs a number or \"text\" on its right, not a column", node[2])


def _value(node, n: int, resolve):
    if node[0] == "column":
        return resolve("column", node[1], node[2])
    return node[1]


def _as_numbers(v) -> np.ndarray | None:
    """Floats (NaN for empty/missing), or None when some values are not numbers."""
    if isinstance(v, bool):
        return np.float64(v)
    if isinstance(v, int | float):
        return np.float64(v)
    if isinstance(v, str):
        try:
            return np.float64(v)
        except ValueError:
            return None
    a = np.asarray(v)
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    text = _as_text(a)
    blank = np.isin(text, ["", "None", "nan", "NaN", "<NA>"])
    try:
        out = np.where(blank, "nan", text).astype(np.float64)
    except ValueError:
        return None
    return out


def _as_text(v) -> np.ndarray:
    a = np.asarray(v)
    if a.dtype.kind == "f":  # 3.0 reads as "3" so label == "3" matches a numeric column
        return np.array([("" if not np.isfinite(x) else f"{x:g}") for x in a.ravel()], dtype=str)
    return a.astype(str)


def _is_float_array(v) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def _compare(op: str, left, right) -> np.ndarray:
    """Numbers compare as numbers (NaN fails every test); otherwise text compares as text."""
    ln, rn = _as_numbers(left), _as_numbers(right)
    # "3" == 3 either way round when one side is a number column (no text formatting of N floats)
    numbers = _is_float_array(left) or _is_float_array(right)
    text_side = (isinstance(left, str) or isinstance(right, str)) and not numbers
    if ln is not None and rn is not None and not (text_side and op in ("==", "!=")):
        with np.errstate(invalid="ignore"):
            out = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
                   ">": np.greater, ">=": np.greater_equal}[op](ln, rn)
        if op == "!=":
            out = out & ~(np.isnan(ln) | np.isnan(rn))
        return np.asarray(out, bool)
    lt, rt = _as_text(left), _as_text(right)
    fn = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
          ">": np.greater, ">=": np.greater_equal}[op]
    return np.asarray(fn(lt, rt), bool)
