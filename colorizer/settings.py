"""Numbers an operator sets in the environment (limits, budgets, workers), read in one place.

A public server must not fail to start, or run without a limit, over a typo: a value that is not a finite
number above the floor is ignored with a ``RuntimeWarning`` naming the variable (it reaches the server log),
and the default stays. docs/deploy.md, "The limits and how to change them", lists every variable.
"""
from __future__ import annotations

import math
import os
import re
import warnings

__all__ = ["number_from_env", "is_positive_number"]

_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")


def is_positive_number(value: float, zero_ok: bool = False) -> bool:
    """A finite number above 0 (or at 0 with ``zero_ok``): NaN and infinity are not limits. (An int is finite
    however long: ``math.isfinite`` would overflow on one past a float's range.)"""
    return (isinstance(value, int) or math.isfinite(value)) and (value >= 0 if zero_ok else value > 0)


def number_from_env(name: str, default: int | float, kind: type = int, zero_ok: bool = False) -> int | float:
    """``$name`` as ``kind`` (thousands may be written 1,000 or 1_000); the default when it is unset or bad. A comma
    elsewhere is refused, not dropped: "1,5" is a decimal comma, and 15 would be a tenfold limit."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw.replace(",", "") if _THOUSANDS.fullmatch(raw) else raw)
    except ValueError:
        value = math.nan
    if is_positive_number(value, zero_ok):
        return value
    floor = "0 or more" if zero_ok else "above 0"
    warnings.warn(f"{name}={raw!r} is not a finite {'whole ' if kind is int else ''}number {floor}; "
                  f"using the default {default:,}", RuntimeWarning, stacklevel=2)
    return default
