"""Verification of an uploaded document photo before it counts (DESIGN.md, Attachments).

The server never trusts a file's name or declared type: it reads the bytes. An upload counts only if
it is one of JPEG, PNG, WebP or PDF by its magic number, is not empty and at most MAX_FILE_SIZE, has the
SHA-256 the device announced, and (for images) decodes completely with at most MAX_PIXELS pixels. For an
image, a small JPEG thumbnail (EXIF stripped, orientation applied) is written next to it in storage.

Reasons are Vietnamese first, telling the person what to do, with an English version for logs and the API.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from server.storage import MiB, Storage, thumbnail_key_for

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


@dataclass(frozen=True)
class Reason:
    code: str
    vi: str
    en: str

    def as_dict(self) -> dict:
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


def _refuse(code: str, **facts) -> CheckResult:
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
        head = handle.read(16)
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
    return _check_image(path, content_type, facts, thumbnail_to)


def _check_pdf(path: Path, size: int, facts: dict) -> CheckResult:
    with open(path, "rb") as handle:
        handle.seek(max(0, size - PDF_EOF_WINDOW))
        tail = handle.read()
    if b"%%EOF" not in tail:
        return _refuse("broken_pdf", **facts)
    return CheckResult(ok=True, **facts)


def _check_image(path: Path, content_type: str, facts: dict, thumbnail_to: Path | None) -> CheckResult:
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
        if result.ok and thumbnail.exists():
            thumbnail_key = thumbnail_key_for(result.sha256)
            await storage.put_file(thumbnail_key, thumbnail, content_type=JPEG)
            result = CheckResult(**{**result.__dict__, "thumbnail_key": thumbnail_key})
        return result
