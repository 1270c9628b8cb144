"""The QR code printed on every document: the dossier's signed tracking link (segno, pure Python).

SVG for the HTML page (inline, no style attributes, so the CSP's style-src 'self' holds) and PNG for the PDF.
Error correction M: a receipt gets folded and creased, and M still keeps a ~75-character link at version 5.
"""

from __future__ import annotations

import io

import segno


def qr_svg(url: str, *, title: str = "Mã QR tra cứu hồ sơ") -> str:
    """An inline <svg> that scales with its box (CSS sets the printed size)."""
    code = segno.make(url, error="m")
    return code.svg_inline(scale=1, border=2, title=title, svgclass="qr", lineclass="qr-modules",
                           omitsize=True, dark="#000")


def qr_png(url: str, *, scale: int = 8) -> bytes:
    code = segno.make(url, error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()
