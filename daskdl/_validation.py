"""Low-level helpers for checking estimator parameters.

Every checker appends human-readable problems to a :class:`Problems` collector
instead of raising, so that a single call can report every problem at once.
Checkers return the cleaned value (plain Python ``int``/``float``/``str``/``tuple``)
or ``None`` when the value was rejected.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

__all__ = [
    "Problems",
    "normalise_enum",
    "check_enum",
    "check_bool",
    "check_int",
    "check_number",
    "check_optional_str",
    "check_str_list",
    "check_number_list",
    "check_hidden",
]


class Problems:
    """Collects invalid-value problems and not-yet-available features."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.not_yet: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)

    def missing_feature(self, message: str) -> None:
        self.not_yet.append(message)

    def __bool__(self) -> bool:
        return bool(self.errors or self.not_yet)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _key(text: str) -> str:
    """Spelling-insensitive key: lowercase without separators."""
    return re.sub(r"[\s_\-]", "", text).lower()


def normalise_enum(value: str) -> str:
    """Best-effort lowercase snake case of an enum spelling.

    ``"RectifierWithDropout"`` -> ``"rectifier_with_dropout"``, ``"AUTO"`` -> ``"auto"``,
    ``"Mean-Imputation"`` -> ``"mean_imputation"``.
    """
    text = value.strip()
    if not text.isupper():
        text = _CAMEL.sub("_", text)
    text = re.sub(r"[\s\-]+", "_", text).lower()
    return re.sub(r"_+", "_", text)


def _fmt(value) -> str:
    return repr(value)


def check_enum(problems: Problems, name: str, value, allowed, *, rejected: dict[str, str] | None = None):
    """Match ``value`` against the canonical snake-case names in ``allowed``.

    Matching ignores case, underscores, hyphens and spaces, so H2O's Java
    spellings (``"CrossEntropy"``) and Python spellings (``"cross_entropy"``)
    both work. ``rejected`` maps recognised-but-unsupported canonical names to
    the reason they are refused.
    """
    if not isinstance(value, str):
        problems.error(
            f"{name} must be a string, one of {', '.join(allowed)}; got {_fmt(value)} "
            f"of type {type(value).__name__}"
        )
        return None
    lookup = {_key(a): a for a in allowed}
    k = _key(value)
    if k in lookup:
        return lookup[k]
    if rejected:
        rej = {_key(r): r for r in rejected}
        if k in rej:
            canonical = rej[k]
            problems.error(f"{name}={value!r} is not supported: {rejected[canonical]}")
            return None
    problems.error(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return None


def check_bool(problems: Problems, name: str, value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    problems.error(f"{name} must be True or False, got {_fmt(value)} of type {type(value).__name__}")
    return None


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(problems: Problems, name: str, value, *, lo: int | None = None, hi: int | None = None,
              rule: str | None = None):
    """An integer (``bool`` is refused) within ``[lo, hi]``."""
    if not _is_int(value):
        problems.error(f"{name} must be an integer, got {_fmt(value)} of type {type(value).__name__}")
        return None
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        if rule is None:
            if lo is not None and hi is not None:
                rule = f"must be in [{lo}, {hi}]"
            elif lo is not None:
                rule = f"must be >= {lo}"
            else:
                rule = f"must be <= {hi}"
        problems.error(f"{name} {rule}, got {v}")
        return None
    return v


def check_number(problems: Problems, name: str, value, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False, allow_inf: bool = False,
                 rule: str | None = None):
    """A real number (``bool`` and NaN are refused) within the given interval."""
    if not _is_number(value):
        problems.error(f"{name} must be a number, got {_fmt(value)} of type {type(value).__name__}")
        return None
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        problems.error(f"{name} must be a finite number, got {v}")
        return None
    bad = False
    if lo is not None and (v < lo or (lo_open and v == lo)):
        bad = True
    if hi is not None and (v > hi or (hi_open and v == hi)):
        bad = True
    if bad:
        if rule is None:
            if lo is not None and hi is not None:
                rule = f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            elif lo is not None:
                rule = f"must be {'>' if lo_open else '>='} {lo:g}"
            else:
                rule = f"must be {'<' if hi_open else '<='} {hi:g}"
        problems.error(f"{name} {rule}, got {value!r}")
        return None
    return v


def check_optional_str(problems: Problems, name: str, value):
    if value is None or isinstance(value, str):
        return value
    problems.error(f"{name} must be a string or None, got {_fmt(value)} of type {type(value).__name__}")
    return None


def _as_sequence(value):
    if isinstance(value, np.ndarray):
        return list(value.ravel()) if value.ndim == 1 else None
    if isinstance(value, (list, tuple)):
        return list(value)
    return None


def check_str_list(problems: Problems, name: str, value):
    """None or a list/tuple of strings; returns a tuple."""
    if value is None:
        return None
    seq = _as_sequence(value)
    if seq is None or not all(isinstance(s, str) for s in seq):
        problems.error(f"{name} must be a list of column names (strings) or None, got {_fmt(value)}")
        return None
    return tuple(seq)


def check_number_list(problems: Problems, name: str, value, *, lo: float | None = None,
                      hi: float | None = None, hi_open: bool = False, rule: str | None = None):
    """None or a list/tuple of finite numbers, each within the interval; returns a tuple of floats."""
    if value is None:
        return None
    seq = _as_sequence(value)
    if seq is None or not all(_is_number(v) for v in seq):
        problems.error(f"{name} must be a list of numbers or None, got {_fmt(value)}")
        return None
    out = tuple(float(v) for v in seq)
    bad = [v for v in out if math.isnan(v) or math.isinf(v)
           or (lo is not None and v < lo)
           or (hi is not None and (v > hi or (hi_open and v == hi)))]
    if bad:
        if rule is None:
            rule = f"must all be in [{lo:g}, {hi:g}{')' if hi_open else ']'}" if hi is not None else \
                f"must all be >= {lo:g}"
        problems.error(f"{name} {rule}, got {list(out)}")
        return None
    return out


def check_hidden(problems: Problems, name: str, value):
    """A list/tuple of positive integers (empty allowed); returns a tuple of ints."""
    seq = _as_sequence(value)
    if seq is None or not all(_is_int(v) for v in seq):
        problems.error(
            f"{name} must be a list of positive integers (one size per hidden layer, e.g. [200, 200]), "
            f"got {_fmt(value)}"
        )
        return None
    out = tuple(int(v) for v in seq)
    if any(v <= 0 for v in out):
        problems.error(f"{name} layer sizes must all be positive integers, got {list(out)}")
        return None
    return out
