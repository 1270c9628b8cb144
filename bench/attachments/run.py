"""The attachment benchmark (run on demand, never in the test suite): how small can a document photo get on the
phone and still read as well as the camera's original?

    .venv/bin/python bench/attachments/run.py [--pages 12] [--kinds table,seal,photocopy,tilt,shadow,form]
        [--types image/webp,image/jpeg] [--edges 1600,1800,2000] [--qualities 0.5,0.6,0.7]
        [--settings image/jpeg:1800:0.5,...] [--jobs 1] [--seed 2025] [--keep DIR]

Generates camera photos of printed Vietnamese pages (12 MP, EXIF orientation and GPS, skew, uneven light, blur,
sensor noise, camera JPEG) of several hard kinds (ruled tables in 9 pt, seals stamped over text, photocopies,
perspective, shadow), shrinks each with pwa/static/js/photo.js in headless Chromium at every type × long edge ×
quality, reads every image with tesseract (-l vie), and scores word recall against the known text, per page and
pooled. Writes bench/results/attachments.json. See bench/attachments/README.md.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "pwa" / "static"
RESULTS = ROOT / "bench" / "results" / "attachments.json"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
FONTS = Path("/usr/share/fonts/truetype/dejavu")  # Debian fonts-dejavu-core: has every Vietnamese glyph
# Issue 16: median page ≤ 100 KB, pooled word recall ≥ 0.97 of the original's, no page below 0.90.
TARGET_BYTES, TARGET_RATIO, TARGET_WORST_PAGE = 100_000, 0.97, 0.90
KINDS = ("table", "seal", "photocopy", "tilt", "shadow", "form")
MIN_ORIGINAL_RECALL = 0.3  # below it tesseract lost the original's layout: no ratio can be taken
PHOTO = (3000, 4000)  # the page as the person sees it: phone held upright; the sensor stores 4000×3000
# An A4 sheet covers 60–90 % of the frame's width (1800–2700 px): 8.6–13 px per mm, 12 pt text is 36–55 px.
PAGE_WIDTHS = (1800, 2700)

# Sentences of the kind found on Vietnamese application forms, certificates and decisions.
SENTENCES = """\
Căn cứ Nghị định số 118/2025/NĐ-CP ngày 09 tháng 6 năm 2025 của Chính phủ về thực hiện thủ tục hành chính theo cơ chế một cửa, một cửa liên thông.
Ủy ban nhân dân xã đề nghị công dân bổ sung bản sao giấy khai sinh và giấy tờ chứng minh nơi cư trú.
Người yêu cầu đăng ký khai sinh nộp tờ khai theo mẫu và giấy chứng sinh do cơ sở y tế cấp.
Thời hạn giải quyết là 05 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ.
Trường hợp hồ sơ chưa đầy đủ, cán bộ tiếp nhận hướng dẫn một lần bằng văn bản để người nộp bổ sung.
Tôi xin cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước pháp luật về lời khai của mình.
Họ, chữ đệm, tên người được khai sinh: Nguyễn Thị Hương Giang; giới tính: nữ; dân tộc: Kinh; quốc tịch: Việt Nam.
Nơi cư trú: thôn Đồng Xuân, xã Phù Ninh, tỉnh Phú Thọ.
Số định danh cá nhân: 025190001234, cấp ngày 12 tháng 3 năm 2021.
Lệ phí đăng ký hộ tịch được miễn đối với người thuộc gia đình có công với cách mạng, hộ nghèo và người khuyết tật.
Kết quả giải quyết thủ tục hành chính được trả trực tiếp tại Bộ phận Một cửa hoặc qua dịch vụ bưu chính công ích.
Phiếu kiểm soát quá trình giải quyết hồ sơ ghi rõ thời gian giao, nhận và kết quả xử lý của từng bước.
Đơn đề nghị cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất.
Diện tích thửa đất là 245,6 mét vuông, mục đích sử dụng: đất ở tại nông thôn, thời hạn sử dụng lâu dài.
Bên chuyển nhượng và bên nhận chuyển nhượng cùng thỏa thuận giá trị hợp đồng là 850.000.000 đồng.
Hộ kinh doanh đăng ký ngành nghề bán lẻ hàng tạp hóa, vốn kinh doanh một trăm năm mươi triệu đồng.
Giấy xác nhận tình trạng hôn nhân có giá trị sáu tháng kể từ ngày cấp và chỉ sử dụng cho mục đích đã ghi.
Người đề nghị trợ cấp xã hội hằng tháng phải có xác nhận của trưởng thôn về hoàn cảnh gia đình.
Chủ tịch Ủy ban nhân dân xã ký quyết định và chuyển kết quả cho Bộ phận Một cửa trước ngày hẹn trả.
Nếu quá hạn, cơ quan giải quyết gửi phiếu xin lỗi và hẹn lại ngày trả kết quả cho công dân.
Công dân đánh giá mức độ hài lòng: rất hài lòng, hài lòng hoặc không hài lòng kèm theo lý do.
Bản sao được chứng thực từ bản chính có giá trị sử dụng thay cho bản chính trong các giao dịch.
Đề nghị đăng ký thường trú tại chỗ ở hợp pháp thuộc quyền sở hữu của cha mẹ.
Trẻ em dưới sáu tuổi được cấp thẻ bảo hiểm y tế miễn phí theo quy định.
Hồ sơ nộp trực tuyến trên Cổng Dịch vụ công quốc gia được tiếp nhận trong giờ hành chính.
Ngày sinh: 15/08/1987; nơi sinh: Bệnh viện Đa khoa tỉnh Phú Thọ; quê quán: xã Thanh Ba.
Số điện thoại liên hệ: 0912 345 678; thư điện tử: nguyenvanan@gmail.com.
Đất không có tranh chấp, không bị kê biên để bảo đảm thi hành án và còn trong thời hạn sử dụng.
Vợ chồng ông Trần Văn Bình và bà Lê Thị Thu thống nhất việc phân chia tài sản chung.
Giấy tờ kèm theo gồm: tờ khai, bản sao căn cước, sổ hộ khẩu cũ và văn bản ủy quyền có công chứng.""".splitlines()
TITLES = ["TỜ KHAI ĐĂNG KÝ KHAI SINH", "ĐƠN ĐỀ NGHỊ CẤP GIẤY CHỨNG NHẬN", "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",
          "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", "HỢP ĐỒNG CHUYỂN NHƯỢNG QUYỀN SỬ DỤNG ĐẤT", "QUYẾT ĐỊNH TRỢ CẤP XÃ HỘI",
          "GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH", "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"]
# The small print at the foot of a form (8–9 pt): where shrinking hurts first.
NOTES = """\
Ghi chú: (1) Ghi rõ họ, chữ đệm, tên theo giấy tờ tùy thân; (2) ghi số định danh cá nhân gồm 12 chữ số.
Trường hợp làm thủ tục qua dịch vụ bưu chính công ích thì phải nộp kèm bản sao có chứng thực.
Mẫu này ban hành kèm theo Thông tư số 04/2020/TT-BTP ngày 28 tháng 5 năm 2020 của Bộ Tư pháp.
Người khai ký, ghi rõ họ tên; trường hợp không biết chữ thì điểm chỉ bằng ngón trỏ phải.""".splitlines()


def words(text: str) -> list[str]:
    """Words as a reader checks them: NFC, lower case, diacritics kept (they change the meaning)."""
    return re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())


def recall(truth: list[str], read: list[str]) -> float:
    """Share of the page's words that the OCR output contains (each occurrence counted once)."""
    return sum((Counter(truth) & Counter(read)).values()) / len(truth)


