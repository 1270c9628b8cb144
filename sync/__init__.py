"""The sync protocol (docs/sync.md): plain Python, no web framework, no ORM.

The server calls :func:`sync_round` with its Store (tortoise-orm) and its
Policy (the workflow); :class:`MemoryStore` is the reference Store.
"""

from .engine import sync_round
from .errors import SyncRequestError
from .memory import MemoryStore
from .model import Actor, ChangeRef, DeviceState, Outcome, Record
from .policy import Policy, Rejection
from .protocol import MAX_MUTATIONS, MAX_REQUEST_BYTES, check_request_size
from .store import Store

__all__ = [
    "MAX_MUTATIONS",
    "MAX_REQUEST_BYTES",
    "Actor",
    "ChangeRef",
    "DeviceState",
    "MemoryStore",
    "Policy",
    "Outcome",
    "Record",
    "Rejection",
    "Store",
    "SyncRequestError",
    "check_request_size",
    "sync_round",
]
