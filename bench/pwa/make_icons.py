"""Draw the app icons (a white form on the app's red) with Pillow; run once when the design changes.

    .venv/bin/python bench/pwa/make_icons.py

Writes pwa/static/icons/icon-192.png, icon-512.png and maskable-512.png. The maskable icon keeps its drawing
inside the central 60 % so that any launcher's mask (circle, squircle) leaves it whole.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

RED, WHITE = (179, 38, 30, 255), (255, 255, 255, 255)
OUT = Path(__file__).resolve().parents[2] / "pwa" / "static" / "icons"


def draw(size: int, content: float, rounded: bool) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0) if rounded else RED)
    pen = ImageDraw.Draw(image)
    if rounded:
        pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=RED)
    # A sheet with a folded corner and three lines: a form (tờ khai).
    w, h = size * content * 0.72, size * content
    left, top = (size - w) / 2, (size - h) / 2
    fold = w * 0.28
    pen.polygon([(left, top), (left + w - fold, top), (left + w, top + fold), (left + w, top + h), (left, top + h)],
                fill=WHITE)
    pen.polygon([(left + w - fold, top), (left + w - fold, top + fold), (left + w, top + fold)], fill=(240, 200, 196, 255))
    for i in range(3):
        y = top + h * (0.42 + i * 0.17)
        pen.rounded_rectangle((left + w * 0.16, y, left + w * (0.84 if i < 2 else 0.6), y + h * 0.07),
                              radius=h * 0.03, fill=RED)
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, 0.62, True).save(OUT / "icon-192.png", optimize=True)
    draw(512, 0.62, True).save(OUT / "icon-512.png", optimize=True)
    draw(512, 0.5, False).save(OUT / "maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
