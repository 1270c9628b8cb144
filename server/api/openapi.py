"""GET /api/openapi.json: the API described for people and for tools (Schemathesis checks it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def _body(schema_ref: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


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
                {"name": "level", "in": "query", "schema": {"type": "string"}},
                {"name": "parent", "in": "query", "schema": {"type": "string"}},
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
            ],
            "responses": {"200": _json("UnitList"), "400": _error("Invalid parameter")}}},
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
            "responses": {"200": _json("Attachment"), "401": _error("Not signed in"), "404": _error("Unknown file")}}},
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
            "summary": "The processing-control record: every step with who, when, from which status and unit to which",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}, "401": _error("Not signed in"), "404": _error("Unknown dossier")}}},
        "/api/dossiers/{id}": {"get": {
            "summary": "One dossier, if the caller may see it",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("Dossier"), "401": _error("Not signed in"), "404": _error("Unknown dossier")}}},
    },
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "message_en": {"type": "string"},
                           "details": {"description": "per-field problems (a list) or the ids concerned (an object)"}}}}},
        "Health": {"type": "object", "required": ["ok", "checks"],
                   "properties": {"ok": {"type": "boolean"}, "checks": {"type": "object"}}},
        "User": {"type": "object", "required": ["id", "phone", "full_name", "role"], "properties": {
            "id": {"type": "integer"}, "phone": {"type": "string"}, "full_name": {"type": "string"},
            "role": {"type": "string", "enum": ["citizen", "intake", "specialist", "leader", "admin"]},
            "unit": {"type": "object", "nullable": True}, "locale": {"type": "string"}}},
        "Session": {"type": "object", "required": ["user"], "properties": {
            "user": {"allOf": [{"$ref": "#/components/schemas/User"}], "nullable": True},
            "csrf_token": {"type": "string"}}},
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
            "processing_days": {"type": "number", "nullable": True, "description": "working days; null when not published"}, "online": {"type": "string", "enum": ["full", "partial", "none"]},
            "version": {"type": "integer"}}},
        "ProcedureList": {"type": "object", "required": ["items", "total"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ProcedureItem"}},
            "total": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"}}},
        "Procedure": {"allOf": [{"$ref": "#/components/schemas/ProcedureItem"}, {"type": "object", "properties": {
            "fee": {"type": "object"}, "documents": {"type": "array", "items": {"type": "object"}},
            "form": {"type": "object", "description": "See docs/forms.md"}, "effective_from": {"type": "string"}}}]},
        "UnitList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "level"], "properties": {
                "code": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string"},
                "parent": {"type": "string", "nullable": True}}}}}},
        "NewDossier": {"type": "object", "required": ["procedure_code", "data"], "properties": {
            "id": {"type": "string", "format": "uuid", "description": "made on the device"},
            "procedure_code": {"type": "string"}, "data": {"type": "object"},
            "submit": {"type": "boolean", "default": False},
            "unit_code": {"type": "string", "description": "the receiving commune or office; required to submit"}}},
        "Dossier": {"type": "object", "required": ["id", "status", "procedure"], "properties": {
            "id": {"type": "string"}, "code": {"type": "string", "nullable": True},
            "status": {"type": "integer", "minimum": 0, "maximum": 10}, "status_name": {"type": "string"},
            "procedure": {"type": "object"}, "unit": {"type": "object", "nullable": True}, "data": {"type": "object"},
            "version": {"type": "integer"}}},
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
        "DossierList": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Dossier"}}}},
    }},
}


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(SPEC)
