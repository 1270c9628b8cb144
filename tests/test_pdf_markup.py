"""Text that people typed is printed as written on every PDF: never a link, never bold or italics by accident."""

from __future__ import annotations

import io

import pypdf
from hypothesis import given, settings
from hypothesis import strategies as st

from server.documents.pdf import render_pdf

HOSTILE_NAMES = ["[Nguyễn Văn A](https://evil.example/phish)", "**Trần** __Thị__ --B-- ~~C~~",
                 "a\\**b", "\\[x](javascript:alert(1))", "Lê ****** ____ \\\\ \\"]


def page(name: str) -> str:
    from html import escape

    return (f"<html><body><article><h1>GIẤY TIẾP NHẬN</h1><p>Ông/bà: <b>{escape(name)}</b></p>"
            f"<table class=\"grid\"><tr><th>Tên</th></tr><tr><td>{escape(name)}</td></tr></table>"
            f"<footer>{escape(name)}</footer></article></body></html>")


def text_and_links(pdf: bytes) -> tuple[str, list]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    links = [a for p in reader.pages for a in (p.get("/Annots") or [])]
    return "\n".join(p.extract_text() for p in reader.pages), links


def test_a_name_written_as_a_markdown_link_is_printed_not_linked():
    for name in HOSTILE_NAMES:
        text, links = text_and_links(render_pdf(page(name), title="t"))
        assert links == [], name
        assert f"Ông/bà: {name}" in text.splitlines(), (name, text)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]()*_-~\\:/ aăâbđêôơư.")), min_size=1, max_size=40))
def test_no_typed_text_becomes_a_link(name):
    _, links = text_and_links(render_pdf(page(name), title="t"))
    assert links == []
