"""The words people read (docs/pwa.md "Words"): every Vietnamese text a citizen or an officer can be shown.

The rules, each checked over every such text in the code:
- The citizen is addressed as "Ông/Bà"; "bạn" is written nowhere (officers' messages name no one: "Tài khoản
  không có quyền…", "Cần đăng nhập…").
- The personal identifier is "số định danh cá nhân" (or "số định danh cá nhân / thẻ căn cước"), never "CCCD":
  the data keys (`cccd`, `requester_cccd`) are code, not words, and stay.
- Field intake is "tiếp nhận lưu động", never "tiếp nhận tại chỗ".
- No status numbers ("trạng thái 4") and no technical terms (UUID, ISO 8601, YYYY-MM-DD, JSON, HTTP, mutation,
  sync) in Vietnamese: "Ngày phải có dạng ngày/tháng/năm". The English texts (message_en) may keep precise terms.

Where the texts are: Python string constants with Vietnamese letters in server/ (ApiError and rejection messages,
notices, status names, page words; docstrings and comments are for developers and are skipped), the string
literals of pwa/static/js (i18n.js and every tr("…", "…")), and the Jinja templates of pwa/templates (the v1
documents are the old Circular 01/2018 forms, kept as printed then, and are skipped).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)

# Forbidden in any text a person reads, in either language.
EVERYWHERE = {
    "CCCD": re.compile(r"\bCCCD\b"),
    "bạn": re.compile(r"(?<![\wÀ-ỹ])bạn(?![\wÀ-ỹ])", re.I),
    "tiếp nhận tại chỗ": re.compile(r"tiếp nhận tại chỗ", re.I),
    "ông/bà in lower case": re.compile(r"ông/bà|ông, bà"),
}
# Forbidden in Vietnamese texts only.
IN_VIETNAMESE = {
    "a status number": re.compile(r"trạng thái \{?\w*\}?\s*\d|trạng thái \{(status|code)[^}]*\}", re.I),
    "UUID": re.compile(r"UUID", re.I),
    "ISO 8601": re.compile(r"\bISO\b"),
    "YYYY-MM-DD": re.compile(r"YYYY|yyyy|MM-DD"),
    "JSON": re.compile(r"\bJSON\b", re.I),
    "HTTP": re.compile(r"\bHTTP\b", re.I),
    "mutation": re.compile(r"\bmutations?\b", re.I),
    "sync": re.compile(r"\bsync\b", re.I),
}


def _python_texts(path: Path) -> list[tuple[int, str]]:
    """String constants (f-strings with {…} for their expressions) that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    texts = []
    inside_fstring = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstring.add(id(value))
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                elif isinstance(value, ast.FormattedValue):
                    parts.append("{" + ast.unparse(value.value) + "}")
            texts.append((node.lineno, "".join(parts)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                and id(node) not in inside_fstring:
            texts.append((node.lineno, node.value))
    return texts


def _js_texts(path: Path) -> list[tuple[int, str]]:
    """The string and template literals of a module (comments and regular expressions skipped)."""
    source = path.read_text(encoding="utf-8")
    texts, i, line, previous = [], 0, 1, ""
    while i < len(source):
        c = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = len(source) if end < 0 else end
        elif source.startswith("/*", i):
            end = source.index("*/", i) + 2
            line += source.count("\n", i, end)
            i = end
        elif c in "\"'`":
            j, chars = i + 1, []
            while source[j] != c:
                if source[j] == "\\":
                    chars.append(source[j:j + 2])
                    j += 2
                    continue
                chars.append(source[j])
                j += 1
            text = "".join(chars)
            texts.append((line, re.sub(r"\$\{[^}]*\}", "{…}", text) if c == "`" else text))
            line += source.count("\n", i, j)
            i, previous = j + 1, c
        elif c == "/" and (previous in "(,=:[!&|?{};" or previous == "" or source[:i].rstrip().endswith("return")):
            j = i + 1  # a regular expression literal
            in_class = False
            while source[j] != "/" or in_class:
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                j += 1
            i, previous = j + 1, "/"
        else:
            if c == "\n":
                line += 1
            if not c.isspace():
                previous = c
            i += 1
    return texts


def _template_texts(path: Path) -> list[tuple[int, str]]:
    """A template's lines, without Jinja and HTML comments."""
    source = re.sub(r"\{#.*?#\}|<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"),
                    flags=re.S)
    return list(enumerate(source.splitlines(), 1))


def _sources():
    for path in sorted((ROOT / "server").rglob("*.py")):
        if path.name == "openapi.py":
            continue  # the API's description, for developers (in English)
        yield path, _python_texts(path)
    for path in sorted((ROOT / "pwa" / "static").rglob("*.js")):
        yield path, _js_texts(path)
    for path in sorted((ROOT / "pwa" / "templates").rglob("*.html")):
        if ".v1." not in path.name:
            yield path, _template_texts(path)


def test_the_scanner_sees_the_texts():
    """A guard for the scanner itself: it finds texts that are known to exist in each kind of file."""
    found = {path.relative_to(ROOT).as_posix(): [text for _, text in texts] for path, texts in _sources()}
    assert any("Ông/Bà" in text for text in found["server/notify/notices.py"])
    assert any("Đang lưu…" == text for text in found["pwa/static/js/i18n.js"])
    assert any("Ông/Bà" in text for text in found["pwa/templates/documents/apology.v2.html"])


@pytest.mark.parametrize("path,texts", list(_sources()), ids=lambda value: value.relative_to(ROOT).as_posix()
                         if isinstance(value, Path) else "")
def test_no_forbidden_words(path, texts):
    problems = []
    for line, text in texts:
        rules = dict(EVERYWHERE)
        # Templates mix both languages on one line; their Vietnamese half is checked with the Python rules too.
        if VIETNAMESE.search(text) and path.suffix != ".html":
            rules.update(IN_VIETNAMESE)
        for name, pattern in rules.items():
            if pattern.search(text):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {name}: {text.strip()[:160]}")
    assert not problems, "\n".join(problems)


def test_every_status_has_a_name_for_citizens_and_one_for_officers():
    """Officers read the national portal's names; citizens read names written for them (docs/pwa.md "Words")."""
    from server.dossiers.status import CITIZEN_NAMES, NAMES, DossierStatus

    assert set(CITIZEN_NAMES) == set(NAMES) == set(DossierStatus)
    for status in DossierStatus:
        assert status.citizen_vi and status.citizen_en and not re.search(r"\d", status.citizen_vi)
    assert DossierStatus.SUBMITTED.citizen_vi == "Đã nộp, chờ tiếp nhận"
    assert DossierStatus.SUBMITTED.name_vi == "Mới đăng ký"
