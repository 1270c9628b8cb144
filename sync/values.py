"""Canonical JSON values: one spelling per value, so that equality and hashes
do not depend on how a client happened to serialise it.

Why: JavaScript has one number type, so a client may send ``1`` where Python
produced ``1.0``; and in Python ``True == 1``, which must not make a checkbox
equal to a count. Every comparison of field values in sync goes through here.
"""

from __future__ import annotations

import json
import math
from typing import Any


def normalize(value: Any) -> Any:
    """Return ``value`` with integral floats turned into ints, recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text kept as is; NaN/Infinity refused."""
    return json.dumps(
        normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def json_size(value: Any) -> int:
    """Bytes of the canonical UTF-8 encoding: what limits are measured in."""
    return len(canonical_json(value).encode("utf-8"))


def same_value(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` differs from ``1``, ``1`` equals ``1.0``."""
    return canonical_json(a) == canonical_json(b)
