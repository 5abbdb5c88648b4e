"""Distributions by a short spec: any continuous ``scipy.stats`` distribution, and mixtures.

Grammar (parsed with :mod:`ast`, never evaluated)::

    spec    := NAME | NAME "(" [number, ...] [name=number, ...] ")" | mixture
    mixture := "mix(" weight "*" spec, ... ")"     (or every component unweighted: equal weights)
    number  := a numeric literal, optionally signed, or + - * / of such literals ("1/3")

Positional values follow scipy's convention: shape parameters first, then ``loc``, ``scale``
(``norm(-2, 0.5)`` is N(−2, 0.5²)). Names are looked up among ``scipy.stats``' continuous
distributions only. A scipy distribution comes back as scipy's frozen object with a ``spec``
attribute (its canonical text); a mixture as a :class:`Mixture` with the same methods.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Sequence

import numpy as np
from scipy import stats

from ..errors import PushforwardError
from .mixture import Mixture, fmt_number

MAX_SPEC_LENGTH = 2000
#: mix() inside mix() inside ...: levels allowed, and components in one mix().
MAX_MIX_DEPTH = 4
MAX_COMPONENTS = 100

#: Smallest u-resolution scipy's NumericalInversePolynomial accepts, then the fall-backs tried.

_EXAMPLES = "e.g. 'norm', 'norm(-2, 0.5)', 'gamma(a=2)' or 'mix(0.3*norm(-2, 0.5), 0.7*gamma(a=2))'"


def continuous_names() -> list[str]:
    """The names of every continuous distribution in ``scipy.stats``.

    Example:
        >>> {"norm", "gamma", "t", "beta"} <= set(continuous_names())
        True
    """
    return sorted(n for n in dir(stats) if isinstance(getattr(stats, n), stats.rv_continuous))


def parse_distribution(text: str):
    """The distribution a spec names, with exact cdf/sf/ppf/isf/pdf (and logs) and ``rvs``.

    Arguments:
        text: ``"norm"``, ``"norm(-2, 0.5)"``, ``"gamma(a=2)"``, ``"t(df=3)"``,
            ``"beta(a=0.5, b=0.5)"`` or ``"mix(0.3*norm(-2, 0.5), 0.7*gamma(a=2))"``.

    Returns:
        A frozen ``scipy.stats`` distribution with an added ``spec`` attribute, or a
        :class:`Mixture`. Both offer ``cdf, sf, logcdf, logsf, ppf, isf, pdf, logpdf,
        rvs(size=, random_state=), support()`` and ``spec``.

    Raises:
        PushforwardError: one line naming the spec, for malformed text, anything but names,
            numbers and calls (attributes, strings, lambdas...), unknown or discrete
            distributions (with close matches), invalid parameters or mixture weights.

    Example:
        >>> d = parse_distribution("norm(-2, 0.5)")
        >>> d.spec, float(d.mean()), float(d.std())
        ('norm(-2, 0.5)', -2.0, 0.5)
        >>> m = parse_distribution("mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))")
        >>> m.spec
        'mix(0.3*norm(-2, 0.5), 0.7*gamma(a=2))'
        >>> parse_distribution("nrom")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: ... unknown distribution 'nrom'; did you mean norm?
    """
    if not isinstance(text, str):
        raise PushforwardError(f"distribution spec {_quote(text)}: expected a string")
    src = text.strip()
    if not src:
        raise PushforwardError(f"distribution spec {_quote(text)}: empty; {_EXAMPLES}")
    if len(src) > MAX_SPEC_LENGTH:
        raise PushforwardError(f"distribution spec {_quote(src)}: longer than {MAX_SPEC_LENGTH}")
    try:
        tree = ast.parse(src, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        raise PushforwardError(
            f"distribution spec {_quote(src)}: not valid syntax; {_EXAMPLES}") from None
    try:
        return _Parser(src).dist(tree.body)
    except RecursionError:
        raise PushforwardError(f"distribution spec {_quote(src)}: nested too deeply") from None


def looks_like_call(text: str) -> bool:
    """True when ``text`` parses as ``name(...)``: the user meant a spec, not a file name.

    Example:
        >>> looks_like_call("gamma(a=-1)"), looks_like_call("data.csv")
        (True, False)
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return False
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name)