# -- a camera photo of a printed page ---------------------------------------------------------------------
def font(bold: bool, serif: bool, size: int, italic: bool = False) -> ImageFont.FreeTypeFont:
    style = "-Bold" if bold else ("-Italic" if serif else "-Oblique") if italic else ""
    name = ("DejaVuSerif" if serif else "DejaVuSans") + style + ".ttf"
    return ImageFont.truetype(str(FONTS / name), size)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and face.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line] if line else lines


def render_page(rng: random.Random, stamps: int = 0) -> tuple[Image.Image, str]:
    """An A4 sheet at the size it has in the photo, and the text printed on it (the stamp is not text)."""
    width = rng.randint(*PAGE_WIDTHS)
    px_per_mm = width / 210
    pt = px_per_mm * 25.4 / 72
    page = Image.new("RGB", (width, round(width * 297 / 210)), (246, 243, 234))
    draw = ImageDraw.Draw(page)
    serif = rng.random() < 0.7
    body_pt = rng.choice([10, 11, 12, 13])
    left, right = round(30 * px_per_mm), round(width - 20 * px_per_mm)
    ink = (28, 28, 34)
    printed: list[str] = []
    y = round(20 * px_per_mm)

    def centred(text: str, face: ImageFont.FreeTypeFont) -> None:
        nonlocal y
        draw.text(((width - face.getlength(text)) / 2, y), text, font=face, fill=ink)
        printed.append(text)
        y += round(face.size * 1.5)

    centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font(True, serif, round(12 * pt)))
    centred("Độc lập - Tự do - Hạnh phúc", font(True, serif, round(13 * pt)))
    y += round(6 * pt)
    centred(rng.choice(TITLES), font(True, serif, round(14 * pt)))
    y += round(8 * pt)
    body = font(False, serif, round(body_pt * pt))
    bottom = page.height - round(60 * px_per_mm)  # leaves room for the signature and the stamp
    sentences = SENTENCES[:]
    rng.shuffle(sentences)
    for sentence in sentences:
        lines = wrap(sentence, body, right - left)
        if y + len(lines) * body.size * 1.45 > bottom:
            break
        for line in lines:
            draw.text((left, y), line, font=body, fill=ink)
            y += round(body.size * 1.45)
        printed.append(sentence)
        y += round(body.size * 0.4)
    sign = font(True, serif, round(13 * pt))
    x_sign = round(width * 0.58)
    draw.text((x_sign, bottom + 10), "NGƯỜI YÊU CẦU", font=sign, fill=ink)
    printed.append("NGƯỜI YÊU CẦU")
    mm = lambda value: round(value * px_per_mm)  # noqa: E731 - sizes on paper
    scribble = [(x_sign + mm(3 + 3 * i), bottom + mm(16 + rng.uniform(-4, 4))) for i in range(14)]
    draw.line(scribble, fill=(30, 40, 140), width=mm(0.5), joint="curve")
    if rng.random() < 0.6:  # the red seal (con dấu), 35 mm across, over the signature
        cx, cy, r = x_sign - mm(3), bottom + mm(15), mm(17.5)
        seal = (200, 30, 35)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=seal, width=mm(1))
        draw.ellipse((cx - r + mm(3.5), cy - r + mm(3.5), cx + r - mm(3.5), cy + r - mm(3.5)), outline=seal,
                     width=mm(0.5))
        star = font(True, False, mm(7))
        draw.text((cx - star.getlength("★") / 2, cy - mm(5)), "★", font=star, fill=seal)
    for _ in range(stamps):  # seals stamped across the body text, as offices do on copies they certify
        stamp_seal(page, rng, (rng.randint(left + mm(25), right - mm(25)), rng.randint(mm(60), bottom - mm(30))),
                   mm(rng.uniform(15, 19)))
    small = font(False, serif, round(rng.choice([8, 9]) * pt), italic=True)
    y = page.height - mm(24)
    for note in NOTES[:rng.randint(2, 4)]:
        for line in wrap(note, small, right - left):
            draw.text((left, y), line, font=small, fill=ink)
            y += round(small.size * 1.35)
        printed.append(note)
    return page, "\n".join(printed)


