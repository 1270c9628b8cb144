"""What an officer's phone downloads to see a citizen's pages (run on demand, never in the test suite).

    .venv/bin/python bench/attachments/thumbnails.py [--pages 5] [--seed 2025]

For camera photos of printed pages (bench/attachments/run.py's `camera_photo`), the bytes of the page as the app
uploads it (long edge 1800 px, JPEG at quality 50, about what photo.js writes) and of the server's thumbnail
(server/attachments/checks.py: long edge 320 px, JPEG quality 80). The app shows the thumbnail in the pages list
(96 CSS px wide: 320 px is sharp up to a device pixel ratio of 3) and fetches the page only when it is opened.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.attachments.run import camera_photo  # noqa: E402
from server.attachments.checks import _write_thumbnail  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    pages, thumbs = [], []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(args.pages):
            photo, _ = camera_photo(random.Random(args.seed * 1000 + index))
            image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo)))
            image.thumbnail((1800, 1800), Image.Resampling.LANCZOS)
            page = io.BytesIO()
            image.save(page, "JPEG", quality=50)
            target = Path(folder) / f"{index}.jpg"
            _write_thumbnail(Image.open(io.BytesIO(page.getvalue())), target)
            pages.append(len(page.getvalue()))
            thumbs.append(target.stat().st_size)
            print(f"page {index + 1}: page {pages[-1] / 1000:.0f} KB, thumbnail {thumbs[-1] / 1000:.1f} KB", file=sys.stderr)
    print(f"median page {statistics.median(pages) / 1000:.0f} KB, median thumbnail {statistics.median(thumbs) / 1000:.1f} KB, "
          f"ratio {statistics.median(p / t for p, t in zip(pages, thumbs)):.1f}×")


if __name__ == "__main__":
    main()
