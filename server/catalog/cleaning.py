"""Cleaning published text for the catalog: whitespace and markup out, Vietnamese kept NFC and as published."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from server.vietnamese import nfc

MAX_TEXT = 100_000  # one text value of a record; the longest seen is ~10,000 characters
CODE_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")
EARLIEST = date(2025, 7, 1)  # the two-tier local government: no catalog in force today is older (docs/catalog.md)

_BREAK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h[1-6])\b[^>]{0,1000}>", re.IGNORECASE)
_TAGS = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]{0,1000}>")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\u200b\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class Problems:
    """What one record's mapping found: refusals (the file is not imported) and notes (mapped around, reported)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.refused: list[str] = []
        self.notes: list[str] = []

    def refuse(self, field: str, what: str) -> None:
        self.refused.append(f"{self.where}: {field}: {what}")

    def note(self, field: str, what: str) -> None:
        self.notes.append(f"{self.where}: {field}: {what}")


def clean_text(value: Any, field: str, problems: Problems, *, one_line: bool = False) -> str:
    """Text without markup, control characters, doubled spaces or blank runs; NFC. Non-text is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.refuse(field, f"expected text, found {type(value).__name__}")
        return ""
    if len(value) > MAX_TEXT:
        problems.refuse(field, f"text of {len(value)} characters (at most {MAX_TEXT})")
        return ""
    text = value
    if "<" in text:
        text = _TAGS.sub(" ", _BREAK_TAGS.sub("\n", text))
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n"))
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.split("\n"))).strip()
    if one_line:
        text = " ".join(text.split("\n"))
    return nfc(text)


def clean_code(value: Any, field: str, problems: Problems) -> str:
    code = clean_text(value, field, problems, one_line=True)
    if not CODE_PATTERN.fullmatch(code):
        problems.refuse(field, f"not a procedure code: {code[:40]!r}")
    return code


def limited(text: str, limit: int, field: str, problems: Problems) -> str:
    if len(text) > limit:
        problems.refuse(field, f"{len(text)} characters (at most {limit})")
    return text
