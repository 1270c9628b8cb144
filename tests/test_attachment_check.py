"""What the server accepts as a document photo, and what it refuses with which reason."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from server.attachments.checks import (MAX_FILE_SIZE, MAX_PIXELS, THUMBNAIL_EDGE, check_file, verify_object,
                                       webp_size)
from server.attachments.storage import FileStorage, staging_key, thumbnail_key_for

EXIF_ORIENTATION, EXIF_GPS_INFO = 0x0112, 0x8825


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def photo(fmt: str, size=(640, 480), mode="RGB", **save) -> bytes:
    image = Image.new(mode, size, "white" if mode == "RGB" else 0)
    image.paste((30, 60, 200) if mode == "RGB" else 128, (40, 40, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def small_pdf() -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return body + b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref


def png_declaring(width: int, height: int) -> bytes:
    """A real 1-bit PNG of the given size, all black: it compresses ~1000:1 (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes((width + 7) // 8)
    compressor, idat = zlib.compressobj(9), bytearray()
    rows_per_step = max(1, (1 << 20) // len(row))
    for start in range(0, height, rows_per_step):
        idat += compressor.compress(row * min(rows_per_step, height - start))
    idat += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bytes(idat)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt,content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_images_of_each_allowed_type_are_accepted(tmp_path, fmt, content_type):
    data = photo(fmt)
    thumbnail = tmp_path / "thumb.jpg"
    result = check_file(write(tmp_path, "upload.bin", data), sha256(data), len(data), thumbnail_to=thumbnail)
    assert result.ok, result.reason
    assert (result.content_type, result.width, result.height, result.sha256) == (content_type, 640, 480, sha256(data))
    with Image.open(thumbnail) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == THUMBNAIL_EDGE


def test_a_small_pdf_is_accepted_without_a_thumbnail(tmp_path):
    data = small_pdf()
    thumbnail = tmp_path / "thumb.jpg"
    result = check_file(write(tmp_path, "giay-to.pdf", data), sha256(data), thumbnail_to=thumbnail)
    assert result.ok and result.content_type == "application/pdf"
    assert not thumbnail.exists()


def test_a_text_file_named_jpg_is_refused_by_its_bytes(tmp_path):
    data = "Đây không phải là ảnh.\n".encode() * 20
    result = check_file(write(tmp_path, "giay-khai-sinh.jpg", data), sha256(data))
    assert not result.ok
    assert result.reason.code == "not_allowed_type"
    assert result.reason.vi == "Tệp không phải ảnh JPEG, PNG, WebP hay PDF. Hãy chụp lại giấy tờ."


def test_a_truncated_jpeg_is_refused(tmp_path):
    data = photo("JPEG", size=(800, 600), quality=90)[:-2000]
    result = check_file(write(tmp_path, "cut.jpg", data), sha256(data))
    assert not result.ok and result.reason.code == "broken_image"
    assert "tải lên chưa hết" in result.reason.vi


def test_a_pdf_without_its_end_marker_is_refused(tmp_path):
    data = small_pdf().replace(b"%%EOF", b"")
    result = check_file(write(tmp_path, "cut.pdf", data), sha256(data))
    assert not result.ok and result.reason.code == "broken_pdf"


@pytest.mark.parametrize("width,height,why", [
    (30_000, 30_000, "above twice Pillow's limit: Pillow raises DecompressionBombError"),
    (10_000, 10_000, "above Pillow's limit: Pillow only warns, the warning must refuse it too"),
    (10_000, 6_000, "under Pillow's limit but above our own MAX_PIXELS"),
])
def test_decompression_bombs_are_refused_before_decoding(tmp_path, width, height, why):
    data = png_declaring(width, height)
    assert len(data) < 200_000 and width * height > MAX_PIXELS
    result = check_file(write(tmp_path, "bomb.png", data), sha256(data))
    assert not result.ok, why
    assert result.reason.code == "too_many_pixels"
    assert "triệu điểm ảnh" in result.reason.vi


def webp_declaring(kind: str, width: int, height: int) -> bytes:
    """A real small WebP whose header is rewritten to declare width × height: a decompression bomb's 30 bytes."""
    save = {"VP8 ": {"quality": 50}, "VP8L": {"lossless": True}, "VP8X": {"quality": 50, "exif": Image.Exif().tobytes()}}
    data = bytearray(photo("WEBP", size=(64, 48), **save[kind]))
    assert data[12:16] == kind.encode()
    if kind == "VP8 ":
        data[26:28], data[28:30] = width.to_bytes(2, "little"), height.to_bytes(2, "little")
    elif kind == "VP8L":
        bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
        data[21:25] = (bits | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    else:
        data[24:27], data[27:30] = (width - 1).to_bytes(3, "little"), (height - 1).to_bytes(3, "little")
    return bytes(data)


@pytest.mark.parametrize("kind", ["VP8 ", "VP8L", "VP8X"])
def test_a_webp_declaring_a_huge_canvas_is_refused_before_pillow_opens_it(tmp_path, kind, monkeypatch):
    """Pillow's WebP reader allocates the whole canvas as it opens the file, before its own bomb check."""
    assert webp_size(webp_declaring(kind, 64, 48)) == (64, 48) == Image.open(io.BytesIO(photo("WEBP", (64, 48)))).size
    data = webp_declaring(kind, 16383, 16383)
    assert webp_size(data) == (16383, 16383)

    def no_opening(*args, **kwargs):
        raise AssertionError("Pillow was asked to open a WebP bomb")

    monkeypatch.setattr(Image, "open", no_opening)
    result = check_file(write(tmp_path, "bomb.webp", data), sha256(data))
    assert not result.ok and result.reason.code == "too_many_pixels"
    assert (result.width, result.height) == (16383, 16383)


@pytest.mark.parametrize("cut", [40, 200])
def test_a_truncated_webp_is_refused(tmp_path, cut):
    data = photo("WEBP", size=(800, 600), quality=80)[:-cut]
    result = check_file(write(tmp_path, "cut.webp", data), sha256(data))
    assert not result.ok and result.reason.code == "broken_image"


def test_a_webp_too_short_to_declare_its_size_is_refused(tmp_path):
    data = b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00"
    result = check_file(write(tmp_path, "short.webp", data), sha256(data))
    assert not result.ok and result.reason.code == "broken_image"


def test_an_oversized_file_is_refused(tmp_path):
    data = photo("JPEG") + bytes(MAX_FILE_SIZE)  # a valid JPEG followed by padding: too big all the same
    result = check_file(write(tmp_path, "big.jpg", data), sha256(data))
    assert not result.ok and result.reason.code == "too_large"
    assert "15 MB" in result.reason.vi


def test_a_wrong_sha256_is_refused(tmp_path):
    data = photo("PNG")
    result = check_file(write(tmp_path, "a.png", data), sha256(data + b"x"))
    assert not result.ok and result.reason.code == "checksum_mismatch"
    assert result.reason.en.startswith("The file was damaged")


def test_an_empty_file_is_refused(tmp_path):
    result = check_file(write(tmp_path, "empty.jpg", b""), sha256(b""))
    assert not result.ok and result.reason.code == "empty"


def test_the_thumbnail_is_upright_and_carries_no_exif(tmp_path):
    # Landscape sensor data, left half red and right half blue, tagged "rotate 90° clockwise to view"
    # (orientation 6), with a GPS position that must not leave the server.
    image = Image.new("RGB", (800, 400), (220, 0, 0))
    image.paste((0, 0, 220), (400, 0, 800, 400))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    exif[EXIF_GPS_INFO] = {1: "N", 2: (21.0, 18.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif()[EXIF_ORIENTATION] == 6  # the test photo does carry the tags

    thumbnail = tmp_path / "thumb.jpg"
    assert check_file(write(tmp_path, "p.jpg", data), sha256(data), thumbnail_to=thumbnail).ok
    with Image.open(thumbnail) as thumb:
        assert thumb.size == (160, 320)  # portrait once turned
        assert not thumb.getexif() and "exif" not in thumb.info
        top, bottom = thumb.getpixel((80, 10)), thumb.getpixel((80, 310))
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # left half (red) is now on top


def test_verify_object_streams_from_storage_and_stores_the_thumbnail(tmp_path):
    storage = FileStorage(tmp_path / "blobs", secret_key="k" * 40)
    (tmp_path / "blobs").mkdir()
    data, key = photo("JPEG", size=(1200, 900)), staging_key("upload-0001")

    async def scenario():
        (tmp_path / "src.jpg").write_bytes(data)
        await storage.put_file(key, tmp_path / "src.jpg")
        good = await verify_object(storage, key, sha256(data), len(data))
        wrong = await verify_object(storage, key, sha256(b"other"), len(data))
        too_big = await verify_object(storage, key, sha256(data), max_size=len(data) - 1)
        return good, wrong, too_big

    good, wrong, too_big = asyncio.run(scenario())
    assert good.ok and good.thumbnail_key == thumbnail_key_for(sha256(data))
    with Image.open(storage.path_for(good.thumbnail_key)) as thumb:
        assert thumb.size == (320, 240)
    assert wrong.reason.code == "checksum_mismatch"
    assert too_big.reason.code == "too_large"


def pdf_with(catalog_extra: bytes, extra_objects: tuple[bytes, ...] = ()) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>", *extra_objects]
    body, offsets = b"%PDF-1.7\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def compressed_object_stream(content: bytes) -> bytes:
    packed = zlib.compress(content)
    return b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed) + packed + \
        b"\nendstream"


@pytest.mark.parametrize("catalog_extra, extra_objects, why", [
    (b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", (), "runs a script when opened"),
    (b"/Names << /JavaScript 4 0 R >>", (b"<< /Names [(a) << /S /JavaScript /JS (x) >>] >>",), "document scripts"),
    (b"/O#70enAction 4 0 R", (b"<< /S /J#61vaScript /J#53 (x) >>",), "names hidden with #xx escapes"),
    (b"/AA << /WC << /S /Launch /F (cmd.exe) >> >>", (), "additional actions that launch a program"),
    (b"", (compressed_object_stream(b"4 0 << /S /JavaScript /JS (app.alert(1)) >>"),), "inside a compressed stream"),
    (b"/Names << /EmbeddedFiles 4 0 R >>", (b"<< /Names [] >>",), "embedded files"),
])
def test_a_pdf_with_scripts_or_automatic_actions_is_refused(tmp_path, catalog_extra, extra_objects, why):
    data = pdf_with(catalog_extra, extra_objects)
    result = check_file(write(tmp_path, "giay-to.pdf", data), sha256(data))
    assert not result.ok and result.reason.code == "active_pdf", why
    assert "JavaScript" in result.reason.vi


def test_a_plain_pdf_with_a_compressed_page_is_accepted(tmp_path):
    data = pdf_with(b"", (compressed_object_stream(b"BT /F1 12 Tf (Giay khai sinh) Tj ET"),))
    assert check_file(write(tmp_path, "giay-to.pdf", data), sha256(data)).ok
