"""Verification of an uploaded document photo before it counts (docs/design.md "Attachments").

The server never trusts a file's name or declared type: it reads the bytes. An upload counts only if
it is one of JPEG, PNG, WebP or PDF by its magic number, is not empty and at most MAX_FILE_SIZE, has the
SHA-256 the device announced, and (for images) decodes completely with at most MAX_PIXELS pixels (a WebP's size
is read from its header before any decoder sees it). For an image, a small JPEG thumbnail (EXIF stripped,
orientation applied) is written next to it in storage.

Reasons are Vietnamese first, telling the person what to do, with an English version for logs and the API.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from server.attachments.storage import MiB, Storage, thumbnail_key_for

MAX_FILE_SIZE = 15 * MiB  # per file; the per-dossier total is the caller's to check
MAX_PIXELS = 50_000_000  # 50 megapixels: far above any phone photo, far below a decompression bomb
THUMBNAIL_EDGE = 320  # long edge of the thumbnail, in pixels
THUMBNAIL_QUALITY = 80
PDF_EOF_WINDOW = 1024  # "%%EOF" must appear within this many bytes of the end

# magic numbers → (content type, Pillow format name or None for PDF)
JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
PILLOW_FORMAT = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}


def sniff_type(head: bytes) -> str | None:
    """The real type from the first bytes, or None if it is none of the four allowed."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def webp_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from a WebP's first 30 bytes (RFC 9649 §2.5–2.7), or None when they are not there.

    Read before Pillow opens the file: Pillow's WebP reader allocates the whole canvas (twice, 4 bytes a pixel) as
    it opens, before its own decompression-bomb check, so a 30-byte header declaring 16384×16384 would cost 2 GiB."""
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":  # lossy: frame tag, start code, 14-bit sizes
        return (int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF)
    if chunk == b"VP8L" and head[20] == 0x2F:  # lossless: signature, then 14 bits each of width-1 and height-1
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: the canvas, 24 bits each of width-1 and height-1
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


@dataclass(frozen=True)
class Reason:
    code: str
    vi: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "vi": self.vi, "en": self.en}


REASONS = {
    "empty": Reason("empty", "Tệp trống, không có nội dung. Hãy chụp lại giấy tờ và gửi lại.",
                    "The file is empty. Take the photo again and resend it."),
    "too_large": Reason("too_large",
                        f"Tệp lớn hơn {MAX_FILE_SIZE // MiB} MB. Hãy chụp lại với chất lượng thấp hơn "
                        "hoặc chia tài liệu thành nhiều tệp.",
                        f"The file is larger than {MAX_FILE_SIZE // MiB} MB. Take the photo at a lower quality "
                        "or split the document into several files."),
    "size_mismatch": Reason("size_mismatch", "Tệp tải lên không đủ hoặc bị thừa dữ liệu. Hãy gửi lại tệp.",
                            "The uploaded size differs from the announced size. Send the file again."),
    "checksum_mismatch": Reason("checksum_mismatch",
                                "Tệp bị hỏng trong lúc tải lên (mã kiểm tra không khớp). Hãy gửi lại tệp.",
                                "The file was damaged during upload (checksum mismatch). Send it again."),
    "not_allowed_type": Reason("not_allowed_type",
                               "Tệp không phải ảnh JPEG, PNG, WebP hay PDF. Hãy chụp lại giấy tờ.",
                               "The file is not a JPEG, PNG, WebP image or a PDF. Photograph the document again."),
    "too_many_pixels": Reason("too_many_pixels",
                              f"Ảnh quá lớn (hơn {MAX_PIXELS // 1_000_000} triệu điểm ảnh) hoặc là tệp độc hại "
                              "giả dạng ảnh. Hãy chụp lại giấy tờ bằng điện thoại.",
                              f"The image has more than {MAX_PIXELS // 1_000_000} megapixels or is a "
                              "decompression bomb. Photograph the document again with a phone."),
    "broken_image": Reason("broken_image",
                           "Ảnh bị hỏng hoặc tải lên chưa hết, không mở được. Hãy gửi lại hoặc chụp lại giấy tờ.",
                           "The image is damaged or incompletely uploaded and cannot be opened. "
                           "Send it again or retake the photo."),
    "active_pdf": Reason("active_pdf",
                         "Tệp PDF có chứa mã lệnh hoặc tệp đính kèm (JavaScript, tự chạy khi mở) nên không được nhận. "
                         "Hãy in ra giấy rồi chụp lại, hoặc xuất lại PDF chỉ gồm trang giấy tờ.",
                         "The PDF carries scripts, actions that run when it opens, or embedded files, so it is "
                         "refused. Print and photograph it, or export a PDF of the pages only."),
    "broken_pdf": Reason("broken_pdf",
                         "Tệp PDF bị hỏng hoặc tải lên chưa hết. Hãy gửi lại tệp PDF.",
                         "The PDF is damaged or incompletely uploaded. Send the PDF again."),
}


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    content_type: str | None = None
    reason: Reason | None = None
    size: int = 0
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_key: str | None = None


def _refuse(code: str, **facts: Any) -> CheckResult:
    return CheckResult(ok=False, reason=REASONS[code], **facts)


def check_file(path: Path, expected_sha256: str, expected_size: int | None = None,
               max_size: int = MAX_FILE_SIZE, thumbnail_to: Path | None = None) -> CheckResult:
    """Verify a local file (blocking: call it in a thread). With `thumbnail_to`, write an image's thumbnail."""
    size = path.stat().st_size
    if size == 0:
        return _refuse("empty")
    if size > max_size:
        return _refuse("too_large", size=size)
    if expected_size is not None and size != expected_size:
        return _refuse("size_mismatch", size=size)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        head = handle.read(32)  # the magic number, and a WebP's declared size
        digest.update(head)
        while chunk := handle.read(64 * 1024):
            digest.update(chunk)
    sha256 = digest.hexdigest()
    if sha256 != expected_sha256.lower():
        return _refuse("checksum_mismatch", size=size, sha256=sha256)
    content_type = sniff_type(head)
    facts = {"size": size, "sha256": sha256, "content_type": content_type}
    if content_type is None:
        return _refuse("not_allowed_type", **facts)
    if content_type == PDF:
        return _check_pdf(path, size, facts)
    if content_type == WEBP:
        declared = webp_size(head)
        if declared is None:
            return _refuse("broken_image", **facts)
        if declared[0] * declared[1] > MAX_PIXELS:
            return _refuse("too_many_pixels", **facts, width=declared[0], height=declared[1])
    return _check_image(path, content_type, facts, thumbnail_to)


