"""GET /api/openapi.json: the API described for people and for tools (Schemathesis checks it)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.models import User
from server.web.guard import requires


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def _body(schema_ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def _object(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


CSRF = {"name": "X-CSRF-Token", "in": "header", "required": True, "schema": {"type": "string"},
        "description": "The csrf_token from GET /api/session (double-submit with the motcua_csrf cookie)."}

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "motcua API", "version": "0.1.0",
             "description": "Một cửa: the one-stop shop for administrative procedures. Errors are JSON "
                            "{error: {code, message (Vietnamese), message_en}}. Cookie sessions; every state change "
                            "needs the X-CSRF-Token header."},
    "paths": {
        "/healthz": {"get": {"summary": "Database and object store reachability", "responses": {
            "200": _json("Health"), "503": _json("Health", "Something is unreachable")}}},
        "/api/session": {
            "get": {"summary": "Who is signed in, and a CSRF token", "responses": {"200": _json("Session")}},
            "post": {"summary": "Sign in with phone number and password", "parameters": [CSRF],
                     "requestBody": _body("SignIn"),
                     "responses": {"200": _json("Session"), "400": _error("Malformed"), "401": _error("Wrong credentials"),
                                   "403": _error("Missing CSRF token"), "415": _error("Not JSON"),
                                   "429": _error("Too many failed attempts; see Retry-After")}},
            "delete": {"summary": "Sign out this device", "parameters": [CSRF],
                       "responses": {"200": _json("Session"), "403": _error("Missing CSRF token")}},
        },
        "/api/session/everywhere": {"post": {"summary": "Sign out every other device", "parameters": [CSRF],
                                             "responses": {"200": _json("Session"), "401": _error("Not signed in"),
                                                           "403": _error("Missing CSRF token")}}},
        "/api/accounts": {"post": {"summary": "Register a citizen account", "parameters": [CSRF],
                                   "requestBody": _body("Register"),
                                   "responses": {"201": _json("Session", "Created and signed in"),
                                                 "400": _error("Invalid input"), "403": _error("CSRF or already signed in"),
                                                 "409": _error("Phone number taken"), "415": _error("Not JSON")}}},
        "/api/account/password": {"post": {"summary": "Change the password (signs out other devices)", "parameters": [CSRF],
                                           "requestBody": _body("ChangePassword"),
                                           "responses": {"200": _json("Session"), "400": _error("Wrong or weak password"),
                                                         "401": _error("Not signed in"), "403": _error("Missing CSRF token")}}},
        "/api/procedures": {"get": {
            "summary": "Search and list the procedure catalog (diacritics and case ignored)",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                {"name": "level", "in": "query", "schema": {"type": "string", "enum": ["commune", "district", "province"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
            "responses": {"200": _json("ProcedureList"), "400": _error("Invalid parameter")}}},
        "/api/procedures/forms": {"get": {
            "summary": "Many procedures' current versions with their forms in one answer (the app's offline copy)",
            "parameters": [{"name": "codes", "in": "query", "required": True, "schema": {"type": "string"},
                            "description": "up to 100 procedure codes separated by commas; unknown codes are left out"}],
            "responses": {"200": {"description": "{items: [Procedure]}"}, "400": _error("No codes, or too many")}}},
        "/api/procedures/{code}": {"get": {
            "summary": "One procedure with its documents, fee and form (the current version)",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1},
                            "description": "an older version (a dossier keeps the version it was filed with)"}],
            "responses": {"200": _json("Procedure"), "400": _error("Invalid parameter"),
                          "404": _error("Unknown procedure or version")}}},
        "/api/units": {"get": {
            "summary": "Administrative units in force on a date (commune picker)",
            "parameters": [
                {"name": "on", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "level", "in": "query", "schema": {"type": "string"},
                 "description": "commune, district or province, or several separated by commas (province,district)"},
                {"name": "parent", "in": "query", "schema": {"type": "string"}},
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
            ],
            "responses": {"200": _json("UnitList"), "400": _error("Invalid parameter")}}},
        "/api/units/{code}": {"patch": {
            "summary": "Set or remove a unit's electronic identifier code (administrators: their unit or below it)",
            "description": "Body {agency_code: \"000.00.12.H56\" | null} (Decision 20/2020/QĐ-TTg). New dossiers "
                           "received by the unit get codes starting with it (docs/workflow.md \"Dossier codes\").",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["agency_code"], "properties": {
                    "agency_code": {"type": "string", "nullable": True}}}}}},
            "responses": {"200": _json("Unit"), "400": _error("Malformed body or identifier code"),
                          "401": _error("Not signed in"), "403": _error("Not an administrator of the unit or above it"),
                          "404": _error("No unit in force with this code"),
                          "409": _error("Another unit has this identifier code"), "415": _error("Not JSON")}}},
        # Payments (docs/payments.md).
        "/api/units/{code}/collection-account": {"get": {
            "summary": "The unit's collection account, for the VietQR code a field device shows offline (the unit's "
                       "officers; administrators of the unit or above it)",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _object("{bank_bin, number, name}"), "401": _error("Not signed in"),
                          "403": _error("Not an officer of the unit nor an administrator above it"),
                          "404": _error("No unit in force with this code, or no collection account "
                                        "(no_collection_account)")}}, "put": {
            "summary": "Set the unit's collection account (administrators: their unit or below it)",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["bank_bin", "number", "name"], "properties": {
                    "bank_bin": {"type": "string"}, "number": {"type": "string"}, "name": {"type": "string"}}}}}},
            "responses": {"200": _object("The account"), "400": _error("Malformed account"),
                          "401": _error("Not signed in"), "403": _error("Not an administrator of the unit or above it"),
                          "404": _error("No unit in force with this code"), "415": _error("Not JSON")}}},
        "/api/units/{code}/statements": {"post": {
            "summary": "Import the unit's bank statement (CSV or camt.053 XML) and match it to dossiers",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {"200": _object("How many lines, and what became of them"),
                          "400": _error("The statement cannot be read"), "401": _error("Not signed in"),
                          "403": _error("Not the unit's desk or leader"), "404": _error("No unit in force"),
                          "413": _error("Too large")}}},
        "/api/units/{code}/payments": {"get": {
            "summary": "The statement lines left for an officer (partial, overpaid, duplicate, unmatched, refused)",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "all", "in": "query", "schema": {"type": "string", "enum": ["1"]},
                            "description": "1: the lines already resolved too"}],
            "responses": {"200": _object("The lines"), "401": _error("Not signed in"),
                          "403": _error("Not the unit's desk or leader"), "404": _error("No unit in force")}}},
        "/api/units/{code}/payments/{line_id}/resolve": {"post": {
            "summary": "Resolve a listed statement line: pay a dossier with it (payment_done, transfer) or dismiss it",
            "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "line_id", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "enum": ["pay", "dismiss"]},
                    "dossier": {"type": "string", "maxLength": 64,
                                "description": "pay: the code of the dossier paid, for a line matched to none"},
                    "confirmed_amount": {"type": "boolean",
                                         "description": "pay: the officer checked an amount other than the fee"},
                    "reason": {"type": "string", "maxLength": 500,
                               "description": "dismiss: why (at least 3 characters); pay: an optional note"}}}}}},
            "responses": {"200": _object("The line as resolved"),
                          "400": _error("Malformed body, unknown action, missing dossier code or reason"),
                          "401": _error("Not signed in"), "403": _error("Not the unit's desk or leader"),
                          "404": _error("No unit in force, no such line of this unit, or no such dossier of it"),
                          "409": _error("Already resolved, the amount differs unconfirmed, or the payment is refused"),
                          "413": _error("Too large"), "415": _error("Not JSON")}}},
        "/api/dossiers/{id}/payment": {"get": {
            "summary": "What the dossier owes and how to pay it (the fixed fee, its VietQR code)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _object("The fee and the payment"), "401": _error("Not signed in"),
                          "404": _error("No such dossier, or not yours")}}},
        "/api/dossiers/{id}/payment/gateway": {"post": {
            "summary": "Start paying the fixed fee at the payment gateway (the owner): the URL to send the browser to",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "responses": {"201": _object("The gateway URL"), "401": _error("Not signed in"),
                          "403": _error("Not the owner"), "404": _error("No such dossier, or not yours"),
                          "409": _error("Nothing to pay, or no gateway configured")}}},
        "/api/payments/vnpay/ipn": {"get": {
            "summary": "VNPAY's server-to-server payment notification (signed with vnp_SecureHash)",
            "parameters": [{"name": name, "in": "query", "schema": {"type": "string"}} for name in (
                "vnp_TxnRef", "vnp_Amount", "vnp_ResponseCode", "vnp_TransactionStatus", "vnp_TmnCode",
                "vnp_TransactionNo", "vnp_SecureHash")],
            "responses": {"200": _object("{RspCode, Message}"),
                          "409": _error("No gateway configured")}}},
        "/api/payments/vnpay/return": {"get": {
            "summary": "The citizen's browser back from VNPAY: sent on to the dossier in the app (an order still "
                       "pending is first queried at VNPAY when its merchant API is configured)",
            "parameters": [{"name": name, "in": "query", "schema": {"type": "string"}} for name in (
                "vnp_TxnRef", "vnp_Amount", "vnp_ResponseCode", "vnp_TmnCode", "vnp_SecureHash")],
            "responses": {"303": {"description": "To the app"}, "400": _error("Not signed by the gateway"),
                          "409": _error("No gateway configured")}}},
        "/api/dossiers": {
            "get": {"summary": "My dossiers (citizen) or my unit's (officer)",
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                                   {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                    "responses": {"200": _json("DossierList"), "401": _error("Not signed in")}},
            "post": {"summary": "Create a draft or submit a dossier online", "parameters": [CSRF],
                     "requestBody": _body("NewDossier"),
                     "responses": {"201": _json("Dossier"), "400": _error("Malformed"), "401": _error("Not signed in"),
                                   "403": _error("Role not allowed or CSRF"), "404": _error("Unknown procedure"),
                                   "409": _error("Already sent"), "413": _error("Too large"), "415": _error("Not JSON"),
                                   "422": _error("The form has invalid entries (details list each field)")}},
        },
        "/api/sync": {"post": {
            "summary": "One round of the sync protocol: push mutations, pull changes (docs/sync.md)",
            "description": "Request and response may be compressed (Content-Encoding / Accept-Encoding: gzip, br). "
                           "Each mutation gets its own result; malformed ones are rejected one by one.",
            "parameters": [CSRF], "requestBody": _body("SyncRequest"),
            "responses": {"200": _json("SyncResponse"), "400": _error("Malformed envelope or cursor"),
                          "401": _error("Not signed in"), "403": _error("CSRF, or the device id is another user's"),
                          "409": _error("A mutation id was reused with other content; nothing applied"),
                          "413": _error("Too many mutations or bytes: split the push"), "415": _error("Not JSON")}}},
        "/api/statistics": {"get": {
            "summary": "Statistics for leaders: received by channel, early / on time / late, pending, overdue, online "
                       "share per procedure, ratings, the Decision 766 index parts (docs/statistics.md)",
            "description": "A leader sees their unit; an administrator or a province-level leader the province and any "
                           "unit in it. The same figures as GET /statistics (page) and GET /statistics.csv (Excel).",
            "parameters": [
                {"name": "unit", "in": "query", "schema": {"type": "string", "maxLength": 16},
                 "description": "unit code; default: the leader's unit, or the administrator's province"},
                {"name": "year", "in": "query", "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}},
                {"name": "month", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 12}}],
            "responses": {"200": {"description": "{unit, period, received, by_channel, channel_shares, resolved, early, "
                                                 "on_time, late, without_due, timeliness_shares, pending, overdue, "
                                                 "ratings, rating_shares, months[], procedures[], index_766}",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": _error("Invalid year, month or unit"), "401": _error("Not signed in"),
                          "403": _error("Not a leader or administrator, or another unit"),
                          "404": _error("No such unit in the province")}}},
        "/api/calendar": {"get": {
            "summary": "The working calendar deadlines count in: working hours, cut-off, holidays and make-up days",
            "description": "Public and cacheable (ETag). Devices compute appointments offline with it "
                           "(docs/workflow.md \"Deadlines\").",
            "responses": {"200": {"description": "{working_hours: [[\"07:00\",\"11:30\"],…], cutoff, timezone, "
                                                 "days: [{day, kind: holiday|makeup, name}]}"},
                          "304": {"description": "Not modified"}}}},
        "/api/workflow": {"get": {
            "summary": "The dossier statuses with their names, and the workflow's steps: who may take which step "
                       "from which status, to which status",
            "description": "Public and cacheable (ETag); derived from the server's own workflow policy "
                           "(docs/workflow.md). The app builds its queue buttons and status names from it.",
            "responses": {"200": {"description": "{statuses: [{code, key, vi, en, citizen_vi, citizen_en}], groups: {open: [codes], …}, "
                                                 "steps: [{command, from: [codes], to: code|null, keeps_status, "
                                                 "substatus, roles: [role|\"owner\"], needs_reason}], on_the_spot: {roles, commands}}",
                                  "content": {"application/json": {"schema": {"type": "object", "required": [
                                      "statuses", "groups", "steps"]}}}},
                          "304": {"description": "Not modified"}}}},
        "/api/code-blocks": {"post": {
            "summary": "Reserve dossier-code numbers for a field device (intake officers, their unit)",
            "description": "Body {device_id}. Tops up today's and the next working days' blocks and returns every "
                           "block of the device from today on: {blocks: [{agency_code, day, first, last, used}]}.",
            "parameters": [CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["device_id"], "properties": {"device_id": {"type": "string"}}}}}},
            "responses": {"200": {"description": "{blocks: [{agency_code, day, first, last, used}]}"},
                          "400": _error("Missing or malformed device_id"), "401": _error("Not signed in"),
                          "403": _error("Not an intake officer, no unit, or another user's device"),
                          "415": _error("Not JSON")}}},
        "/api/attachments": {"post": {
            "summary": "Register a document page and get where to upload it (presigned PUT, or parts for large files)",
            "parameters": [CSRF], "requestBody": _body("NewAttachment"),
            "responses": {"201": _json("AttachmentUpload"), "400": _error("Invalid metadata"),
                          "401": _error("Not signed in"), "404": _error("Unknown dossier"),
                          "409": _error("Id used for other bytes, or the dossier takes no more documents"),
                          "413": _error("File or dossier too large"), "503": _error("Object store down: Retry-After")}}},
        "/api/attachments/{id}": {"get": {
            "summary": "A page's state, with short-lived download links once verified",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("Attachment"), "401": _error("Not signed in"), "404": _error("Unknown file")}},
            "patch": {
            "summary": "Reorder a page: {page: n}, by the dossier's owner while the dossier takes pages",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "responses": {"200": _json("Attachment"), "400": _error("Invalid page"), "401": _error("Not signed in"),
                          "403": _error("Not the owner"), "404": _error("Unknown file"),
                          "409": _error("The dossier takes no more changes to its pages")}}},
        "/api/attachments/{id}/upload": {"get": {
            "summary": "Where the upload stands: completed parts and fresh links for the rest (resume)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}, "401": _error("Not signed in"), "404": _error("Unknown file"),
                          "503": _error("Object store down")}}},
        "/api/attachments/{id}/finalize": {"post": {
            "summary": "Verify the uploaded bytes (size, SHA-256, real type, pixels); only then the page counts",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "responses": {"200": _json("Attachment"), "400": _error("Invalid parts"), "401": _error("Not signed in"),
                          "404": _error("Unknown file"), "409": _error("Upload not finished"),
                          "503": _error("Object store down: Retry-After")}}},
        "/api/dossiers/{id}/attachments": {"get": {
            "summary": "The pages of a dossier",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}, "401": _error("Not signed in"), "404": _error("Unknown dossier")}}},
        "/api/dossiers/{id}/events": {"get": {
            "summary": "The processing-control record: every step with who, when, from which status and unit to which; "
                       "for officers, each step's notices with the channels that carried them (notices[].reached_by)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}, "401": _error("Not signed in"), "404": _error("Unknown dossier")}}},
        "/api/me/documents": {"get": {
            "summary": "My verified document pages from my dossiers, one per content, to attach again (reuse)",
            "responses": {"200": {"description": "{items: [Attachment with dossier_code, download_url, thumbnail_url]}"},
                          "401": _error("Not signed in"), "503": _error("Object store down")}}},
        "/api/dossiers/{id}/attachments/reuse": {"post": {
            "summary": "Attach one of my verified pages to this dossier without uploading it again",
            "description": "Body {attachment_id, document?, page?, id?}. Owner only, while the dossier takes pages. "
                           "The new page points at the same stored object (reused_from). Repeating with the same id "
                           "creates nothing more (200).",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
            "requestBody": _body("ReuseDocument"),
            "responses": {"201": _json("Attachment", "Attached"), "200": _json("Attachment", "Already attached"),
                          "400": _error("Invalid input"), "401": _error("Not signed in"),
                          "403": _error("Not the owner, or CSRF"),
                          "404": _error("Unknown dossier, or no such verified document of mine"),
                          "409": _error("The dossier takes no more pages, or the id is used"),
                          "413": _error("Dossier too large"), "415": _error("Not JSON")}}},
        "/api/dossiers/{id}/rating": {
            "get": {"summary": "The dossier's satisfaction rating, and whether I may rate it now",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": _json("RatingState"), "401": _error("Not signed in"),
                                  "404": _error("Unknown dossier")}},
            "post": {"summary": "Rate the service once the result is returned (owner, once; a reason for unsatisfied)",
                     "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}, CSRF],
                     "requestBody": _body("NewRating"),
                     "responses": {"201": _json("Rating"), "400": _error("Invalid value, or no reason for unsatisfied"),
                                   "401": _error("Not signed in"), "403": _error("Not the owner, or CSRF"),
                                   "404": _error("Unknown dossier"),
                                   "409": _error("Result not returned yet, or already rated"),
                                   "415": _error("Not JSON")}}},
        "/api/push/key": {"get": {"summary": "The VAPID public key, as the browser's applicationServerKey",
                                  "responses": {"200": _json("PushKey")}}},
        "/api/push/subscriptions": {
            "get": {"summary": "The signed-in user's devices that receive push notifications",
                    "responses": {"200": _json("PushSubscriptionList"), "401": _error("Not signed in")}},
            "post": {"summary": "Register this browser's push subscription (PushSubscription.toJSON() + device_id, "
                                "label, locale); the same endpoint again updates it",
                     "parameters": [CSRF], "requestBody": _body("NewPushSubscription"),
                     "responses": {"201": _json("PushSubscription", "Registered"), "200": _json("PushSubscription", "Updated"),
                                   "400": _error("Bad endpoint or keys"), "401": _error("Not signed in"),
                                   "403": _error("Missing CSRF token"), "415": _error("Not JSON")}}},
        "/api/push/subscriptions/{id}": {"delete": {
            "summary": "Stop push notifications to one of the user's devices",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}, CSRF],
            "responses": {"200": {"description": "{deleted: true}"}, "401": _error("Not signed in"),
                          "403": _error("Missing CSRF token"), "404": _error("Not one of the user's devices")}}},
        "/api/notices": {"get": {
            "summary": "The in-app inbox: the user's notices, newest first, with the unread count",
            "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                           {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": _json("NoticeList"), "400": _error("Invalid parameter"), "401": _error("Not signed in")}}},
        "/api/account/channels": {
            "get": {"summary": "The notice channels the province offers (push, zalo, sms, in its order) and those the "
                               "user stopped",
                    "responses": {"200": _json("NoticeChannels"), "401": _error("Not signed in")}},
            "put": {"summary": "Stop Zalo or SMS notices ({stopped: [\"sms\", \"zalo\"]}; [] allows them again)",
                    "parameters": [CSRF], "requestBody": _body("StoppedChannels"),
                    "responses": {"200": _json("NoticeChannels"), "400": _error("Not a list of sms and zalo"),
                                  "401": _error("Not signed in"), "403": _error("Missing CSRF token"),
                                  "415": _error("Not JSON")}}},
        "/api/claims": {"post": {
            "summary": "A citizen claims a walk-in dossier by its code: a one-time code goes by SMS to the phone on the "
                       "dossier (never to a number the claimant types)",
            "parameters": [CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code"], "additionalProperties": False,
                "properties": {"code": {"type": "string", "maxLength": 64, "description": "the dossier code"}}}}}},
            "responses": {"201": _object("{claim_id, phone_hint, expires_at}"), "400": _error("Not a dossier code"),
                          "401": _error("Not signed in"), "403": _error("Only citizens claim, or missing CSRF token"),
                          "404": _error("No walk-in dossier nobody owns has this code"),
                          "409": _error("Already owned, no phone on the dossier to send the code to, or no SMS "
                                        "channel (sms_unavailable)"),
                          "415": _error("Not JSON"), "429": _error("Too many codes asked for")}}},
        "/api/claims/{id}/confirm": {"post": {
            "summary": "The one-time code: right, the dossier is the citizen's; wrong, one try fewer",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 36}},
                           CSRF],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code"], "additionalProperties": False,
                "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"}}}}}},
            "responses": {"200": _json("Dossier"), "400": _error("Wrong, expired or used-up code"),
                          "401": _error("Not signed in"), "403": _error("Another citizen's claim, or missing CSRF token"),
                          "404": _error("No such claim"), "409": _error("Already claimed or tries used up"),
                          "410": _error("The code expired"), "415": _error("Not JSON"),
                          "429": _error("Too many tries")}}},
        "/api/notices/zalo/events": {"post": {
            "summary": "Zalo's OA webhook: a user_received_message event makes the Zalo delivery with that msg_id "
                       "delivered (signed with X-ZEvent-Signature; no session)",
            "parameters": [{"name": "X-ZEvent-Signature", "in": "header", "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": _object("{ok, recorded: delivered | already | unknown | ignored}"),
                          "400": _error("Not a JSON object, no timestamp, stale, or no message id"),
                          "401": _error("Missing or wrong signature, or another app"),
                          "404": _error("The Zalo webhook is not configured"), "413": _error("Too large")}}},
        "/api/notices/{id}/read": {"post": {
            "summary": "Mark one of the user's notices read",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}, CSRF],
            "responses": {"200": _json("Notice"), "401": _error("Not signed in"), "403": _error("Missing CSRF token"),
                          "404": _error("Not one of the user's notices")}}},
        "/api/dossiers/{id}": {"get": {
            "summary": "One dossier, if the caller may see it",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("Dossier"), "401": _error("Not signed in"), "404": _error("Unknown dossier")}}},
        "/api/track": {"post": {
            "summary": "Track a dossier without signing in: its code and the last 4 digits of the phone or CCCD on it "
                       "(no CSRF token: it reads, it changes nothing)",
            "requestBody": _body("TrackRequest"),
            "responses": {"200": _json("Tracking"), "400": _error("Code or digits malformed"),
                          "404": _error("No such code, or the digits do not match (one answer for both)"),
                          "415": _error("Not JSON"), "429": _error("Too many look-ups; see Retry-After")}}},
    },
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "message_en": {"type": "string"},
                           "details": {"description": "per-field problems (a list) or the ids concerned (an object)"}}}}},
        "TrackRequest": {"type": "object", "required": ["code", "digits"], "properties": {
            "code": {"type": "string", "maxLength": 64, "example": "000.00.01.H57-261125-0001"},
            "digits": {"type": "string", "pattern": "^[0-9]{4}$", "example": "5678"}}},
        "Tracking": {"type": "object", "required": ["code", "status", "status_name", "procedure", "timeline"], "properties": {
            "code": {"type": "string", "nullable": True}, "status": {"type": "integer"},
            "status_name": {"type": "string"}, "status_name_en": {"type": "string"},
            "procedure": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
            "unit": {"type": "string", "nullable": True}, "handling_unit": {"type": "string", "nullable": True},
            "received_at": {"type": "string", "format": "date-time", "nullable": True},
            "received_text": {"type": "string"},
            "due_at": {"type": "string", "format": "date-time", "nullable": True,
                       "description": "the appointment (ngày hẹn trả kết quả)"},
            "due_date_text": {"type": "string", "example": "ngày 30 tháng 11 năm 2026"},
            "original_due_at": {"type": "string", "format": "date-time", "nullable": True,
                                "description": "the original appointment (hạn gốc) when an apology extended it"},
            "original_due_date_text": {"type": "string", "nullable": True},
            "finished_at": {"type": "string", "format": "date-time", "nullable": True,
                            "description": "when processing ended (result ready): timeliness is decided by it"},
            "returned_at": {"type": "string", "format": "date-time", "nullable": True},
            "timeliness": {"type": "string", "nullable": True,
                           "enum": ["early", "on_time", "late", "within_time", "overdue", None]},
            "timeliness_name": {"type": "string", "nullable": True},
            "timeline": {"type": "array", "items": {"type": "object", "properties": {
                "at": {"type": "string", "format": "date-time"}, "at_text": {"type": "string"},
                "action": {"type": "string"}, "action_name": {"type": "string"},
                "status": {"type": "integer", "nullable": True}, "status_name": {"type": "string", "nullable": True},
                "from_unit": {"type": "string", "nullable": True}, "to_unit": {"type": "string", "nullable": True},
                "note": {"type": "string", "description": "only reasons addressed to the citizen"}}}}}},
        "Health": {"type": "object", "required": ["ok", "checks"],
                   "properties": {"ok": {"type": "boolean"}, "checks": {"type": "object"}}},
        "User": {"type": "object", "required": ["id", "phone", "full_name", "role"], "properties": {
            "id": {"type": "integer"}, "phone": {"type": "string"}, "full_name": {"type": "string"},
            "role": {"type": "string", "enum": ["citizen", "intake", "specialist", "leader", "admin"]},
            "unit": {"type": "object", "nullable": True}, "locale": {"type": "string"}}},
        "Session": {"type": "object", "required": ["user"], "properties": {
            "user": {"allOf": [{"$ref": "#/components/schemas/User"}], "nullable": True},
            "csrf_token": {"type": "string"},
            "oidc": {"type": "boolean", "description": "sign-in with the identity provider is offered: "
                     "GET /auth/oidc/start"}}},
        "SignIn": {"type": "object", "required": ["phone", "password"], "properties": {
            "phone": {"type": "string", "example": "0912345678"}, "password": {"type": "string"}}},
        "Register": {"type": "object", "required": ["phone", "password", "full_name"], "properties": {
            "phone": {"type": "string"}, "password": {"type": "string", "minLength": 8, "maxLength": 200},
            "full_name": {"type": "string", "maxLength": 100}}},
        "ChangePassword": {"type": "object", "required": ["current_password", "new_password"], "properties": {
            "current_password": {"type": "string"}, "new_password": {"type": "string", "minLength": 8}}},
        "ProcedureItem": {"type": "object", "required": ["code", "name", "level", "processing_days"], "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "field": {"type": "string"},
            "level": {"type": "string", "enum": ["commune", "district", "province"]},
            "processing_days": {"type": "number", "nullable": True, "description": "in processing_unit (working days by default); 0: the same day; null when not published"},
            "processing_unit": {"type": "string", "enum": ["working_days", "days", "hours"]},
            "cutoff": {"type": "string", "nullable": True, "description": "the procedure's own cut-off hour, HH:MM"}, "online": {"type": "string", "enum": ["full", "partial", "none", "unknown"]},
            "on_the_spot": {"type": "boolean", "description": "\"4 tại chỗ\": received, appraised, approved and returned on the spot"},
            "version": {"type": "integer"}}},
        "ProcedureList": {"type": "object", "required": ["items", "total"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ProcedureItem"}},
            "total": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"}}},
        "Procedure": {"allOf": [{"$ref": "#/components/schemas/ProcedureItem"}, {"type": "object", "properties": {
            "fee": {"type": "object"}, "documents": {"type": "array", "items": {"type": "object"}},
            "form": {"type": "object", "description": "See docs/forms.md"}, "effective_from": {"type": "string"}}}]},
        "Unit": {"type": "object", "required": ["code", "name", "level"], "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string"},
            "parent": {"type": "string", "nullable": True},
            "agency_code": {"type": "string", "nullable": True,
                            "description": "electronic identifier code (Decision 20/2020/QĐ-TTg), e.g. 000.00.12.H56"}}},
        "UnitList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
            "$ref": "#/components/schemas/Unit"}}}},
        "NewDossier": {"type": "object", "required": ["procedure_code", "data"], "properties": {
            "id": {"type": "string", "format": "uuid", "description": "made on the device"},
            "procedure_code": {"type": "string"}, "data": {"type": "object"},
            "submit": {"type": "boolean", "default": False},
            "unit_code": {"type": "string", "description": "the receiving commune or office; required to submit"}}},
        "Dossier": {"type": "object", "required": ["id", "status", "procedure"], "properties": {
            "id": {"type": "string"}, "code": {"type": "string", "nullable": True},
            "status": {"type": "integer", "minimum": 0, "maximum": 10}, "status_name": {"type": "string"},
            "procedure": {"type": "object"}, "unit": {"type": "object", "nullable": True}, "data": {"type": "object"},
            "version": {"type": "integer"}, "substatus": {"type": "string", "nullable": True},
            "code_provisional": {"type": "boolean"},
            "submitted_at": {"type": "string", "format": "date-time", "nullable": True},
            "received_at": {"type": "string", "format": "date-time", "nullable": True},
            "due_at": {"type": "string", "format": "date-time", "nullable": True},
            "original_due_at": {"type": "string", "format": "date-time", "nullable": True,
                                "description": "the original appointment (hạn gốc) when an apology extended it"},
            "finished_at": {"type": "string", "format": "date-time", "nullable": True},
            "returned_at": {"type": "string", "format": "date-time", "nullable": True},
            "assigned_to": {"type": "integer", "nullable": True, "description": "the officer processing it"},
            "register_year": {"type": "integer", "nullable": True,
                              "description": "the register book (sổ theo dõi hồ sơ) of the receiving unit: its year"},
            "register_number": {"type": "integer", "nullable": True,
                                "description": "its line (số thứ tự) in that book, gapless, set by the server"},
            "handling_unit": {"type": "object", "nullable": True,
                              "description": "after a transfer (liên thông), the office handling it"},
            "postal": {"type": "object", "properties": {"submit": {"type": "boolean"}, "return": {"type": "boolean"},
                                                        "consignment": {"type": "string"}}}}},
        "SyncRequest": {"type": "object", "required": ["device_id"], "properties": {
            "device_id": {"type": "string", "maxLength": 64}, "cursor": {"type": "string", "nullable": True},
            "limit": {"type": "integer", "minimum": 1, "maximum": 500},
            "lost": {"type": "array", "items": {"type": "integer"}},
            "mutations": {"type": "array", "maxItems": 500, "items": {"type": "object", "required": [
                "mutation_id", "seq", "entity", "entity_id", "op"], "properties": {
                "mutation_id": {"type": "string"}, "seq": {"type": "integer", "minimum": 1},
                "entity": {"type": "string"}, "entity_id": {"type": "string"},
                "op": {"type": "string", "enum": ["create", "update", "command", "resolve"]},
                "base_version": {"type": "integer"}, "changes": {"type": "object"},
                "command": {"type": "string"}, "args": {"type": "object"}}}}}},
        "SyncResponse": {"type": "object", "required": ["results", "changes", "cursor", "more"], "properties": {
            "results": {"type": "array", "items": {"type": "object", "required": ["status"], "properties": {
                "mutation_id": {"type": "string", "nullable": True},
                "status": {"type": "string", "enum": ["applied", "merged", "conflict", "rejected", "held", "lost"]},
                "version": {"type": "integer"}, "code": {"type": "string"}, "reason": {"type": "object"},
                "conflicts": {"type": "array", "items": {"type": "string"}}}}},
            "changes": {"type": "array", "items": {"type": "object", "required": ["entity", "id"], "properties": {
                "entity": {"type": "string"}, "id": {"type": "string"}, "version": {"type": "integer", "nullable": True},
                "data": {"type": "object", "nullable": True}, "deleted": {"type": "boolean"}}}},
            "cursor": {"type": "string"}, "more": {"type": "boolean"},
            "lost": {"type": "array", "items": {"type": "integer"}}}},
        "NewAttachment": {"type": "object", "required": ["id", "dossier_id", "document", "sha256", "size"],
                          "properties": {"id": {"type": "string", "format": "uuid"}, "dossier_id": {"type": "string"},
                                         "document": {"type": "string", "maxLength": 300},
                                         "page": {"type": "integer", "minimum": 1, "maximum": 100},
                                         "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                         "size": {"type": "integer", "minimum": 1}, "content_type": {"type": "string"}}},
        "Attachment": {"type": "object", "required": ["id", "status"], "properties": {
            "id": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "verified", "rejected"]},
            "reject_code": {"type": "string", "nullable": True}, "reject_reason": {"type": "string", "nullable": True},
            "download_url": {"type": "string"}, "thumbnail_url": {"type": "string"}}},
        "AttachmentUpload": {"type": "object", "required": ["attachment", "upload"], "properties": {
            "attachment": {"$ref": "#/components/schemas/Attachment"},
            "upload": {"type": "object", "description": "{kind: put, method, url, headers} or {kind: multipart, "
                                                        "upload_id, part_size, parts: [{part_number, size, url|etag}]}"}}},
        "ReuseDocument": {"type": "object", "required": ["attachment_id"], "properties": {
            "attachment_id": {"type": "string", "maxLength": 36, "description": "one of GET /api/me/documents"},
            "document": {"type": "string", "maxLength": 300, "description": "the required document it stands for"},
            "page": {"type": "integer", "minimum": 1, "maximum": 100},
            "id": {"type": "string", "format": "uuid", "description": "made on the device; repeats create nothing"}}},
        "NewRating": {"type": "object", "required": ["value"], "properties": {
            "value": {"type": "string", "enum": ["very_satisfied", "satisfied", "unsatisfied"]},
            "reason": {"type": "string", "maxLength": 2000, "description": "required for unsatisfied"}}},
        "Rating": {"type": "object", "required": ["value", "label", "reason"], "properties": {
            "value": {"type": "string", "enum": ["very_satisfied", "satisfied", "unsatisfied"]},
            "label": {"type": "string"}, "label_en": {"type": "string"}, "reason": {"type": "string"},
            "created_at": {"type": "string"}}},
        "RatingState": {"type": "object", "required": ["rating", "can_rate"], "properties": {
            "rating": {"allOf": [{"$ref": "#/components/schemas/Rating"}], "nullable": True},
            "can_rate": {"type": "boolean"}}},
        "PushKey": {"type": "object", "required": ["public_key"], "properties": {
            "public_key": {"type": "string", "description": "P-256 public key, uncompressed point, base64url"}}},
        "NewPushSubscription": {"type": "object", "required": ["endpoint", "keys"], "properties": {
            "endpoint": {"type": "string", "maxLength": 1000, "description": "https:// URL of the push service"},
            "expirationTime": {"type": "integer", "nullable": True},
            "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
                "p256dh": {"type": "string", "maxLength": 200}, "auth": {"type": "string", "maxLength": 200}}},
            "device_id": {"type": "string", "maxLength": 64, "nullable": True},
            "label": {"type": "string", "maxLength": 200}, "locale": {"type": "string", "enum": ["vi", "en"]}}},
        "PushSubscription": {"type": "object", "required": ["id", "endpoint", "label"], "properties": {
            "id": {"type": "integer"}, "endpoint": {"type": "string"}, "label": {"type": "string"},
            "device_id": {"type": "string", "nullable": True}, "locale": {"type": "string"},
            "created_at": {"type": "string"}, "last_success_at": {"type": "string", "nullable": True}}},
        "PushSubscriptionList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/PushSubscription"}}}},
        "Notice": {"type": "object", "required": ["id", "kind", "title", "body", "url"], "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string"}, "title": {"type": "string"},
            "body": {"type": "string"}, "url": {"type": "string"}, "dossier_id": {"type": "string", "nullable": True},
            "created_at": {"type": "string"}, "read_at": {"type": "string", "nullable": True},
            "channels": {"type": "array", "description": "how it went, in the order tried", "items": {
                "$ref": "#/components/schemas/NoticeDelivery"}}}},
        "NoticeDelivery": {"type": "object", "required": ["channel", "status"], "properties": {
            "channel": {"type": "string", "enum": ["push", "zalo", "sms"]},
            "status": {"type": "string", "enum": ["queued", "sent", "delivered", "failed"]},
            "at": {"type": "string", "nullable": True}, "error": {"type": "string"}}},
        "NoticeChannels": {"type": "object", "required": ["offered", "stoppable", "stopped", "has_phone"], "properties": {
            "offered": {"type": "array", "items": {"type": "string"}},
            "stoppable": {"type": "array", "items": {"type": "string"}},
            "stopped": {"type": "array", "items": {"type": "string"}}, "has_phone": {"type": "boolean"}}},
        "StoppedChannels": {"type": "object", "required": ["stopped"], "properties": {
            "stopped": {"type": "array", "maxItems": 5, "items": {"type": "string", "enum": ["sms", "zalo"]}}}},
        "NoticeList": {"type": "object", "required": ["items", "unread"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Notice"}}, "unread": {"type": "integer"}}},
        "DossierList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Dossier"}}}},
    }},
}


@requires("catalog.read")
async def openapi_json(request: Request, _: User | None) -> JSONResponse:
    return JSONResponse(SPEC)
