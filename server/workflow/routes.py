"""GET /api/workflow: the dossier statuses and the workflow's steps, for the app's queue buttons and status names
(pwa/static/js/workflow.js). Public and cacheable: the same for everyone, derived from server/workflow/policy.py's
own STEPS (docs/workflow.md), so the app never carries a copy of the table."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.dossiers import status as statuses
from server.dossiers.status import NAMES, DossierStatus
from server.models import User
from server.web.cacheable import cacheable_json, etag_of, json_body
from server.web.guard import requires
from server.workflow.policy import ON_THE_SPOT_COMMANDS, STEPS

# The named groups of statuses the app uses too (server/dossiers/status.py).
GROUPS = {"sent": statuses.SENT, "open": statuses.OPEN, "finished": statuses.FINISHED, "ended": statuses.ENDED,
          "editable_by_citizen": statuses.EDITABLE_BY_CITIZEN, "editable_by_officer": statuses.EDITABLE_BY_OFFICER}


def workflow_json() -> dict[str, Any]:
    """Statuses with their names; one row per step (command), with the statuses it is taken from, in the order
    the policy declares them."""
    steps: dict[str, dict[str, Any]] = {}
    targets: dict[str, dict[int, int]] = {}
    for (command, from_status), step in STEPS.items():
        steps.setdefault(command, {"command": command, "from": [], "to": None, "keeps_status": False,
                                   "substatus": step.substatus, "roles": sorted(step.roles),
                                   "needs_reason": step.needs_reason})
        targets.setdefault(command, {})[int(from_status)] = int(step.to_status)
    for command, row in steps.items():
        row["from"] = sorted(targets[command])
        # "to": the status it leads to, null when that is each status it was taken from (assign, forward, …).
        row["keeps_status"] = all(to == origin for origin, to in targets[command].items())
        distinct = set(targets[command].values())
        row["to"] = distinct.pop() if len(distinct) == 1 else None
    return {
        "statuses": [{"code": int(code), "key": code.name.lower(), "vi": NAMES[code][0], "en": NAMES[code][1],
                      # as a citizen reads it (the app's citizen screens); officers' screens keep vi/en
                      "citizen_vi": code.citizen_vi, "citizen_en": code.citizen_en}
                     for code in DossierStatus],
        "groups": {name: sorted(int(code) for code in group) for name, group in GROUPS.items()},
        "steps": list(steps.values()),
        # "4 tại chỗ": on a procedure whose catalog entry has on_the_spot, these roles may also take these steps.
        "on_the_spot": {"roles": ["intake"], "commands": sorted(ON_THE_SPOT_COMMANDS)},
    }


BODY = json_body(workflow_json())
ETAG = etag_of(BODY)


@requires("catalog.read")  # public reference data, like the catalog
async def get_workflow(request: Request, user: User | None) -> Response:
    return cacheable_json(request, BODY, ETAG)


api_routes = [  # under /api
    Route("/workflow", get_workflow, methods=["GET"]),
]