def _check_pdf(path: Path, size: int, facts: dict[str, Any]) -> CheckResult:
    with open(path, "rb") as handle:
        handle.seek(max(0, size - PDF_EOF_WINDOW))
        tail = handle.read()
    if b"%%EOF" not in tail:
        return _refuse("broken_pdf", **facts)
    if pdf_is_active(path.read_bytes()):
        return _refuse("active_pdf", **facts)
    return CheckResult(ok=True, **facts)


# Names that make a PDF do something when opened or clicked, rather than show pages (ISO 32000-1 §12.6, §12.7,
# §7.11.4): scripts, automatic and additional actions, launching programs, embedded files and rich media, forms
# that submit or import. A scanned document has no use for any of them.
ACTIVE_PDF_NAMES = re.compile(rb"/(?:JavaScript|JS|OpenAction|AA|Launch|EmbeddedFiles?|RichMedia|XFA|SubmitForm|"
                              rb"ImportData|GoToE|GoToR)(?![A-Za-z0-9])")
PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
MAX_INFLATED_PDF = 64 * MiB  # object streams are read up to this much in all; beyond it the PDF is refused


def pdf_is_active(data: bytes) -> bool:
    """Whether the PDF names any active feature, written plainly, with #xx escapes in the name, or inside a
    compressed object stream. Stream contents (images, page drawings) are binary and not read for names, so a
    photo's bytes cannot look like an action by chance. Errs on the side of refusing: paper can be photographed."""
    def names_active(chunk: bytes) -> bool:
        return bool(ACTIVE_PDF_NAMES.search(PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), chunk)))

    budget = MAX_INFLATED_PDF
    position = 0
    for stream in PDF_STREAM.finditer(data):
        dictionary = data[position:stream.start()]
        if names_active(dictionary):
            return True
        position = stream.end()
        header = dictionary[dictionary.rfind(b"obj"):]
        if b"/ObjStm" in header and b"/FlateDecode" in header:
            inflater = zlib.decompressobj()
            try:
                objects = inflater.decompress(stream.group(1), budget + 1)
            except zlib.error:
                continue  # unreadable here, and unreadable to a viewer as objects
            budget -= len(objects)
            if budget < 0 or names_active(objects):
                return True
    return names_active(data[position:])


