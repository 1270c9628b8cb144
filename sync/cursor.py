"""Opaque cursors: a position in the change sequence, for the client a token.

The encoding is base64url (no padding) of ``"c1:<seq>"``; the version prefix
lets the format change later without old tokens being misread. The client
never looks inside; it stores the token and sends it back.
"""

from __future__ import annotations

import base64
import binascii
import re

from .errors import BadCursor
from .reasons import reason

_PREFIX = "c1:"
_BODY = re.compile(r"^c1:(0|[1-9][0-9]{0,18})$")
MAX_CURSOR_CHARS = 64


def encode_cursor(seq: int) -> str:
    if seq < 0:
        raise ValueError("a cursor position is never negative")
    return base64.urlsafe_b64encode(f"{_PREFIX}{seq}".encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """``None`` is the start of the log; anything undecodable is a 400."""
    if cursor is None:
        return 0
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS:
        raise BadCursor("bad_cursor", reason("bad_cursor"))
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("bad_cursor", reason("bad_cursor")) from None
    match = _BODY.match(text)
    if not match or encode_cursor(int(match.group(1))) != cursor:
        # The re-encoding check refuses alternative spellings of one position.
        raise BadCursor("bad_cursor", reason("bad_cursor"))
    return int(match.group(1))
