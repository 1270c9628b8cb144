"""Where the files that ship with motcua live: the data the server loads and the app the browser gets.

Both are package data (`server/data`, and `pwa` as a package of its own) so that an installed wheel serves the app
exactly as a checkout does.
"""

from __future__ import annotations

from pathlib import Path

import pwa

DATA_DIR = Path(__file__).resolve().parent / "data"
PWA_DIR = Path(pwa.__file__).resolve().parent
TEMPLATES_DIR = PWA_DIR / "templates"