def stamp_seal(page: Image.Image, rng: random.Random, centre: tuple[int, int], r: int) -> None:
    """A red round seal (con dấu) inked over whatever is printed: two rings, the office's name around, a star.
    Ink is multiplied, not pasted, so the black text under it shows through as on paper (the seal is not text)."""
    ink = Image.new("RGB", (2 * r + 4, 2 * r + 4), "white")
    draw = ImageDraw.Draw(ink)
    c = r + 2
    red = (rng.randint(185, 215), rng.randint(25, 60), rng.randint(35, 60))
    draw.ellipse((c - r, c - r, c + r, c + r), outline=red, width=max(2, r // 17))
    draw.ellipse((c - r * 0.72, c - r * 0.72, c + r * 0.72, c + r * 0.72), outline=red, width=max(1, r // 35))
    letters = "ỦY BAN NHÂN DÂN XÃ PHÙ NINH * TỈNH PHÚ THỌ * "
    face = font(True, False, max(8, round(r * 0.16)))
    for i, letter in enumerate(letters):  # the office's name around the ring, each letter turned
        angle = 2 * math.pi * i / len(letters) - math.pi / 2
        glyph = Image.new("L", (face.size * 2, face.size * 2), 0)
        ImageDraw.Draw(glyph).text((face.size // 2, face.size // 2), letter, font=face, fill=255)
        glyph = glyph.rotate(-math.degrees(angle) - 90, Image.BICUBIC)
        x = c + r * 0.86 * math.cos(angle) - glyph.width / 2
        y = c + r * 0.86 * math.sin(angle) - glyph.height / 2
        ink.paste(Image.new("RGB", glyph.size, red), (round(x), round(y)), glyph)
    star = font(True, False, round(r * 0.45))
    draw.text((c - star.getlength("★") / 2, c - r * 0.3), "★", font=star, fill=red)
    # Uneven inking: a stamp is never pressed evenly.
    fade = smooth_field(rng, ink.size, 0.55, 1.0).point(lambda v: 255 - v)
    ink = Image.composite(Image.new("RGB", ink.size, "white"), ink, fade)
    box = (centre[0] - c, centre[1] - c)
    region = page.crop((box[0], box[1], box[0] + ink.width, box[1] + ink.height))
    page.paste(ImageChops.multiply(region, ink), box)


TABLE_ROWS = [
    ("Nguyễn Văn An", "12/03/1958", "025058001234", "Chủ hộ", "Thường trú"),
    ("Trần Thị Bích", "05/11/1961", "025161004321", "Vợ", "Thường trú"),
    ("Nguyễn Đức Thắng", "23/07/1985", "025085007788", "Con", "Tạm vắng"),
    ("Lê Thị Thu Hà", "14/02/1988", "025188002468", "Con dâu", "Chuyển đến"),
    ("Nguyễn Minh Khôi", "30/09/2012", "025212003579", "Cháu", "Thường trú"),
    ("Phạm Quốc Huy", "08/01/1979", "025079006543", "Người thuê nhà", "Tạm trú"),
    ("Đỗ Thị Ngọc Ánh", "19/06/1992", "025192008642", "Em", "Thường trú"),
    ("Hoàng Văn Dũng", "02/12/1949", "025049001357", "Bố", "Đã mất"),
    ("Vũ Thị Hồng Nhung", "27/04/1996", "025196009753", "Cháu", "Tạm trú"),
    ("Bùi Tiến Lực", "11/10/2003", "025203005318", "Con", "Nghĩa vụ quân sự"),
    ("Đặng Thị Xuân", "16/08/1955", "025155004826", "Mẹ", "Thường trú"),
    ("Ngô Văn Quyết", "09/05/1983", "025083002197", "Anh", "Chuyển đi"),
]
TABLE_HEAD = ("STT", "Họ, chữ đệm và tên", "Ngày sinh", "Số định danh cá nhân", "Quan hệ với chủ hộ", "Ghi chú")


def render_table(rng: random.Random) -> tuple[Image.Image, str]:
    """A form with a ruled table: 9 pt text in cells, hairline rules (0.1–0.2 mm) right next to the letters."""
    width = rng.randint(*PAGE_WIDTHS)
    px_per_mm = width / 210
    pt = px_per_mm * 25.4 / 72
    mm = lambda value: round(value * px_per_mm)  # noqa: E731 - sizes on paper
    page = Image.new("RGB", (width, round(width * 297 / 210)), (246, 243, 234))
    draw = ImageDraw.Draw(page)
    serif = rng.random() < 0.6
    ink = (28, 28, 34)
    printed: list[str] = []
    y = mm(20)

    def centred(text: str, face: ImageFont.FreeTypeFont) -> None:
        nonlocal y
        draw.text(((width - face.getlength(text)) / 2, y), text, font=face, fill=ink)
        printed.append(text)
        y += round(face.size * 1.5)

    centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font(True, serif, round(12 * pt)))
    centred("Độc lập - Tự do - Hạnh phúc", font(True, serif, round(13 * pt)))
    y += mm(4)
    centred("BẢN KÊ THÀNH VIÊN HỘ GIA ĐÌNH", font(True, serif, round(14 * pt)))
    y += mm(4)
    cell = font(False, serif, round(9 * pt))
    head = font(True, serif, round(9 * pt))
    left, right = mm(18), width - mm(15)
    shares = (0.06, 0.27, 0.14, 0.2, 0.16, 0.17)
    xs = [left]
    for share in shares:
        xs.append(xs[-1] + round(share * (right - left)))
    xs[-1] = right
    rule = max(1, round(rng.uniform(0.1, 0.2) * px_per_mm))
    pad = mm(1.2)
    line_h = round(cell.size * 1.25)
    rows = [TABLE_HEAD] + [(str(i + 1),) + row for i, row in enumerate(rng.sample(TABLE_ROWS, rng.randint(9, 12)))]
    top = y
    for number, row in enumerate(rows):
        face = head if number == 0 else cell
        wrapped = [wrap(text, face, xs[i + 1] - xs[i] - 2 * pad) for i, text in enumerate(row)]
        height = max(len(lines) for lines in wrapped) * line_h + 2 * pad
        for i, lines in enumerate(wrapped):
            for k, line in enumerate(lines):
                draw.text((xs[i] + pad, y + pad + k * line_h), line, font=face, fill=ink)
        printed.extend(row)
        y += height
        draw.line((left, y, right, y), fill=ink, width=rule)
    draw.line((left, top, right, top), fill=ink, width=rule)
    for x in xs:
        draw.line((x, top, x, y), fill=ink, width=rule)
    y += mm(6)
    body = font(False, serif, round(10 * pt))
    for sentence in rng.sample(SENTENCES, 3):
        for line in wrap(sentence, body, right - left):
            draw.text((left, y), line, font=body, fill=ink)
            y += round(body.size * 1.45)
        printed.append(sentence)
    sign = font(True, serif, round(12 * pt))
    draw.text((round(width * 0.6), y + mm(6)), "NGƯỜI KÊ KHAI", font=sign, fill=ink)
    printed.append("NGƯỜI KÊ KHAI")
    return page, "\n".join(printed)


def photocopied(page: Image.Image, rng: random.Random) -> Image.Image:
    """A photocopy of a copy: grey, toner spread a little, contrast lost (grey paper, grey ink), toner specks."""
    grey = page.convert("L").filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.0)))
    ink, paper = rng.randint(55, 85), rng.randint(195, 215)  # contrast loss: the black is grey, the white too
    grey = grey.point(lambda v: ink + (paper - ink) * v // 255)
    tone = smooth_field(rng, grey.size, 0.85, 1.0)  # the copier's uneven drum
    grey = ImageChops.multiply(grey, tone)
    specks = Image.effect_noise((grey.width // 2, grey.height // 2), 60).resize(grey.size, Image.NEAREST)
    specks = specks.point(lambda v: 0 if v > 232 else 255)  # ≈ 0.2 % of the sheet in dark specks
    grey = ImageChops.darker(grey, specks.point(lambda v: 255 if v else ink + 10))
    return Image.merge("RGB", (grey, grey, grey))


def perspective_coefficients(target: list[tuple[float, float]], source: list[tuple[float, float]]) -> list[float]:
    """Pillow's PERSPECTIVE data: maps each output corner (target) back to its input corner (source)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(target, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    n = 8  # Gaussian elimination with partial pivoting (no numpy in the venv)
    m = [row + [b] for row, b in zip(rows, rhs)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col])]
    return [m[i][n] / m[i][i] for i in range(n)]


def smooth_field(rng: random.Random, size: tuple[int, int], low: float, high: float) -> Image.Image:
    """Slowly varying light: a few random values blown up with bicubic interpolation."""
    coarse = Image.new("L", (4, 5))
    coarse.putdata([round(255 * rng.uniform(low, high)) for _ in range(20)])
    return coarse.resize(size, Image.BICUBIC)


def camera_photo(rng: random.Random, kind: str = "form") -> tuple[bytes, str]:
    """The JPEG a phone writes: sensor frame 4000×3000, EXIF Orientation 6, GPS; and the page's text.

    kind: "form" (printed form, a seal by the signature on most), "table" (ruled table, 9 pt cells), "seal" (2–3
    seals stamped across the text), "photocopy" (grey, specks, contrast lost), "tilt" (phone held at an angle:
    perspective), "shadow" (a hard shadow across the page and dim light)."""
    if kind == "table":
        page, text = render_table(rng)
    else:
        page, text = render_page(rng, stamps=rng.randint(2, 3) if kind == "seal" else 0)
    if kind == "photocopy":
        page = photocopied(page, rng)
    angle = rng.uniform(-2.0, 2.0)
    shear = rng.uniform(-0.015, 0.015)
    page = page.transform(page.size, Image.AFFINE, (1, shear, -shear * page.height / 2, 0, 1, 0), Image.BICUBIC,
                          fillcolor=(246, 243, 234))
    mask = Image.new("L", page.size, 255)
    if kind == "tilt":  # the top of the sheet further from the lens: narrower, and foreshortened
        w, h = page.size
        inset, drop = w * rng.uniform(0.07, 0.12), h * rng.uniform(0.04, 0.08)
        side = rng.uniform(-0.03, 0.03) * w
        corners = [(inset + side, drop), (w - inset + side, drop), (w, h), (0, h)]
        data = perspective_coefficients(corners, [(0, 0), (w, 0), (w, h), (0, h)])
        page = page.transform(page.size, Image.PERSPECTIVE, data, Image.BICUBIC, fillcolor=(246, 243, 234))
        mask = mask.transform(mask.size, Image.PERSPECTIVE, data, Image.BICUBIC, fillcolor=0)
    mask = mask.rotate(angle, Image.BICUBIC, expand=True)
    page = page.rotate(angle, Image.BICUBIC, expand=True)
    small = (PHOTO[0] // 4, PHOTO[1] // 4)
    desk = Image.merge("RGB", [Image.effect_noise(small, 30).point(lambda v, k=k: k + (v - 128) // 4)
                              for k in (112, 86, 62)]).resize(PHOTO, Image.BICUBIC)
    x = (PHOTO[0] - page.width) // 2 + rng.randint(-60, 60)
    y = (PHOTO[1] - page.height) // 2 + rng.randint(-80, 80)
    desk.paste(page, (x, y), mask)
    photo = desk.filter(ImageFilter.GaussianBlur(rng.uniform(0.9, 1.5)))  # focus, slight hand shake
    tenth = (PHOTO[0] // 10, PHOTO[1] // 10)  # light varies slowly: drawn at a tenth, then enlarged
    shadow = Image.new("L", tenth, 255)  # the phone's or the hand's shadow falling on one side
    sx, sy = rng.randint(0, tenth[0]), rng.choice([0, tenth[1]])
    ImageDraw.Draw(shadow).ellipse((sx - 140, sy - 110, sx + 140, sy + 110), fill=round(255 * 0.8))
    low = 0.72
    if kind == "shadow":  # the phone and the hand between the lamp and the sheet: a dark, fairly sharp edge
        # As dark as a reader still reads at a glance; darker, tesseract's global threshold loses the whole page
        # (a 42 % shadow left it reading nothing at all while the text was plain to see).
        low = 0.62
        edge = rng.uniform(0.35, 0.6) * tenth[0]
        slope = rng.uniform(-0.3, 0.3)
        dark = round(255 * rng.uniform(0.58, 0.68))
        ImageDraw.Draw(shadow).polygon([(0, 0), (edge, 0), (edge + slope * tenth[1], tenth[1]), (0, tenth[1])],
                                       fill=dark)
        blur = 6
    else:
        blur = 18
    light = ImageChops.multiply(smooth_field(rng, tenth, low, 1.0), shadow.filter(ImageFilter.GaussianBlur(blur)))
    light = light.resize(PHOTO, Image.BICUBIC)
    photo = ImageChops.multiply(photo, Image.merge("RGB", (light, light, light)))
    noise = Image.effect_noise(PHOTO, rng.uniform(5, 9))
    photo = ImageChops.add(photo, Image.merge("RGB", (noise, noise, noise)), offset=-128)
    sensor = photo.transpose(Image.Transpose.ROTATE_90)  # Orientation 6 turns it back a quarter clockwise
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Samsung"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (21.0, 19.0, 27.3)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (105.0, 12.0, 41.8)
    out = io.BytesIO()
    sensor.save(out, "JPEG", quality=rng.choice([88, 90, 92]), exif=exif.tobytes())
    return out.getvalue(), text


def make_page(index: int, kind: str, seed: int, folder: Path) -> dict[str, Any]:
    rng = random.Random(seed * 1000 + index)
    jpeg, text = camera_photo(rng, kind)
    camera = folder / f"page{index:02d}.jpg"
    camera.write_bytes(jpeg)
    # Tesseract ignores EXIF: it reads the original upright and lossless, exactly the camera's pixels.
    upright = folder / f"page{index:02d}-original.png"
    ImageOps.exif_transpose(Image.open(camera)).save(upright, compress_level=1)
    return {"index": index, "kind": kind, "camera": camera, "upright": upright, "bytes": len(jpeg),
            "truth": words(text)}


# -- shrinking with the app's own code, in Chromium -------------------------------------------------------
SHRINK_ALL = """async (settings) => {
    const file = document.querySelector('#pick').files[0];
    const out = [];
    for (const s of settings) {
        const r = await photo.shrinkPhoto(file, {type: s[0], longEdge: s[1], quality: s[2]});
        const bytes = new Uint8Array(await r.blob.arrayBuffer());
        let binary = '';
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        out.push({width: r.width, height: r.height, type: r.blob.type, data: btoa(binary), adapted: r.adapted});
    }
    return out;
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the name http.server uses
        pass


@dataclass
class Chromium:
    """pwa/static on loopback and a headless Chromium page that has imported photo.js."""
    page: Any = None
    defaults: dict[str, Any] = field(default_factory=dict)
    _closers: list[Any] = field(default_factory=list)

    def __enter__(self) -> "Chromium":
        from playwright.sync_api import sync_playwright

        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(STATIC)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._closers.append(lambda: (server.shutdown(), server.server_close()))
        playwright = sync_playwright().start()
        self._closers.append(playwright.stop)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        self._closers.append(browser.close)
        self.page = browser.new_page()
        self.page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        self.defaults = self.page.evaluate("""async () => {
            window.photo = await import('/js/photo.js');
            const input = document.createElement('input');
            input.type = 'file'; input.id = 'pick'; document.body.append(input);
            const shrink = await import('/js/shrink.js');
            return {long_edge_px: photo.LONG_EDGE, quality: photo.QUALITY, type: await photo.preferredType(),
                    low_contrast: shrink.LOW_CONTRAST};
        }""")
        return self

    def __exit__(self, *exc: object) -> None:
        for close in reversed(self._closers):
            close()

    def shrink(self, camera: Path, settings: list[Setting]) -> list[tuple[bytes, bool]]:
        """Each setting's image, and whether photo.js kept the page at its low-contrast setting instead."""
        self.page.set_input_files("#pick", str(camera))
        out = self.page.evaluate(SHRINK_ALL, [list(s) for s in settings])
        for setting, result in zip(settings, out):
            if result["type"] != setting[0]:
                raise SystemExit(f"Chromium wrote {result['type']} when asked for {setting[0]}")
        return [(base64.b64decode(r["data"]), bool(r["adapted"])) for r in out]


# -- reading with tesseract -------------------------------------------------------------------------------
def ocr(image: Path) -> list[str]:
    if image.suffix == ".webp":  # tesseract's image library may lack WebP: read the same pixels from a PNG
        lossless = image.with_suffix(".png")
        Image.open(image).save(lossless, compress_level=1)
        image = lossless
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one thread each; --jobs runs several at once
    done = subprocess.run(["tesseract", str(image), "stdout", "-l", "vie", "--psm", "3"], capture_output=True,
                          env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"tesseract failed on {image}: {done.stderr.decode(errors='replace')}")
    return words(done.stdout.decode("utf-8"))


def check_tools() -> None:
    if not Path(CHROMIUM).exists():
        raise SystemExit("Chromium is missing: apt-get install chromium")
    try:
        langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    except FileNotFoundError:
        raise SystemExit("tesseract is missing: apt-get install tesseract-ocr tesseract-ocr-vie") from None
    if "vie" not in langs:
        raise SystemExit("tesseract's Vietnamese data is missing: apt-get install tesseract-ocr-vie")


Setting = tuple[str, int, float]  # (type, long edge, quality)


def label(setting: Setting) -> str:
    return f"{setting[0].split('/')[1]} {setting[1]} q{setting[2]}"


def summarise(setting: Setting, pages: list[dict[str, Any]], original_recall: float) -> dict[str, Any]:
    sizes = [p["shrunk"][setting]["bytes"] for p in pages]
    matched = sum(p["shrunk"][setting]["recall"] * len(p["truth"]) for p in pages)
    shrunk_recall = matched / sum(len(p["truth"]) for p in pages)
    row = {"type": setting[0], "long_edge_px": setting[1], "quality": setting[2],
           "median_page_bytes": round(statistics.median(sizes)), "max_page_bytes": max(sizes),
           "ocr_recall": round(shrunk_recall, 4), "ocr_recall_ratio": round(shrunk_recall / original_recall, 4),
           "ocr_recall_ratio_low": round(ratio_low(setting, pages), 4),
           "worst_page_ratio": round(min(page_ratio(p, setting) for p in pages), 4)}
    # Pooled recall and every single page: a citizen's worn photocopy is the page that matters.
    row["meets_target"] = (row["median_page_bytes"] <= TARGET_BYTES and row["ocr_recall_ratio"] >= TARGET_RATIO
                           and row["worst_page_ratio"] >= TARGET_WORST_PAGE)
    return row


def page_ratio(page: dict[str, Any], setting: Setting) -> float:
    return page["shrunk"][setting]["recall"] / page["recall"]


def ratio_low(setting: Setting, pages: list[dict[str, Any]], rounds: int = 2000) -> float:
    """5th percentile of the recall ratio over pages drawn again with replacement (bootstrap): how much the
    pooled figure owes to these particular pages (reported, not part of the rule)."""
    rng = random.Random(0)
    ratios = []
    for _ in range(rounds):
        sample = [rng.choice(pages) for _ in pages]
        words_ = sum(len(p["truth"]) for p in sample)
        shrunk = sum(p["shrunk"][setting]["recall"] * len(p["truth"]) for p in sample) / words_
        original = sum(p["recall"] * len(p["truth"]) for p in sample) / words_
        ratios.append(shrunk / original)
    return sorted(ratios)[rounds // 20]


def parse_settings(args: argparse.Namespace) -> list[Setting]:
    if args.settings:
        chosen = []
        for item in args.settings.split(","):
            kind, edge, quality = item.split(":")
            chosen.append((kind if "/" in kind else f"image/{kind}", int(edge), float(quality)))
        return chosen
    return [(t, int(e), float(q)) for t in args.types.split(",") for e in args.edges.split(",")
            for q in args.qualities.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--kinds", default=",".join(KINDS), help="page kinds, taken in turn")
    parser.add_argument("--types", default="image/webp,image/jpeg")
    parser.add_argument("--edges", default="1600,1800,2000")
    parser.add_argument("--qualities", default="0.5,0.6,0.7")
    parser.add_argument("--settings", help="instead of the grid: type:edge:quality,… e.g. webp:1800:0.6")
    parser.add_argument("--jobs", type=int, default=1, help="tesseract processes at once")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--keep", type=Path, help="keep the photos and shrunk images in this folder")
    args = parser.parse_args()
    check_tools()
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(KINDS):
        raise SystemExit(f"unknown page kinds: {sorted(unknown)}; known: {', '.join(KINDS)}")
    settings = parse_settings(args)
    started = time.monotonic()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="motcua-attachments-"))
    folder.mkdir(parents=True, exist_ok=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        # Pillow releases the GIL in its heavy loops, so pages are generated side by side as well.
        pages = list(pool.map(lambda i: make_page(i, kinds[i % len(kinds)], args.seed, folder), range(args.pages)))
        print(f"{len(pages)} camera photos in {time.monotonic() - started:.0f} s", file=sys.stderr)
        reads: dict[tuple[int, Any], Future] = {}
        with Chromium() as chromium:
            for page in pages:
                reads[page["index"], None] = pool.submit(ocr, page["upright"])
                page["shrunk"] = {}
                for setting, (data, adapted) in zip(settings, chromium.shrink(page["camera"], settings)):
                    extension = setting[0].split("/")[1].replace("jpeg", "jpg")
                    image = folder / f"page{page['index']:02d}-{setting[1]}-q{setting[2]}.{extension}"
                    image.write_bytes(data)
                    page["shrunk"][setting] = {"bytes": len(data), "adapted": adapted}
                    reads[page["index"], setting] = pool.submit(ocr, image)
            defaults = chromium.defaults
        print(f"shrunk at {len(settings)} settings; reading {len(reads)} images", file=sys.stderr)
        for page in pages:
            page["recall"] = recall(page["truth"], reads[page["index"], None].result())
            for setting in settings:
                page["shrunk"][setting]["recall"] = recall(page["truth"], reads[page["index"], setting].result())

    # A ratio needs an original tesseract can read: a page it cannot (layout lost) is listed, not scored.
    excluded = [p for p in pages if p["recall"] < MIN_ORIGINAL_RECALL]
    pages_all, pages = pages, [p for p in pages if p["recall"] >= MIN_ORIGINAL_RECALL]
    if not pages:
        raise SystemExit("tesseract read none of the originals")
    total_words = sum(len(p["truth"]) for p in pages)
    original_recall = sum(p["recall"] * len(p["truth"]) for p in pages) / total_words
    table = [summarise(s, pages, original_recall) for s in settings]
    passing = [row for row in table if row["meets_target"]]
    chosen = min(passing, key=lambda row: row["median_page_bytes"]) if passing else None
    report: dict[str, Any] = {
        "pages": len(pages),
        "kinds": kinds,
        "words": total_words,
        "median_original_bytes": round(statistics.median(p["bytes"] for p in pages)),
        "median_page_bytes": chosen and chosen["median_page_bytes"],
        "ocr_recall_original": round(original_recall, 4),
        "ocr_recall_shrunk": chosen and chosen["ocr_recall"],
        "ocr_recall_ratio": chosen and chosen["ocr_recall_ratio"],
        "worst_page_ratio": chosen and chosen["worst_page_ratio"],
        "long_edge_px": chosen and chosen["long_edge_px"],
        "quality": chosen and chosen["quality"],
        "type": chosen and chosen["type"],
        "target": {"median_page_bytes_max": TARGET_BYTES, "ocr_recall_ratio_min": TARGET_RATIO,
                   "worst_page_ratio_min": TARGET_WORST_PAGE},
        "photo_js_defaults": defaults,
        "settings": table,
        # Per page: the original, then bytes and recall ratio at every setting ("webp 1800 q0.5").
        "excluded_pages": [p["index"] for p in excluded],
        "per_page": [{"page": p["index"], "kind": p["kind"], "original_bytes": p["bytes"], "words": len(p["truth"]),
                      "ocr_recall_original": round(p["recall"], 4),
                      "shrunk": {label(s): {"bytes": p["shrunk"][s]["bytes"], "adapted": p["shrunk"][s]["adapted"],
                                            "ratio": round(page_ratio(p, s), 4) if p["recall"] else None}
                                 for s in settings}} for p in pages_all],
        "command": "bench/attachments/run.py " + " ".join(sys.argv[1:]),
        "seed": args.seed,
        "seconds": round(time.monotonic() - started, 1),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "tesseract": subprocess.run(["tesseract", "--version"], capture_output=True,
                                                text=True).stdout.split("\n")[0]},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    print("| type | long edge | quality | median bytes | max bytes | word recall | ÷ original | ÷ original, 5th pct "
          "| worst page | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in table:
        print(f"| {row['type'].split('/')[1]} | {row['long_edge_px']} | {row['quality']} "
              f"| {row['median_page_bytes']:,} | {row['max_page_bytes']:,} "
              f"| {row['ocr_recall']:.3f} | {row['ocr_recall_ratio']:.3f} | {row['ocr_recall_ratio_low']:.3f} "
              f"| {row['worst_page_ratio']:.3f} | {'yes' if row['meets_target'] else 'no'} |")
    print()
    print("| page | kind | words | original bytes | original recall | "
          + " | ".join(label(s) for s in settings) + " |")
    print("|---|---|---|---|---|" + "---|" * len(settings))
    for p in pages_all:
        cells = [f"{p['shrunk'][s]['bytes'] / 1000:.0f} KB{'*' if p['shrunk'][s]['adapted'] else ''}, "
                 + (f"{page_ratio(p, s):.3f}" if p["recall"] else "–") for s in settings]
        print(f"| {p['index']} | {p['kind']} | {len(p['truth'])} | {p['bytes']:,} | {p['recall']:.3f} | "
              + " | ".join(cells) + " |")
    print("(* the page was low in contrast: photo.js kept it at its LOW_CONTRAST setting)")
    print(f"original: median {report['median_original_bytes']:,} bytes, word recall {original_recall:.3f} "
          f"({total_words} words on {len(pages)} pages); {report['seconds']} s")
    if excluded:
        print(f"not scored (tesseract reads < {MIN_ORIGINAL_RECALL} of the original): pages "
              + ", ".join(str(p["index"]) for p in excluded))
    print(f"chosen: {chosen}" if chosen else "no setting meets the target")
    if chosen and (defaults["type"], defaults["long_edge_px"], defaults["quality"]) != (
            chosen["type"], chosen["long_edge_px"], chosen["quality"]):
        print(f"photo.js has {defaults}: update it", file=sys.stderr)
    if not args.keep:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