def _check_image(path: Path, content_type: str, facts: dict[str, Any], thumbnail_to: Path | None) -> CheckResult:
    # A file saved while another module allowed truncated images must still be refused here.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set: truncated uploads would pass")
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit and raises above twice that; both mean a bomb here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[PILLOW_FORMAT[content_type]]) as image:
                width, height = image.size
                facts |= {"width": width, "height": height}
                # Our own, lower limit, checked from the header before any pixel is decoded.
                if width * height > MAX_PIXELS:
                    return _refuse("too_many_pixels", **facts)
                image.load()  # decodes everything: a truncated or corrupt file fails here
                if thumbnail_to is not None:
                    _write_thumbnail(image, thumbnail_to)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _refuse("too_many_pixels", **facts)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return _refuse("broken_image", **facts)
    return CheckResult(ok=True, **facts)


def _write_thumbnail(image: Image.Image, target: Path) -> None:
    """JPEG, long edge THUMBNAIL_EDGE, turned upright by its EXIF orientation, saved without metadata."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "P", "PA"):
        upright = upright.convert("RGBA")
        background = Image.new("RGB", upright.size, "white")
        background.paste(upright, mask=upright.getchannel("A"))
        upright = background
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    upright.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
    # Pillow writes no EXIF unless asked: GPS and camera data stay behind.
    upright.save(target, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)


async def verify_object(storage: Storage, key: str, expected_sha256: str, expected_size: int | None = None,
                        max_size: int = MAX_FILE_SIZE) -> CheckResult:
    """Verify an object in storage; for a valid image, store its thumbnail under thumbnail_key_for(sha256).

    The size is read from the store first, so an oversized object is refused without downloading it; the
    bytes are then streamed to a temp file (never held in memory) and checked there.
    """
    size = await storage.size(key)
    if size == 0:
        return _refuse("empty")
    if size > max_size:
        return _refuse("too_large", size=size)
    with tempfile.TemporaryDirectory(prefix="motcua-check-") as folder:
        local, thumbnail = Path(folder) / "upload", Path(folder) / "thumbnail.jpg"
        written = 0
        chunks = await storage.open_read(key)
        try:
            with open(local, "wb") as out:
                async for chunk in chunks:
                    written += len(chunk)
                    if written > max_size:  # the object grew after size(): stop reading
                        return _refuse("too_large", size=written)
                    await run_in_threadpool(out.write, chunk)
        finally:
            await chunks.aclose()
        result = await run_in_threadpool(check_file, local, expected_sha256, expected_size, max_size, thumbnail)
        if result.ok and result.sha256 is not None and thumbnail.exists():
            thumbnail_key = thumbnail_key_for(result.sha256)
            await storage.put_file(thumbnail_key, thumbnail, content_type=JPEG)
            result = CheckResult(**{**result.__dict__, "thumbnail_key": thumbnail_key})
        return result