class _Parser:
    """A whitelist walk over the spec's syntax tree; everything not listed is an error."""

    def __init__(self, src: str):
        self.src = src

    def fail(self, why: str) -> PushforwardError:
        return PushforwardError(f"distribution spec {_quote(self.src)}: {why}")

    def dist(self, node: ast.AST):
        if isinstance(node, ast.Name):
            return self.scipy(node.id, [], {})
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.fail(f"{_what(node.func)} cannot be called; only distribution names")
            if node.func.id == "mix":
                if node.keywords:
                    raise self.fail("mix() takes weighted components only, no keywords")
                return self.mixture(node.args)
            self.lookup(node.func.id)  # an unknown name fails before its arguments are read
            args = [self.number(a) for a in node.args]
            kwargs = {}
            for kw in node.keywords:
                if kw.arg is None:
                    raise self.fail("** is not allowed")
                kwargs[kw.arg] = self.number(kw.value)
            return self.scipy(node.func.id, args, kwargs)
        raise self.fail(f"{_what(node)} is not allowed; {_EXAMPLES}")

    def number(self, node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            value = node.value
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.number(node.operand)
            value = -value if isinstance(node.op, ast.USub) else value
        elif isinstance(node, ast.BinOp) and isinstance(node.op, tuple(_ARITHMETIC)):
            left, right = self.number(node.left), self.number(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise self.fail("division by zero")
            value = _ARITHMETIC[type(node.op)](left, right)
        else:
            raise self.fail(f"expected a number, got {_what(node)}")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int beyond float64
            finite = False
        if not finite:
            shown = (str(value) if isinstance(value, float)
                     else f"{str(value)[:12]}... ({len(str(value))} digits)")
            raise self.fail(f"{shown} is not a finite number (float64)")
        return value

    def lookup(self, name: str) -> stats.rv_continuous:
        obj = None if name.startswith("_") else getattr(stats, name, None)
        if isinstance(obj, stats.rv_discrete):
            raise self.fail(
                f"{name} is a discrete distribution; only continuous ones are supported")
        if not isinstance(obj, stats.rv_continuous):
            if name == "mix":
                raise self.fail("mix needs components, e.g. mix(0.3*norm(-2, 0.5), 0.7*norm(1))")
            close = difflib.get_close_matches(name, continuous_names(), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else (
                "; see the continuous distributions of scipy.stats")
            raise self.fail(f"unknown distribution {_quote(name)}{hint}")
        return obj

    def scipy(self, name: str, args: list[float], kwargs: dict[str, float]):
        obj = self.lookup(name)
        spec = _render(name, args, kwargs)
        signature = f"{name}({', '.join([*_shapes(obj), 'loc=0', 'scale=1'])})"
        try:
            frozen = obj(*args, **kwargs)
        except TypeError as e:
            reason = re.sub(r"^\w+\(\) ", "", str(e))
            if "positional" in reason and "given" in reason:
                reason = f"got {len(args)} positional values"
            raise self.fail(f"{name} takes {signature}; {reason}") from None
        with np.errstate(all="ignore"):
            lo, hi = frozen.support()
        if np.isnan(lo) or np.isnan(hi):
            raise self.fail(f"invalid parameters for {signature} in {_quote(spec)} (a shape is "
                            "out of range or scale <= 0)")
        frozen.spec = spec
        return frozen

    def mixture(self, nodes: Sequence[ast.AST]) -> Mixture:
        if not nodes:
            raise self.fail("mix() needs at least one component")
        self.depth = getattr(self, "depth", 0) + 1
        if self.depth > MAX_MIX_DEPTH:  # each level builds a numerical inverse: keep it small
            raise self.fail(f"mixtures nested deeper than {MAX_MIX_DEPTH} levels")
        if len(nodes) > MAX_COMPONENTS:
            raise self.fail(f"{len(nodes)} mixture components, above the limit of "
                            f"{MAX_COMPONENTS}")
        weights, comps = [], []
        for node in nodes:
            named = (ast.Name, ast.Call)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and (
                isinstance(node.right, named) or isinstance(node.left, named)
            ):
                dist_side = node.right if isinstance(node.right, named) else node.left
                weight_side = node.left if dist_side is node.right else node.right
                weights.append(self.number(weight_side))
                comps.append(self.dist(dist_side))
            else:
                weights.append(None)
                comps.append(self.dist(node))
        if all(w is None for w in weights):
            weights = [1.0 / len(comps)] * len(comps)
        elif any(w is None for w in weights):
            raise self.fail("give every mixture component a weight, or none (equal weights)")
        try:
            return Mixture(comps, weights)
        except PushforwardError as e:
            raise self.fail(str(e)) from None


_ARITHMETIC = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def _what(node: ast.AST) -> str:
    """A short human name for a syntax node, for error messages."""
    if isinstance(node, ast.Constant):
        return f"{type(node.value).__name__} {_quote(node.value)}"
    if isinstance(node, ast.Attribute):
        return "attribute access"
    if isinstance(node, ast.Name):
        return f"name {_quote(node.id)}"
    if isinstance(node, ast.Call):
        return "a call"
    return type(node).__name__.lower()


def _shapes(dist: stats.rv_continuous) -> list[str]:
    return [s.strip() for s in (dist.shapes or "").split(",") if s.strip()]


def _render(name: str, args: list[float], kwargs: dict[str, float]) -> str:
    parts = [fmt_number(a) for a in args] + [f"{k}={fmt_number(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})" if parts else name


def _quote(text: object, limit: int = 60) -> str:
    """A spec for a message: quoted, and cut in the middle when long (it stays one short line)."""
    text = repr(text)
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 2:]}"
