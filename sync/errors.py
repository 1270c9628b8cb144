"""Errors that refuse a whole sync request (nothing of it is applied).

Per-mutation problems are *results*, never exceptions; these are for the
envelope. The server maps ``http_status`` straight to the HTTP response and
sends ``body()`` as JSON.
"""

from __future__ import annotations

from typing import Any

from .reasons import Reason, reason


class SyncRequestError(Exception):
    http_status = 400

    def __init__(self, code: str, message: Reason, mutation_ids: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message['en']}")
        self.code = code
        self.reason = message
        self.mutation_ids = mutation_ids or []

    def body(self) -> dict[str, Any]:
        """The project's JSON error shape (docs/architecture.md, "Requests")."""
        error: dict[str, Any] = {"code": self.code, "message": self.reason["vi"], "message_en": self.reason["en"]}
        if self.mutation_ids:
            error["details"] = {"mutation_ids": self.mutation_ids}
        return {"error": error}


class BadRequest(SyncRequestError):
    """The envelope is not a sync request (HTTP 400)."""

    http_status = 400

    @classmethod
    def because(cls, detail: str) -> "BadRequest":
        return cls("bad_request", reason("bad_request", detail=detail))


class BadCursor(SyncRequestError):
    """The cursor cannot be decoded or points past the log (HTTP 400).

    The device answers by pulling again from ``cursor: null``.
    """

    http_status = 400


class Forbidden(SyncRequestError):
    """The device id belongs to another user (HTTP 403)."""

    http_status = 403


class MutationIdReused(SyncRequestError):
    """A mutation id arrived with content other than what was stored (HTTP 409)."""

    http_status = 409

    def __init__(self, mutation_ids: list[str]) -> None:
        ids = sorted(set(mutation_ids))
        super().__init__("mutation_id_reused", reason("mutation_id_reused", ids=", ".join(ids)), ids)


class RequestTooLarge(SyncRequestError):
    """Too many mutations or too many bytes (HTTP 413): split and resend."""

    http_status = 413
