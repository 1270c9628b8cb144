"""The data model (tortoise-orm). Migrations live in server/migrations.

Model docstrings become SQL table comments: keep semicolons out of them, since the
migration runner splits SQL statements on them.

Records created on devices (dossiers, attachments, devices, mutations, conflicts) have
ids made on the device, so nothing waits for the server to exist (docs/design.md, Sync 1).
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from server.dossiers.status import DossierStatus

# Roles (vai trò). Officers have a unit; citizens do not.
CITIZEN = "citizen"  # công dân
INTAKE = "intake"  # cán bộ tiếp nhận (một cửa)
SPECIALIST = "specialist"  # chuyên viên xử lý
LEADER = "leader"  # lãnh đạo
ADMIN = "admin"  # quản trị
ROLES = (CITIZEN, INTAKE, SPECIALIST, LEADER, ADMIN)
OFFICER_ROLES = (INTAKE, SPECIALIST, LEADER, ADMIN)


class AdministrativeUnit(Model):
    """Đơn vị hành chính: a province, district or commune in force between two dates."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16)
    name = fields.CharField(max_length=200)
    name_folded = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=50, default="")
    level = fields.CharField(max_length=16)  # "province" | "district" | "commune": data, not code
    parent: fields.ForeignKeyNullableRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", null=True, related_name="children")
    parent_id: int | None
    valid_from = fields.DateField()
    valid_to = fields.DateField(null=True)
    # Mã định danh điện tử of the unit's one-stop office (Decision 20/2020/QĐ-TTg), used in dossier codes.
    agency_code = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "administrative_units"
        unique_together = (("code", "valid_from"),)


class UnitSuccessor(Model):
    """Old unit → the unit it became part of at a reorganisation (e.g. 1 July 2025)."""

    id = fields.IntField(primary_key=True)
    old_unit: fields.ForeignKeyRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", related_name="successors")
    old_unit_id: int
    new_unit: fields.ForeignKeyRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", related_name="predecessors")
    new_unit_id: int

    class Meta:
        table = "unit_successors"
        unique_together = (("old_unit", "new_unit"),)


class Procedure(Model):
    """Thủ tục hành chính. Its content lives in versions, this row points at the latest."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=500)
    name_folded = fields.CharField(max_length=500)
    field = fields.CharField(max_length=200)  # lĩnh vực
    level = fields.CharField(max_length=16)
    processing_days = fields.DecimalField(max_digits=6, decimal_places=1, null=True)  # null: not published
    # The unit of processing_days as the national data give it: working_days | days | hours (working_time.UNITS).
    processing_unit = fields.CharField(max_length=16, default="working_days")
    # The procedure's own cut-off hour "HH:MM" (received at or after it → the next working day); None: the
    # office's, or 15:00 for a same-day procedure (docs/workflow.md "Deadlines").
    cutoff = fields.CharField(max_length=5, null=True)
    online = fields.CharField(max_length=8)  # "full" (toàn trình) | "partial" (một phần) | "none" | "unknown"
    # "4 tại chỗ": the province designates it for one authorised officer to receive, appraise, approve and return on
    # the spot (docs/workflow.md "Approval and return").
    on_the_spot = fields.BooleanField(default=False)
    current_version = fields.IntField(default=1)

    class Meta:
        table = "procedures"


class ProcedureVersion(Model):
    """One version of a procedure's content and form: a dossier keeps the version it was filed with."""

    id = fields.IntField(primary_key=True)
    procedure: fields.ForeignKeyRelation[Procedure] = fields.ForeignKeyField("motcua.Procedure", related_name="versions")
    procedure_id: int
    version = fields.IntField()
    effective_from = fields.DateField()
    content: fields.JSONField[dict[str, Any]] = fields.JSONField()  # the catalog entry as imported: name, documents, fee, form, sources…
    content_hash = fields.CharField(max_length=64)
    imported_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "procedure_versions"
        unique_together = (("procedure", "version"),)


