"""The catalog index packed for the wire (GET /api/procedures?view=packed), what the app keeps offline for its list
and search (pwa/static/js/packed.js reads it; docs/catalog.md "The index on the wire").

Names are most of the index (~80 % of its bytes after Brotli), and in UTF-8 most Vietnamese letters take three bytes
("ệ" is E1 BB 87) whose first two say little: Brotli's context model then predicts the next letter worse. Written one
byte a letter (printable ASCII as is; the 134 accented Vietnamese letters and a few typographic signs, in a table
both sides build the same way, as 0x80–0xFF and then 0x01–0x0D, like VISCII), the same names compress ~7 % smaller.
The procedures are listed by code (the app orders its list itself, search.js), so that national codes (1.001193)
travel as the difference from the one before: 278 bytes for 260 codes instead of 652. The body:

    {"total":…,"c":"first national code as a number (1001193), then differences, joined by ,","f":number of fields,
     "o":"the other codes (TEST.0001), joined by ,","v":{"i":version≠1},"s":[positions "4 tại chỗ"],
     "u":[lines not starting with a capital],"x":{"line":a text with a character outside the table}}\n
    one byte per procedure: its field's number (when there are at most 255 fields; else "k" in the header)
    field 0\nfield 1\n…\nname 0\nname 1\n…        (one byte a letter)

"o", "v", "s", "u", "x" are left out when empty. Procedures with a national code come first, by code, then the others
by code. The header is JSON in UTF-8 (it holds no raw line break). Lines are numbered fields first, then names. A line
whose text begins with a capital travels with it lowered and the reader raises it, unless the line is in "u". A text
with a character outside the table (none in the shipped catalog) is left empty and given whole in "x".
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Iterable

BASE_VOWELS = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none, huyền, sắc, hỏi, ngã, nặng


def vietnamese_letters() -> list[str]:
    """The accented letters, in the order pwa/static/js/packed.js builds them: each base vowel with each tone
    (those that are not ASCII), then đ, Đ. 134 letters."""
    letters = [unicodedata.normalize("NFC", base + tone) for base in BASE_VOWELS for tone in TONE_MARKS]
    return [letter for letter in letters if ord(letter) >= 128] + ["đ", "Đ"]


LETTERS = vietnamese_letters()
# Typography of published names (the `procedures` table cuts a name at 500 characters with "…").
PUNCTUATION = "…–—“”‘’"
# 128 characters fill 0x80–0xFF, the others take control bytes from 0x01 (skipping the line break): the importer's
# cleaning removes control characters from names and fields, so those bytes are free; a text that has one goes
# whole in "x".
FREE_BYTES = [*range(0x80, 0x100), *range(0x01, 0x0A), *range(0x0B, 0x20)]
BYTE_OF = dict(zip([*LETTERS, *PUNCTUATION], FREE_BYTES))
CHAR_OF = {byte: char for char, byte in BYTE_OF.items()} | {b: chr(b) for b in range(0x20, 0x7F)}


LOWER_OF = {upper: lower for upper, lower in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")} | {
    upper: lower for upper in LETTERS if (lower := upper.lower()) != upper and lower in BYTE_OF}
UPPER_OF = {lower: upper for upper, lower in LOWER_OF.items()}


def capitalised(text: str) -> bool:
    """Whether the text begins with a capital the reader can raise again (ASCII or a Vietnamese letter): such a text
    travels with it lowered, which Brotli matches against the words of other names (a field "Hộ tịch" against "…
    đăng ký hộ tịch"): ~1 % of the index."""
    return bool(text) and text[0] in LOWER_OF


def pack_text(text: str) -> bytes | None:
    """One byte a letter, or None when the text has a character outside ASCII and the table (or a line break)."""
    out = bytearray()
    for char in text:
        code = ord(char)
        if 0x20 <= code < 0x7F:
            out.append(code)
        elif char in BYTE_OF:
            out.append(BYTE_OF[char])
        else:
            return None
    return bytes(out)


def unpack_text(data: bytes) -> str:
    return "".join(CHAR_OF[b] for b in data)


NATIONAL_CODE = re.compile(r"[1-9]\.[0-9]{6}")  # 1.001193: as a number, 1001193


def code_number(code: str) -> int | None:
    return int(code[0]) * 1_000_000 + int(code[2:]) if NATIONAL_CODE.fullmatch(code) else None


def pack_index(rows: Iterable[tuple[str, str, str, int, bool]], total: int) -> bytes:
    """rows: (code, name, field, version, on_the_spot), listed by code (national codes first)."""
    rows = sorted(rows, key=lambda row: (code_number(row[0]) is None, code_number(row[0]) or 0, row[0]))
    numbers = [number for row in rows if (number := code_number(row[0])) is not None]
    fields: dict[str, int] = {}
    kinds = [fields.setdefault(field, len(fields)) for _, _, field, _, _ in rows]
    lines: list[bytes] = []
    outside: dict[str, str] = {}
    as_written: list[int] = []
    for number, text in enumerate([*fields, *(name for _, name, _, _, _ in rows)]):
        packed = pack_text(LOWER_OF[text[0]] + text[1:] if capitalised(text) else text)
        if not capitalised(text):
            as_written.append(number)
        if packed is None:
            outside[str(number)] = text
            packed = b""
        lines.append(packed)
    others = ",".join(row[0] for row in rows[len(numbers):])
    versions = {str(i): row[3] for i, row in enumerate(rows) if row[3] != 1}
    spot = [i for i, row in enumerate(rows) if row[4]]
    header: dict[str, Any] = {"total": total, "c": ",".join(str(b - a) for a, b in zip([0, *numbers], numbers)),
                              "f": len(fields)}
    # Left out when empty, as the reader's defaults.
    header.update((key, value) for key, value in (("o", others), ("v", versions), ("s", spot), ("u", as_written),
                                                  ("x", outside)) if value)
    small = len(fields) <= 255
    if not small:
        header["k"] = kinds
    return (json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            + (bytes(kinds) if small else b"") + b"\n".join(lines))


def unpack_index(body: bytes) -> list[dict[str, Any]]:
    """The procedures of a packed index, as pwa/static/js/packed.js reads them (for tests and the benchmark)."""
    cut = body.index(b"\n")
    header = json.loads(body[:cut])
    codes, number = [], 0
    for difference in filter(None, header["c"].split(",")):
        number += int(difference)
        codes.append(f"{number // 1_000_000}.{number % 1_000_000:06d}")
    codes += filter(None, header.get("o", "").split(","))
    kinds = header.get("k") or list(body[cut + 1:cut + 1 + len(codes)])
    start = cut + 1 + (0 if "k" in header else len(codes))
    lines = [unpack_text(line) for line in body[start:].split(b"\n")] if codes else []
    written = set(header.get("u", []))
    lines = [line if i in written or not line else UPPER_OF[line[0]] + line[1:] for i, line in enumerate(lines)]
    for line, text in header.get("x", {}).items():
        lines[int(line)] = text
    fields, names = lines[:header["f"]], lines[header["f"]:]
    spot = set(header.get("s", []))
    return [{"code": code, "name": names[i], "field": fields[kinds[i]], "version": header.get("v", {}).get(str(i), 1),
             "on_the_spot": i in spot} for i, code in enumerate(codes)]
