"""The fingerprint of a mutation: what makes two sends "the same mutation".

Only the keys that carry meaning are hashed (a whitelist); anything else a
client adds for transport (``attempt``, ``sent_at``, …) is volatile and
ignored, so a retry that only changes those is still a duplicate. The
device id is included: the same mutation id from another device is a
different mutation (and therefore an id reuse, rule 1).
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from .values import canonical_json

# The keys of a mutation object that are part of its identity (docs/sync.md §4.2).
FINGERPRINT_KEYS = (
    "mutation_id",
    "seq",
    "entity",
    "entity_id",
    "op",
    "base_version",
    "changes",
    "command",
    "args",
)


def fingerprint(device_id: str, raw_mutation: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of the identity keys plus device id.

    Absent keys and keys set to ``null`` hash the same, since a client may
    omit ``base_version`` on one send and write ``null`` on the next.
    """
    identity: dict[str, Any] = {"device_id": device_id}
    for key in FINGERPRINT_KEYS:
        value = raw_mutation.get(key)
        if value is not None:
            identity[key] = value
    return hashlib.sha256(canonical_json(identity).encode("utf-8")).hexdigest()
