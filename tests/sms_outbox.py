"""What the SMS channel would receive, read from the row the sender wrote (server/dossiers/claims.py
`deliver_code` writes the SMS outbox until the SMPP channel lands): the tests read the one-time code there, as a
phone would read it from the text."""

from __future__ import annotations

import asyncio
import re
import threading

from tortoise import Tortoise


def texts_to(database_url: str, phone: str) -> list[str]:
    """The texts written for `phone`, oldest first. Run in a thread of its own: the browser tests' Playwright keeps
    an event loop in the test's thread."""
    from server import db
    from server.models import SmsOutbox

    class Settings:
        pass

    Settings.database_url = database_url  # type: ignore[attr-defined]

    async def read() -> list[str]:
        await Tortoise.init(config=db.tortoise_config(Settings()))
        try:
            return [row.text for row in await SmsOutbox.filter(phone=phone).order_by("id")]
        finally:
            await Tortoise.close_connections()

    found: list[list[str]] = []
    thread = threading.Thread(target=lambda: found.append(asyncio.run(read())))
    thread.start()
    thread.join(60)
    return found[0]


def last_code(database_url: str, phone: str) -> str:
    """The 6-digit one-time code of the last text sent to `phone`."""
    texts = texts_to(database_url, phone)
    assert texts, f"no text was sent to {phone}"
    match = re.search(r": (\d{6})\.", texts[-1])  # after the dossier code, which has 6 digits of its own
    assert match, texts[-1]
    return match.group(1)
