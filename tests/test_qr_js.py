"""The receipt's QR code encoder (pwa/static/js/qr.js) makes codes that a real reader decodes.

The SVG is drawn by qr.js in a real headless Chromium, screenshotted, and decoded by `zxing-cpp` (an independent
decoder): the text, the error-correction level (M), the version (the smallest that holds the text, versions 1–10)
and, with each of the eight mask patterns forced, the mask the reader finds in the format bits must all be right.
"""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from tests.browser import chromium, serve_static

TEXTS = [
    "A",
    "http://127.0.0.1:8000/track?code=08707-261125-0041",
    "https://dichvucong.phutho.gov.vn/track?code=TAM-0197a3c5-7e2b-7c11-9d0e-5f2a7b1c9e44",
    "Hồ sơ đăng ký hộ gia đình — Phường Vĩnh Yên",  # multi-byte UTF-8
    "https://motcua.example.vn/track?t=" + "x" * 150,  # version 9 or 10 territory
]

# Byte-mode capacity of error-correction level M, versions 1–10 (ISO/IEC 18004 table 7).
CAPACITY_M = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213]


@pytest.fixture(scope="module")
def page():
    with serve_static() as static_url, chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 800})
        page.goto(static_url + "/")
        page.evaluate("async () => { window.qr = await import('/js/qr.js'); }")
        yield page


def decode_drawn(page, text: str, mask: int | None = None) -> zxingcpp.Barcode:
    """Draw the SVG at 6 px a module, screenshot it and decode it with zxing-cpp."""
    page.evaluate("""([text, mask]) => {
        const svg = qr.qrSvg(text, { label: 'QR', mask });
        const modules = Number(svg.getAttribute('viewBox').split(' ')[2]);
        svg.setAttribute('width', modules * 6); svg.setAttribute('height', modules * 6);
        svg.id = 'code';
        document.body.replaceChildren(svg);
    }""", [text, mask])
    image = Image.open(io.BytesIO(page.locator("#code").screenshot()))
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, f"zxing-cpp found {len(results)} codes for {text!r} (mask {mask})"
    return results[0]


@pytest.mark.parametrize("text", TEXTS)
def test_the_drawn_svg_decodes_to_the_text_at_level_m(page, text):
    found = decode_drawn(page, text)
    assert found.text == text
    assert found.ec_level == "M"
    chosen = page.evaluate("(text) => qr.encode(text).mask", text)
    assert int(found.extra["DataMask"]) == chosen


@pytest.mark.parametrize("mask", range(8))
def test_each_mask_pattern_decodes(page, mask):
    text = TEXTS[2]
    found = decode_drawn(page, text, mask)
    assert (found.text, int(found.extra["DataMask"])) == (text, mask)


def test_the_smallest_version_is_used_from_one_to_ten(page):
    """At each version's capacity the text fits exactly; one more byte needs the next version."""
    for version, capacity in enumerate(CAPACITY_M, start=1):
        for length in (capacity, capacity + 1) if version < 10 else (capacity,):
            text = ("https://motcua.vn/track?code=" + "0123456789ABCDEF" * 20)[:length]
            expected = version if length == capacity else version + 1
            assert page.evaluate("(text) => qr.encode(text).version", text) == expected
            found = decode_drawn(page, text)
            assert found.text == text and int(found.extra["Version"]) == expected


def test_too_long_a_text_is_refused_in_words(page):
    message = page.evaluate("""() => { try { qr.encode('x'.repeat(214)); return ''; } catch (e) { return e.message; } }""")
    assert "do not fit" in message