class User(Model):
    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=16, unique=True)  # normalised 0xxxxxxxxx; the sign-in name
    full_name = fields.CharField(max_length=200)
    full_name_folded = fields.CharField(max_length=200)
    # the personal identification number (số định danh cá nhân) an identity provider asserted: the account's link
    # to it (server/accounts/oidc.py); one account per number (the unique index users_cccd_unique, migration 0009)
    cccd = fields.CharField(max_length=12, null=True)
    password_hash = fields.CharField(max_length=200)
    role = fields.CharField(max_length=16, default=CITIZEN)
    unit: fields.ForeignKeyNullableRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", null=True, related_name="officers")
    unit_id: int | None
    locale = fields.CharField(max_length=5, default="vi")
    created_at = fields.DatetimeField(auto_now_add=True)
    # The notice channels the person stopped ("sms,zalo"; docs/push.md "Channels"): a paid channel is used only
    # while it is not listed here. Empty: every channel the province offers.
    stopped_channels = fields.CharField(max_length=64, null=True)  # nullable: added to a filled table (0010)

    class Meta:
        table = "users"


class Session(Model):
    """A signed-in browser or phone (phiên đăng nhập): the cookie holds a random token, this table its hash.

    Signing out deletes the row, so a copied cookie stops working; a password change deletes them all.
    """

    token_hash = fields.CharField(max_length=64, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("motcua.User", related_name="sessions", on_delete=fields.CASCADE)
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "sessions"


class SignInThrottle(Model):
    """Failed sign-ins per phone number or per address, shared by all app instances."""

    key = fields.CharField(max_length=128, primary_key=True)  # "phone:…" or "addr:…"
    failures = fields.IntField(default=0)
    window_started = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "sign_in_throttles"


class Device(Model):
    """A phone or tablet of a user, named by the id it made for itself."""

    id = fields.CharField(max_length=64, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("motcua.User", related_name="devices")
    user_id: int
    name = fields.CharField(max_length=200, default="")
    # Highest mutation seq applied contiguously (docs/sync.md): later ones wait for the gap to fill.
    applied_seq = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "devices"


class Dossier(Model):
    """Hồ sơ. Status codes follow the national public-service portal (docs/workflow.md), 0 is a draft."""

    id = fields.CharField(max_length=36, primary_key=True)
    code = fields.CharField(max_length=64, null=True, unique=True)  # {agency code}-{yyMMdd}-{NNNN}
    procedure_version: fields.ForeignKeyRelation[ProcedureVersion] = fields.ForeignKeyField("motcua.ProcedureVersion", related_name="dossiers")
    procedure_version_id: int
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField("motcua.User", null=True, related_name="dossiers")
    owner_id: int | None
    unit: fields.ForeignKeyNullableRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", null=True, related_name="dossiers")
    unit_id: int | None
    status = fields.SmallIntField(default=int(DossierStatus.DRAFT))  # server/dossiers/status.py
    substatus = fields.CharField(max_length=32, null=True)
    channel = fields.CharField(max_length=16, default="online")  # online | direct | postal | field
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # the form's values
    version = fields.IntField(default=1)  # bumped by every write: the sync record version
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField("motcua.User", null=True, related_name="dossiers_taken")  # field intake
    created_by_id: int | None
    assigned_to: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField("motcua.User", null=True, related_name="assigned_dossiers")
    assigned_to_id: int | None
    submitted_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField(null=True)  # appointment (ngày hẹn trả kết quả), extended by an apology
    # The original appointment (hạn gốc) when an apology (form 04) extended it; timeliness is judged on it.
    original_due_at = fields.DatetimeField(null=True)
    # When processing ended, the result ready (ngày kết thúc xử lý, `finish`): timeliness is decided by it.
    finished_at = fields.DatetimeField(null=True)
    returned_at = fields.DatetimeField(null=True)  # when the result was handed over (`return`)
    # Sign-off (docs/workflow.md "Approval and return"): the leader who approved (signed) the drafted result, when;
    # and who received the result at the desk (their signature is a page of the dossier).
    approved_by = fields.IntField(null=True)
    approved_at = fields.DatetimeField(null=True)
    returned_to = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # The office now handling it, when a receiving office forwarded it (liên thông), else the receiving unit.
    handling_unit: fields.ForeignKeyNullableRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", null=True, related_name="dossiers_handled")
    handling_unit_id: int | None
    # The deadline clock stops while a supplement or a financial obligation is awaited.
    clock_paused_at = fields.DatetimeField(null=True)
    apology_sent_at = fields.DatetimeField(null=True)  # văn bản xin lỗi, sent at most once
    code_provisional = fields.BooleanField(default=False)  # issued offline without a reserved number
    postal_submit = fields.BooleanField(default=False)  # bưu chính công ích: dossier sent by post
    postal_return = fields.BooleanField(default=False)  # result returned by post
    postal_consignment = fields.CharField(max_length=64, default="")  # số hiệu bưu gửi
    # Its line in the receiving unit's dossier register (sổ theo dõi hồ sơ, form 07 of Circular 03/2025): one book
    # per unit and year of reception, numbered 1, 2, 3… without gaps by the server when the reception is written
    # (server/workflow/register_numbers.py), also for receipts issued offline.
    register_year = fields.SmallIntField(null=True)
    register_number = fields.IntField(null=True)
    # The applicant's mobile number ("0…") and personal identification number (số định danh cá nhân, 12 digits), as
    # the form holds them (its first field of type phone and cccd), copied by the Store at every write
    # (server/dossiers/store.py) so that a walk-in dossier is found by them: linked when the identity provider
    # asserts that number, and the claim's one-time code goes to that phone (server/dossiers/claims.py). Indexed
    # (migration 0011).
    applicant_phone = fields.CharField(max_length=16, null=True)
    applicant_personal_id = fields.CharField(max_length=12, null=True)
    # The fee (phí, lệ phí) fixed when payment is requested (docs/payments.md): the amount from the procedure's fee
    # rules for the dossier's channel, and the VietQR text for the unit's collection account ("" without one). A
    # later change of the catalog's rules or of the account does not alter them.
    fee_amount_vnd = fields.BigIntField(null=True)
    fee_fixed_at = fields.DatetimeField(null=True)
    payment_qr = fields.CharField(max_length=512, default="", db_default="")  # db_default: dossiers already there
    # The payment recorded by `payment_done`: when, by which channel (transfer | cash | gateway), its reference.
    paid_at = fields.DatetimeField(null=True)
    payment_channel = fields.CharField(max_length=16, default="", db_default="")
    payment_reference = fields.CharField(max_length=128, default="", db_default="")

    class Meta:
        table = "dossiers"
        indexes = (("unit_id", "received_at"), ("status", "due_at"))
        unique_together = (("unit", "register_year", "register_number"),)


class DossierEvent(Model):
    """One step of the processing-control record (phiếu kiểm soát quá trình giải quyết hồ sơ). Append-only."""

    id = fields.BigIntField(primary_key=True)
    dossier: fields.ForeignKeyRelation[Dossier] = fields.ForeignKeyField("motcua.Dossier", related_name="events")
    dossier_id: str
    at = fields.DatetimeField(auto_now_add=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField("motcua.User", null=True, related_name="dossier_events")
    actor_id: int | None
    action = fields.CharField(max_length=32)
    from_status = fields.SmallIntField(null=True)
    to_status = fields.SmallIntField(null=True)
    from_unit: fields.ForeignKeyNullableRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", null=True, related_name="events_from")
    from_unit_id: int | None
    to_unit: fields.ForeignKeyNullableRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", null=True, related_name="events_to")
    to_unit_id: int | None
    note = fields.TextField(default="")

    class Meta:
        table = "dossier_events"


class Attachment(Model):
    """A document page (thành phần hồ sơ), its bytes are in the object store, addressed by SHA-256."""

    id = fields.CharField(max_length=36, primary_key=True)
    dossier: fields.ForeignKeyRelation[Dossier] = fields.ForeignKeyField("motcua.Dossier", related_name="attachments")
    dossier_id: str
    uploader: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField("motcua.User", null=True, related_name="attachments")
    uploader_id: int | None
    document = fields.CharField(max_length=300)  # which required document this page belongs to
    page = fields.IntField(default=1)
    sha256 = fields.CharField(max_length=64)
    size = fields.BigIntField()
    content_type = fields.CharField(max_length=64, default="")
    status = fields.CharField(max_length=16, default="pending")  # pending | verified | rejected
    reject_code = fields.CharField(max_length=32, default="")
    reject_reason = fields.TextField(default="")
    upload_id = fields.CharField(max_length=200, null=True)  # an S3 multipart upload in progress
    thumbnail_key = fields.CharField(max_length=200, null=True)
    version = fields.IntField(default=1)  # the sync record version
    created_at = fields.DatetimeField(auto_now_add=True)
    verified_at = fields.DatetimeField(null=True)
    # A verified document of the same owner attached again (a CCCD scan, a previous result): not re-uploaded.
    reused_from = fields.CharField(max_length=36, null=True)

    class Meta:
        table = "attachments"


class UsedUploadLink(Model):
    """A local upload link already used: a signed link uploads once, whichever app instance serves it."""

    nonce = fields.CharField(max_length=64, primary_key=True)
    used_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "used_upload_links"


class MutationOutcome(Model):
    """What happened to one device seq: the stored result that makes applying a mutation exactly once possible.

    mutation_id is null only for a seq the device declared lost before any mutation with it arrived.
    payload holds the raw mutation while it is held waiting for an earlier seq (docs/sync.md, R2).
    """

    id = fields.BigIntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField("motcua.Device", related_name="outcomes")
    device_id: str
    seq = fields.BigIntField()
    mutation_id = fields.CharField(max_length=64, null=True, unique=True)
    fingerprint = fields.CharField(max_length=64, null=True)
    status = fields.CharField(max_length=16)  # applied | merged | conflict | rejected | held | lost
    result: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    payload: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "mutation_outcomes"
        unique_together = (("device", "seq"),)


class ChangeLogEntry(Model):
    """The monotonic change sequence: a sync cursor is a position in it, read through the reader's scopes.

    seq is assigned from SyncCounter under its row lock, so entries become visible in seq order.
    """

    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField(unique=True)
    entity = fields.CharField(max_length=32)
    entity_id = fields.CharField(max_length=64)
    version = fields.IntField()
    mutation_id = fields.CharField(max_length=64, null=True)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "change_log"


class ChangeScope(Model):
    """Who may read one change-log entry: "user:<id>" or "unit:<id>"."""

    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField()
    scope = fields.CharField(max_length=64)

    class Meta:
        table = "change_scopes"
        indexes = (("scope", "seq"),)


class SyncCounter(Model):
    """One row: the head of the change sequence. Writers lock it, so commits happen in seq order."""

    name = fields.CharField(max_length=32, primary_key=True)
    head = fields.BigIntField(default=0)

    class Meta:
        table = "sync_counter"


class Conflict(Model):
    """Two different values written to one field concurrently: the server kept its own, both are kept here.

    data is the conflict as devices pull it (docs/sync.md, R3 and R4).
    """

    id = fields.CharField(max_length=64, primary_key=True)
    entity = fields.CharField(max_length=32)
    entity_id = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, default="open")  # open | resolved
    version = fields.IntField(default=1)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField()
    scopes: fields.JSONField[list[str]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conflicts"


class PushSubscription(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("motcua.User", related_name="push_subscriptions")
    user_id: int
    device: fields.ForeignKeyNullableRelation[Device] = fields.ForeignKeyField("motcua.Device", null=True, related_name="push_subscriptions")
    device_id: str | None
    endpoint = fields.CharField(max_length=1000, unique=True)
    p256dh = fields.CharField(max_length=200)
    auth = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_success_at = fields.DatetimeField(null=True)
    label = fields.CharField(max_length=200, default="")  # the browser and phone, shown in the list of devices
    locale = fields.CharField(max_length=5, default="vi")

    class Meta:
        table = "push_subscriptions"


class Notification(Model):
    """A notice for one user: shown in the in-app inbox and, where subscribed, sent by Web Push."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("motcua.User", related_name="notifications")
    user_id: int
    dossier: fields.ForeignKeyNullableRelation[Dossier] = fields.ForeignKeyField("motcua.Dossier", null=True, related_name="notifications")
    dossier_id: str | None
    kind = fields.CharField(max_length=32)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)
    # The event that caused it: with kind, one notice per user per event, so nothing is sent twice.
    event: fields.ForeignKeyNullableRelation[DossierEvent] = fields.ForeignKeyField("motcua.DossierEvent", null=True, related_name="notifications")
    event_id: int | None
    url = fields.CharField(max_length=300, default="")  # where a click leads in the app
    topic = fields.CharField(max_length=32, default="")  # Web Push Topic: a newer notice replaces a waiting one
    urgency = fields.CharField(max_length=8, default="normal")

    class Meta:
        table = "notifications"
        unique_together = (("user", "event", "kind"),)


class Rating(Model):
    """Đánh giá mức độ hài lòng after the result: very_satisfied | satisfied | unsatisfied (reason required)."""

    id = fields.IntField(primary_key=True)
    dossier: fields.OneToOneRelation[Dossier] = fields.OneToOneField("motcua.Dossier", related_name="rating")
    dossier_id: str
    value = fields.CharField(max_length=16)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ratings"


class DocumentNumber(Model):
    """The number of an issued document (số văn bản), per unit, series and year, distinct from the dossier code."""

    # Given when the document is first issued and kept afterwards (server/documents/numbers.py).

    id = fields.BigIntField(primary_key=True)
    unit: fields.ForeignKeyRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", related_name="document_numbers")
    unit_id: int
    series = fields.CharField(max_length=32)  # the document kind it numbers: receipt, refusal, ct04…
    year = fields.SmallIntField()
    number = fields.IntField()
    dossier: fields.ForeignKeyRelation[Dossier] = fields.ForeignKeyField("motcua.Dossier", related_name="document_numbers")
    dossier_id: str
    issued_at = fields.DatetimeField()  # the date printed on the document

    class Meta:
        table = "document_numbers"
        unique_together = (("unit", "series", "year", "number"), ("dossier", "series"))


class Holiday(Model):
    """A public holiday (nghỉ lễ) or a make-up working day (làm bù), announced by the government each year."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    kind = fields.CharField(max_length=16)  # "holiday" | "makeup"
    name = fields.CharField(max_length=200, default="")

    class Meta:
        table = "holidays"


class DossierCodeCounter(Model):
    """The daily sequence of dossier codes per receiving agency: key is "{agency code}-{yyMMdd}"."""

    key = fields.CharField(max_length=64, primary_key=True)
    last_number = fields.IntField(default=0)

    class Meta:
        table = "dossier_code_counters"


class RegisterCounter(Model):
    """The last number written in one dossier register book: key is "{unit id}-{year}"."""

    key = fields.CharField(max_length=64, primary_key=True)
    last_number = fields.IntField(default=0)

    class Meta:
        table = "register_counters"


class CodeBlock(Model):
    """Sequence numbers reserved for one field device and one day, so receipts issued offline carry final codes."""

    id = fields.IntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField("motcua.Device", related_name="code_blocks")
    device_id: str
    agency_code = fields.CharField(max_length=32)
    day = fields.DateField()
    first_number = fields.IntField()
    last_number = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "code_blocks"


class PushJob(Model):
    """The push outbox: one delivery of one notification to one subscription, written with the status change."""

    id = fields.BigIntField(primary_key=True)
    notification: fields.ForeignKeyRelation[Notification] = fields.ForeignKeyField("motcua.Notification", related_name="push_jobs")
    notification_id: int
    subscription: fields.ForeignKeyNullableRelation[PushSubscription] = fields.ForeignKeyField("motcua.PushSubscription", null=True, related_name="push_jobs",
                                          on_delete=fields.SET_NULL)
    subscription_id: int | None
    status = fields.CharField(max_length=16, default="queued")  # queued | sending | sent | failed | gone
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "push_jobs"
        unique_together = (("notification", "subscription"),)
        indexes = (("status", "next_attempt_at"),)


class RateWindow(Model):
    """Requests counted per key (account, device or address) in a fixed window, shared by every app instance."""

    key = fields.CharField(max_length=160, primary_key=True)
    window_started = fields.DatetimeField()
    hits = fields.IntField(default=0)

    class Meta:
        table = "rate_windows"


class DossierClaim(Model):
    """A claim of a walk-in dossier by a citizen with its code: a one-time code went by SMS to the phone on the dossier.

    Only the HMAC of the code is kept. Few attempts, a short life (server/dossiers/claims.py, docs/workflow.md).
    """

    id = fields.CharField(max_length=36, primary_key=True)
    dossier: fields.ForeignKeyRelation[Dossier] = fields.ForeignKeyField("motcua.Dossier", related_name="claims")
    dossier_id: str
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("motcua.User", related_name="claims")
    user_id: int
    code_hash = fields.CharField(max_length=64)
    attempts = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "dossier_claims"


class CollectionAccount(Model):
    """A unit's collection account (tài khoản thu phí, lệ phí) that citizens transfer fees to (docs/payments.md)."""

    unit: fields.OneToOneRelation[AdministrativeUnit] = fields.OneToOneField("motcua.AdministrativeUnit", related_name="collection_account")
    unit_id: int
    bank_bin = fields.CharField(max_length=6)  # the bank's BIN (mã BIN ngân hàng), e.g. 970415
    number = fields.CharField(max_length=19)
    name = fields.CharField(max_length=200)  # the account holder as the bank shows it
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "collection_accounts"


class StatementLine(Model):
    """One credit line of a unit's bank statement, as imported and matched (server/payments/reconcile.py).

    `key` identifies the line across imports (the bank's reference, else a digest of its content), so importing
    the same statement twice changes nothing. `outcome`: paid (matched and recorded), partial, overpaid,
    duplicate, unmatched, refused (the step no longer applied); every outcome but paid waits for an officer, until
    they resolve it (`resolution`, `resolved_by`, `resolved_at`, `resolution_reason`)."""

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[AdministrativeUnit] = fields.ForeignKeyField("motcua.AdministrativeUnit", related_name="statement_lines")
    unit_id: int
    key = fields.CharField(max_length=64)
    booked_on = fields.DateField()
    amount_vnd = fields.BigIntField()
    note = fields.CharField(max_length=500, default="")
    reference = fields.CharField(max_length=128, default="")
    dossier: fields.ForeignKeyNullableRelation[Dossier] = fields.ForeignKeyField("motcua.Dossier", null=True, related_name="statement_lines")
    dossier_id: str | None
    outcome = fields.CharField(max_length=16)
    imported_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField("motcua.User", null=True, related_name="statement_lines")
    imported_by_id: int | None
    imported_at = fields.DatetimeField(auto_now_add=True)
    # An officer's settlement of a listed line (server/payments/resolve.py): "" while it waits, "paid" (recorded as
    # the payment of `dossier`, through the one write path) or "dismissed" (with the reason: refunded, not a fee…).
    resolution = fields.CharField(max_length=16, default="", db_default="")
    resolved_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField("motcua.User", null=True, on_delete=fields.SET_NULL, related_name="resolved_statement_lines")
    resolved_by_id: int | None
    resolved_at = fields.DatetimeField(null=True)
    resolution_reason = fields.CharField(max_length=500, default="", db_default="")

    class Meta:
        table = "statement_lines"
        unique_together = (("unit", "key"),)


class PaymentOrder(Model):
    """A payment started at a gateway (server/payments/online.py): the order reference sent to it (vnp_TxnRef), the
    amount, and what its verified notification said. `status`: pending, paid (a verified notification of success
    recorded the payment), failed (the gateway reported a failure), unapplied (paid at the gateway, but the dossier
    no longer awaited payment: for an officer)."""

    id = fields.IntField(primary_key=True)
    dossier: fields.ForeignKeyRelation[Dossier] = fields.ForeignKeyField("motcua.Dossier", related_name="payment_orders")
    dossier_id: str
    provider = fields.CharField(max_length=16)
    txn_ref = fields.CharField(max_length=40, unique=True)
    amount_vnd = fields.BigIntField()
    status = fields.CharField(max_length=16, default="pending")
    transaction_no = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    confirmed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payment_orders"


class NoticeDelivery(Model):
    """One notice by one channel (push, zalo, sms): its state, for the officer and for falling to the next channel.

    `key` is the idempotency key ("n{notice}:{channel}", or "sms:{caller's key}" for an SMS not tied to an account):
    unique, so a retried step or a second worker cannot queue the same message twice (server/notify/channels.py).
    Push deliveries are settled from their push jobs; SMS and Zalo ones are claimed like push jobs (lease, SKIP LOCKED).
    """

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=160, unique=True)
    notification: fields.ForeignKeyNullableRelation[Notification] = fields.ForeignKeyField(
        "motcua.Notification", null=True, related_name="deliveries")
    notification_id: int | None
    channel = fields.CharField(max_length=8)  # push | zalo | sms
    status = fields.CharField(max_length=16, default="queued")  # queued | sending | sent | delivered | failed
    address = fields.CharField(max_length=16, default="")  # the phone number (0…) for sms and zalo
    text = fields.TextField(default="")  # what an SMS not tied to a notice says
    province = fields.CharField(max_length=16, default="")  # the province's unit code: the daily cap counts by it
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    provider_id = fields.CharField(max_length=80, null=True)  # the gateway's message id: receipts find the row by it
    cost = fields.IntField(default=0)  # đồng, as the province's NOTICE_COST says
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notice_deliveries"
        indexes = (("status", "next_attempt_at"), ("channel", "provider_id"))


class ChannelUsage(Model):
    """Messages sent and their cost per channel, province and day (Vietnam's date): the daily cap counts here."""

    key = fields.CharField(max_length=64, primary_key=True)  # "{channel}:{province}:{yyyy-mm-dd}"
    channel = fields.CharField(max_length=8)
    province = fields.CharField(max_length=16)
    day = fields.DateField()
    sent = fields.IntField(default=0)
    cost = fields.BigIntField(default=0)

    class Meta:
        table = "channel_usage"


class ZaloToken(Model):
    """The Zalo Official Account's current token pair, one row (id 1) shared by every instance and worker
    (server/notify/zalo_tokens.py). Zalo's refresh token is single-use, so the pair lives here and is renewed under
    the row's lock; `seed` fingerprints the ZALO_REFRESH_TOKEN it was seeded from, so a new one in the settings
    (the OA authorised again) replaces a dead chain."""

    id = fields.IntField(primary_key=True)
    access_token = fields.TextField(default="")
    refresh_token = fields.TextField(default="")
    expires_at = fields.DatetimeField(null=True)  # UTC; None: not known (a token given by hand), renewed on -124
    seed = fields.CharField(max_length=64, default="")
    updated_at = fields.DatetimeField()

    class Meta:
        table = "zalo_tokens"
