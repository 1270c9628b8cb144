"""The dossier workflow: which step each role may take from each status (docs/workflow.md).

This is the sync engine's Policy (sync/policy.py): every create, edit and command that reaches the
server, from any device, is checked here against the dossier's current state, and only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Mapping, Sequence, cast

from server.models import (CITIZEN, INTAKE, LEADER, SPECIALIST, AdministrativeUnit, Attachment, DossierEvent,
                           Procedure)
from server.workflow import assignment
from server.workflow import ownership
from server.workflow import deadlines
from server.workflow import postal
from server.workflow import transfer
from server.catalog.forms import FieldError, validate
from server.accounts import access
from server.notify.notices import notify_for_event
from server.payments import obligation
from server.dossiers.status import EDITABLE_BY_CITIZEN, EDITABLE_BY_OFFICER, OPEN
from server.dossiers.status import DossierStatus as S
from server.dossiers.store import FORM_PREFIX, PERSONAL_ID, dossier_event, procedure_by_code, procedure_version, procedure_version_id, unit_in_force
from sync.model import Actor, Record
from sync.policy import Rejection
from sync.protocol import Mutation
from sync.store import Store

# Status codes of the national public-service portal; 0 is the draft on the device (server/dossiers/status.py).
DRAFT, SUBMITTED, RECEIVED, REFUSED, PROCESSING = S.DRAFT, S.SUBMITTED, S.RECEIVED, S.REFUSED, S.PROCESSING
SUPPLEMENT, PAYMENT, WITHDRAWAL, STOPPED = S.SUPPLEMENT, S.PAYMENT, S.WITHDRAWAL, S.STOPPED
RESULT_READY, RETURNED = S.RESULT_READY, S.RETURNED

# Sub-states of "supplement requested" (yêu cầu bổ sung).
SUPPLEMENT_REQUESTED, SUPPLEMENT_SENT = "requested", "sent"
# Sub-states of "result ready" (9): the specialist's draft awaiting the leader's signature, then signed (approved).
# None: finished before approval existed (returned as before).
DRAFTED, APPROVED = "drafted", "approved"
# "4 tại chỗ" (docs/workflow.md "Approval and return"): on a procedure the province designates, the intake officer
# (the authorised officer at the centre) also appraises, approves and returns, on the spot.
ON_THE_SPOT_COMMANDS = frozenset({"start", "finish", "approve"})

OWNER = "owner"  # the citizen who owns the dossier


@dataclass(frozen=True)
class Step:
    """A command allowed from some statuses, by some roles, leading to a status."""

    roles: frozenset[str]
    to_status: int
    substatus: str | None = None
    needs_reason: bool = False


STEPS: dict[tuple[str, int], Step] = {}


def _step(command: str, from_statuses: tuple[int, ...], roles: set[str], to_status: int, **options: Any) -> None:
    for status in from_statuses:
        STEPS[(command, status)] = Step(frozenset(roles), to_status, **options)


_step("submit", (DRAFT,), {OWNER}, SUBMITTED)
_step("withdraw", (SUBMITTED, RECEIVED, PROCESSING, SUPPLEMENT, PAYMENT), {OWNER}, WITHDRAWAL)
# Reception (tiếp nhận) gives the code, the receipt and the appointment; only a complete dossier is received
# (Decree 61/2018 Art. 19, Decree 118/2025; docs/domain.md "Incomplete walk-in dossiers"). A dossier guided on form 02
# before reception (request_supplement from 1) is received from 5 once complete; from 5 only if never received.
_step("receive", (SUBMITTED, SUPPLEMENT), {INTAKE, LEADER}, RECEIVED)
_step("refuse", (SUBMITTED,), {INTAKE, LEADER}, REFUSED, needs_reason=True)
_step("start", (RECEIVED,), {SPECIALIST, LEADER}, PROCESSING)
_step("request_supplement", (SUBMITTED, RECEIVED, PROCESSING, SUPPLEMENT), {INTAKE, SPECIALIST, LEADER}, SUPPLEMENT,
      substatus=SUPPLEMENT_REQUESTED, needs_reason=True)  # from 5 only once sent: still incomplete, asked again
# Back to processing: only a dossier received before its supplement was asked for (else `receive`, checked below).
_step("accept_supplement", (SUPPLEMENT,), {INTAKE, SPECIALIST, LEADER}, PROCESSING)
# The citizen sends the supplement (gửi bổ sung): only from the sub-state "requested" (checked in apply_command).
_step("send_supplement", (SUPPLEMENT,), {OWNER}, SUPPLEMENT, substatus=SUPPLEMENT_SENT)
_step("request_payment", (PROCESSING,), {SPECIALIST, LEADER}, PAYMENT, needs_reason=True)
_step("payment_done", (PAYMENT,), {INTAKE, SPECIALIST, LEADER}, PROCESSING)
# A fee fixed at a field intake (docs/payments.md "At a field intake") is paid while the dossier is received or
# processed: the payment is recorded and the status kept; with no unpaid fee fixed, `nothing_to_pay`.
for _status in (RECEIVED, PROCESSING, SUPPLEMENT, RESULT_READY):
    _step("payment_done", (_status,), {INTAKE, SPECIALIST, LEADER}, _status)
_step("stop", (PROCESSING, WITHDRAWAL), {LEADER}, STOPPED, needs_reason=True)
# The specialist drafts the result (9, "drafted"); a leader of the competent body signs it (`approve`: "approved")
# before it can be returned; a leader's own `finish` is signed by them at once (Decree 61/2018 Art. 20 and
# Decree 118/2025: the competent person decides and signs the result; docs/domain.md "Sign-off").
_step("finish", (PROCESSING,), {SPECIALIST, LEADER}, RESULT_READY, substatus=DRAFTED)
_step("approve", (RESULT_READY,), {LEADER}, RESULT_READY, substatus=APPROVED)
# The hand-over records who received the result (args received_by; their signature is a page of the dossier).
_step("return", (RESULT_READY,), {INTAKE, LEADER}, RETURNED)
# Steps that keep the status (docs/workflow.md "Assignment", "Transfer", "Postal"): see DossierPolicy._handling.
for _status in (RECEIVED, PROCESSING, SUPPLEMENT, PAYMENT):
    _step("assign", (_status,), {LEADER}, _status)
for _status in (RECEIVED, PROCESSING):
    _step("forward", (_status,), {INTAKE, LEADER}, _status, needs_reason=True)
for _status in (SUBMITTED, RECEIVED, PROCESSING, SUPPLEMENT, PAYMENT, RESULT_READY):
    _step("record_postal", (_status,), {INTAKE, LEADER}, _status)
KEEPS_STATUS = frozenset({"assign", "forward", "record_postal"})
# The apology with a new appointment (docs/workflow.md "Deadlines"): keeps the status; server/workflow/deadlines.py.
for _status in sorted(OPEN):
    _step("apologise", (_status,), {SPECIALIST, LEADER}, _status, needs_reason=True)

CITIZEN_EDITABLE = EDITABLE_BY_CITIZEN
OFFICER_EDITABLE = EDITABLE_BY_OFFICER
OFFICER_EDITORS = frozenset({INTAKE, SPECIALIST, LEADER})
# What a field device states when it receives a dossier on the spot (docs/workflow.md "Field intake").
FIELD_INTAKE_FIELDS = frozenset({"received_at", "code"})
CREATE_FIELDS = frozenset({"procedure_code", "unit_code", "channel", *postal.CHOICES, *FIELD_INTAKE_FIELDS,
                           *obligation.INTAKE_FEE_FIELDS})
CHANNELS = frozenset({"online", "direct", "postal", "field"})


def _no(code: str, vi: str, en: str) -> Rejection:
    return Rejection(code, {"vi": vi, "en": en})


def is_owner(actor: Actor, record: Record) -> bool:
    return str(record.data.get("owner_id")) == actor.user_id


def is_unit_officer(actor: Actor, record: Record) -> bool:
    """An officer of the unit that received the dossier or, after a transfer, of the unit handling it (the rule is
    server/accounts/access.py's; which step in which status is this module's)."""
    return access.allowed(actor, "dossier.act", record)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


async def _form_of(code: str, version: int) -> dict[str, Any] | None:
    version_id = await procedure_version_id(code, version)
    if not version_id:
        return None
    form: dict[str, Any] = (await procedure_version(version_id))[2]["form"]
    return form


async def _content_of(code: str, version: int) -> dict[str, Any]:
    version_id = await procedure_version_id(code, version)
    if not version_id:
        return {}
    content: dict[str, Any] = (await procedure_version(version_id))[2]
    return content


def documents_to_attach(content: Mapping[str, Any]) -> list[str]:
    """The documents a procedure version marks required whose pages must be attached: not the declaration its own
    form fills in (`declaration`), not one shown at the desk (`presented`, xuất trình). Every procedure, hand-written
    form or generic (docs/catalog.md "Documents"); pwa/static/js/attachments.js marks the same ones."""
    names = []
    for document in content.get("documents") or []:
        if not isinstance(document, dict) or not document.get("required"):
            continue
        if document.get("declaration") or document.get("presented"):
            continue
        name = str(document.get("name") or "")
        if name and name not in names:
            names.append(name)
    return names


async def missing_document(record: Record) -> Rejection | None:
    """The documents to attach (documents_to_attach) with no page attached, all named in one refusal (a page still
    uploading counts: it is on its way, and the office cannot receive the dossier until it has arrived). Decree
    61/2018 Art. 19: only a complete dossier is received."""
    wanted = documents_to_attach(await _content_of(record.data["procedure_code"], record.data["procedure_version"]))
    if not wanted:
        return None
    # values_list(flat=True): tortoise's stub says tuples
    attached = set(cast("list[str]", await Attachment.filter(dossier_id=record.id, status__in=("pending", "verified"))
                        .values_list("document", flat=True)))
    missing = [name for name in wanted if name not in attached]
    if not missing:
        return None
    listed = "; ".join(missing)
    return _no("document_missing", f"Chưa đính kèm giấy tờ bắt buộc: {listed}. Hãy chụp hoặc chọn tệp "
               f"{'các giấy tờ này' if len(missing) > 1 else 'giấy tờ này'} rồi gửi lại.",
               f"Required document(s) not attached: {listed}. Photograph or choose the files, then send again.")


async def _unit_in_force(code: object) -> AdministrativeUnit | None:
    if not isinstance(code, str) or len(code) > 16:
        return None
    return await unit_in_force(code)  # as the sync round's prefetch read it, if it did


def _form_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name[len(FORM_PREFIX):]: value for name, value in values.items()
            if name.startswith(FORM_PREFIX) and value is not None}


def _first_error(errors: Sequence[FieldError]) -> Rejection:
    first = errors[0]
    more = f" (và {len(errors) - 1} mục khác)" if len(errors) > 1 else ""
    more_en = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _no("invalid_form", first.message_vi + more, first.message_en + more_en)


async def _on_the_spot(record: Record) -> bool:
    procedure = await Procedure.get_or_none(code=record.data["procedure_code"])
    return bool(procedure and procedure.on_the_spot)


def _walk_in_contact(form: Mapping[str, Any], values: Mapping[str, Any]) -> Rejection | None:
    """A dossier an officer files for a citizen carries the citizen's phone number and personal identification
    number (số định danh cá nhân), so that notices reach them and the dossier can be linked to their account later
    (issue 14; docs/domain.md "Notices reach people"): the form's phone and identifier fields are required then."""
    for kind, vi, en in (("phone", "số điện thoại", "phone number"),
                         ("cccd", "số định danh cá nhân", "personal identification number")):
        names = [field["name"] for field in form.get("fields", []) if field.get("type") == kind]
        if names and not any(values.get(FORM_PREFIX + name) for name in names):
            return _no("contact_required", f"Hãy ghi {vi} của người nộp hồ sơ.",
                       f"Record the applicant's {en}.")
        if kind == "cccd" and names and not any(PERSONAL_ID.fullmatch(str(values.get(FORM_PREFIX + name) or ""))
                                                for name in names):
            # An old 9-digit identity card number does not link the dossier to its citizen's account.
            return _no("personal_id_required", "Hãy ghi số định danh cá nhân (12 chữ số, in trên thẻ căn cước) của "
                       "người nộp hồ sơ, không ghi số chứng minh nhân dân 9 chữ số.",
                       "Record the applicant's 12-digit personal identification number, not a 9-digit identity card "
                       "number.")
    return None


def _reception_order(command: str, record: Record) -> Rejection | None:
    """A supplement asked for before reception (form 02 of Circular 03/2025) ends in reception, with the code, the
    receipt and the appointment, never straight in processing; one asked for after reception goes back to
    processing (docs/workflow.md "Supplements")."""
    received = bool(record.data.get("received_at"))
    if command == "accept_supplement" and not received:
        return _no("not_received", "Hồ sơ chưa được tiếp nhận: khi hồ sơ đã đầy đủ, hãy tiếp nhận hồ sơ "
                   "(cấp mã hồ sơ, giấy tiếp nhận và ngày hẹn trả).",
                   "The dossier has not been received yet: once it is complete, receive it (code, receipt and "
                   "appointment).")
    if command == "receive" and record.data["status"] == SUPPLEMENT and received:
        return _no("already_received", "Hồ sơ đã được tiếp nhận; bổ sung xong thì bấm “Đã nhận bổ sung”.",
                   "The dossier was already received; accept the supplement instead.")
    return None


class DossierPolicy:
    entities = frozenset({"dossier"})

    def __init__(self, commune_codes: set[str], device_id: str | None = None) -> None:
        self.commune_codes = commune_codes
        self.device_id = device_id  # the pushing device: its reserved dossier-code blocks (server/workflow/dossier_codes.py)

    def _validate(self, form: dict[str, Any], values: Mapping[str, Any], *, complete: bool) -> list[FieldError]:
        _, errors = validate(form, _form_values(values), commune_exists=self.commune_codes.__contains__,
                             today=date.today())
        return errors if complete else [error for error in errors if error.code != "required"]

    def _check_values(self, form: dict[str, Any], record: Record, changes: Mapping[str, Any]) -> Rejection | None:
        """The changed fields' new values, validated as the form defines them (docs/workflow.md): a draft may be
        incomplete (an emptied field is fine until submit), never invalid."""
        changed = {name[len(FORM_PREFIX):] for name in changes}
        errors = [error for error in self._validate(form, {**record.data, **changes}, complete=False)
                  if error.path.split(".")[0].split("[")[0] in changed]
        return _first_error(errors) if errors else None

    async def check_create(self, actor: Actor, entity: str, entity_id: str,
                           values: Mapping[str, Any]) -> Rejection | dict[str, Any]:
        unknown = [name for name in values if name not in CREATE_FIELDS and not name.startswith(FORM_PREFIX)]
        if unknown:
            return _no("field_readonly", f"Không được đặt trường {unknown[0]} khi tạo hồ sơ.",
                       f"The field {unknown[0]} cannot be set when creating a dossier.")
        if actor.role not in (CITIZEN, INTAKE):
            return _no("forbidden", "Tài khoản này không được tạo hồ sơ.", "Your account may not create dossiers.")
        code = values.get("procedure_code")
        procedure = await procedure_by_code(code) if isinstance(code, str) and len(code) <= 32 else None
        if procedure is None:
            return _no("unknown_procedure", "Không tìm thấy thủ tục này. Hãy chọn lại thủ tục trong danh mục.",
                       "Unknown procedure. Choose the procedure again from the catalog.")
        form = await _form_of(procedure.code, procedure.current_version)
        assert form is not None
        added: dict[str, Any] = {"procedure_version": procedure.current_version, "owner_id": None, "unit_id": None,
                                 "created_by": int(actor.user_id), "substatus": None, "code": None,
                                 "assigned_to": None, "submitted_at": None, "received_at": None, "due_at": None,
                                 "returned_at": None}
        unit: AdministrativeUnit | None = None
        unit_code = values.get("unit_code")
        if unit_code is not None:
            unit = await _unit_in_force(unit_code)
            if unit is None:
                return _no("unknown_unit", "Không tìm thấy cơ quan (xã, phường) nhận hồ sơ. Hãy chọn lại.",
                           "Unknown receiving office. Choose it again.")
            added["unit_id"] = unit.id
        channel = values.get("channel", "online")
        if channel not in CHANNELS:
            return _no("invalid_channel", "Kênh nộp hồ sơ không hợp lệ.", "Unknown channel.")
        chosen = postal.choices(values)
        if isinstance(chosen, Rejection):
            return chosen
        if channel == "postal" and actor.role != CITIZEN:
            added["postal_submit"] = True  # a dossier that came by post (bưu chính công ích)
        if actor.role == CITIZEN:
            if channel != "online":
                return _no("invalid_channel", "Công dân chỉ nộp trực tuyến từ ứng dụng.", "Citizens file online.")
            stated = sorted((FIELD_INTAKE_FIELDS | obligation.INTAKE_FEE_FIELDS) & set(values))
            if stated:
                return _no("field_readonly", f"Không được đặt trường {stated[0]} khi tạo hồ sơ.",
                           f"The field {stated[0]} cannot be set when creating a dossier.")
            added.update(owner_id=int(actor.user_id), status=DRAFT, channel="online")
            errors = self._validate(form, values, complete=False)
        else:
            # Desk or field intake: the officer files it for their own unit, the form complete; it is received
            # only when the officer says so (below), never merely by being filed.
            if unit is None or str(unit.id) != actor.unit_id:  # unit is set exactly when added["unit_id"] is
                return _no("forbidden", "Cán bộ chỉ tiếp nhận hồ sơ cho đơn vị của mình.",
                           "Officers take dossiers for their own unit only.")
            added.update(status=SUBMITTED, channel=channel if channel != "online" else "direct",
                         submitted_at=now_iso())
            errors = self._validate(form, values, complete=True)
        if errors:
            return _first_error(errors)
        if actor.role == INTAKE:
            missing = _walk_in_contact(form, values)
            if missing is not None:
                return missing
            # The citizen already has an account linked to that number by the identity provider: the dossier is
            # theirs from the start (docs/workflow.md "Desk and field intake").
            added["owner_id"] = await ownership.account_with_personal_id(
                await ownership.personal_id_of(Record("dossier", entity_id, 0, {**values, **added})))
        if actor.role == INTAKE and FIELD_INTAKE_FIELDS & set(values):
            # The officer checked the dossier and found it complete: received on the spot, with the receipt time the
            # device states, its code and its appointment (server/workflow/deadlines.py). Without them the dossier
            # waits at 1 for the officer's decision: receive, guide on form 02 or refuse on form 03 (docs/workflow.md
            # "Desk and field intake").
            assert unit is not None  # an officer's create without a unit was refused above
            fee_problem = obligation.intake_fee_problem(values)  # before a code and a register number are taken
            if fee_problem is not None:
                return fee_problem
            received = await deadlines.field_intake(unit, procedure, values, self.device_id)
            if isinstance(received, Rejection):
                return received
            added.update(received)
            # The fee the device showed with its VietQR code, fixed at reception (server/payments/obligation.py).
            fee = await obligation.fix_at_intake(unit.id, values, received["submitted_at"])
            if isinstance(fee, Rejection):
                return fee
            added.update(fee)
        elif obligation.INTAKE_FEE_FIELDS & set(values):
            return _no("fee_not_received", "Chỉ ghi phí, lệ phí khi tiếp nhận hồ sơ tại chỗ (có thời điểm tiếp nhận).",
                       "A fee is stated only with a dossier received on the spot (with received_at).")
        return added

    async def check_update(self, actor: Actor, record: Record, changes: Mapping[str, Any]) -> Rejection | None:
        fields = frozenset(changes)
        if not all(name.startswith(FORM_PREFIX) for name in fields):
            return _no("field_readonly", "Chỉ được sửa nội dung tờ khai; trạng thái đổi bằng thao tác riêng.",
                       "Only the form can be edited; the status changes through commands.")
        form = await _form_of(record.data["procedure_code"], record.data["procedure_version"])
        known = {field["name"] for field in (form or {}).get("fields", [])}
        unknown = sorted(name for name in fields if name[len(FORM_PREFIX):] not in known)
        if unknown:
            return _no("unknown_field", f"Tờ khai không có mục {unknown[0][len(FORM_PREFIX):]}.",
                       f"The form has no field {unknown[0][len(FORM_PREFIX):]}.")
        return self._editable_by(actor, record) or self._check_values(form or {"fields": []}, record, changes)

    @staticmethod
    def _editable_by(actor: Actor, record: Record) -> Rejection | None:
        status = record.data["status"]
        if is_owner(actor, record):
            if status == DRAFT or (status == SUPPLEMENT and record.data.get("substatus") == SUPPLEMENT_REQUESTED):
                return None
            return _no("not_editable",
                       "Hồ sơ đã được gửi đi nên không sửa được tờ khai (chỉ sửa khi còn là bản nháp "
                       "hoặc khi cơ quan yêu cầu bổ sung).",
                       "The dossier has been sent: the form can be edited only as a draft or when a supplement "
                       "is requested.")
        # A walk-in or field dossier has no owner to answer a supplement request: the citizen brings the missing
        # papers back to the desk, and the officer writes the corrections into the form.
        # Still so once its citizen claimed it (server/workflow/ownership.py): an officer filed it, not its owner.
        walk_in_supplement = status == SUPPLEMENT and record.data.get("created_by") != record.data.get("owner_id")
        if is_unit_officer(actor, record) and (status in OFFICER_EDITABLE or walk_in_supplement):
            return assignment.check_officer_step(actor, record, None)
        return _no("not_editable", "Không sửa được hồ sơ này ở trạng thái hiện tại.",
                   "You cannot edit this dossier in its current state.")

    async def apply_command(self, actor: Actor, record: Record, command: str,
                            args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
        if command == ownership.CLAIM:  # a walk-in dossier becomes a citizen's, on proof (server/workflow/ownership.py)
            return await ownership.claim(actor, record, args)
        status = record.data["status"]
        step = STEPS.get((command, status))
        if step is None:
            return _no("command_not_allowed",
                       f"Không thể thực hiện thao tác này khi hồ sơ đang ở trạng thái «{S(status).name_vi}».",
                       f"'{command}' is not allowed while the dossier is in status {status}.")
        allowed = (OWNER in step.roles and is_owner(actor, record)) or \
                  (actor.role in step.roles and is_unit_officer(actor, record)) or \
                  (actor.role == INTAKE and command in ON_THE_SPOT_COMMANDS and is_unit_officer(actor, record)
                   and await _on_the_spot(record)) or \
                  (command == "payment_done" and args.get("channel") == "gateway" and is_owner(actor, record))
        # ^ the owner's payment at a gateway, recorded on their behalf when its verified notification arrives; the
        # order it names is checked in server/payments/obligation.py (docs/payments.md "Gateway").
        if not allowed:
            return _no("forbidden", "Không có quyền thực hiện thao tác này với hồ sơ này.",
                       "You may not do this to this dossier.")
        if not (OWNER in step.roles and is_owner(actor, record)):
            refused = assignment.check_officer_step(actor, record, command)
            if refused is not None:
                return refused
        reason = args.get("reason")
        if step.needs_reason and not (isinstance(reason, str) and reason.strip() and len(reason) <= 2000):
            return _no("reason_required", "Vui lòng ghi rõ lý do (tối đa 2000 ký tự).",
                       "Give the reason (at most 2000 characters).")
        changes: dict[str, Any] = {"status": step.to_status, "substatus": step.substatus}
        if command == "submit":
            changes.update(await self._submission(record, args) or {})
            if "rejection" in changes:
                rejection: Rejection = changes["rejection"]
                return rejection
        elif command == "request_supplement" and status == SUPPLEMENT and \
                record.data.get("substatus") != SUPPLEMENT_SENT:
            return _no("supplement_not_sent", "Đang chờ công dân gửi bổ sung; chưa thể yêu cầu bổ sung lần nữa.",
                       "The citizen has not sent the supplement yet; it cannot be requested again.")
        elif command == "send_supplement":
            if record.data.get("substatus") != SUPPLEMENT_REQUESTED:
                return _no("supplement_already_sent", "Hồ sơ bổ sung đã được gửi; hãy chờ cơ quan xem xét.",
                           "The supplement has already been sent; wait for the office to review it.")
            form = await _form_of(record.data["procedure_code"], record.data["procedure_version"])
            errors = self._validate(form or {"fields": []}, record.data, complete=True)  # as submit does
            if errors:
                return _first_error(errors)
        elif command in ("receive", "accept_supplement"):
            refused = _reception_order(command, record)
            if refused is not None:
                return refused
            waiting = await Attachment.filter(dossier_id=record.id, status="pending").count()
            if waiting:
                what_vi = "tiếp nhận" if command == "receive" else "nhận hồ sơ bổ sung"
                what_en = "received" if command == "receive" else "accepted"
                return _no("files_pending", f"Hồ sơ còn {waiting} tệp giấy tờ đang được gửi lên; "
                           f"chưa thể {what_vi} cho đến khi tệp đến đủ.",
                           f"{waiting} document file(s) are still being uploaded; the dossier can be {what_en} "
                           "once they have arrived.")
            if command == "receive":
                missing = await missing_document(record)  # a walk-in filed before its pages were scanned
                if missing is not None:
                    return missing
                changes["received_at"] = now_iso()
        elif command in ("request_payment", "payment_done"):
            if command == "payment_done" and status != PAYMENT:
                # A fee fixed at a field intake: recorded without leaving the current status and sub-state.
                if not obligation.has_unpaid_fee(record.data):
                    return _no("nothing_to_pay", "Hồ sơ này không có khoản phí, lệ phí nào đang chờ nộp.",
                               "This dossier has no fee waiting to be paid.")
                changes["substatus"] = record.data.get("substatus")
            # The fee fixed on the dossier; the payment recorded with its evidence (server/payments/obligation.py).
            paying = await (obligation.fix_fee if command == "request_payment" else obligation.record_payment)(
                record, args)
            if isinstance(paying, Rejection):
                return paying
            changes.update(paying)
        elif command == "finish" and actor.role != SPECIALIST:
            # A leader (or, "4 tại chỗ", the authorised officer) signs what they finish.
            changes.update(substatus=APPROVED, approved_by=int(actor.user_id), approved_at=now_iso())
        elif command == "approve":
            if record.data.get("substatus") != DRAFTED:
                return _no("not_drafted", "Kết quả đã được ký duyệt.", "The result has already been approved.")
            changes.update(approved_by=int(actor.user_id), approved_at=now_iso())
        elif command == "return":
            if record.data.get("substatus") == DRAFTED:
                return _no("not_approved", "Kết quả chưa được lãnh đạo ký duyệt nên chưa trả được.",
                           "The result has not been approved (signed) by a leader yet, so it cannot be returned.")
            receiver = args.get("received_by")
            if not args.get("by_post") and not (isinstance(receiver, str) and receiver.strip()
                                                and len(receiver) <= 200):
                return _no("receiver_required", "Hãy ghi họ tên người nhận kết quả.",
                           "Write the name of the person who receives the result.")
            changes["returned_at"] = now_iso()
            if isinstance(receiver, str) and receiver.strip():
                changes["returned_to"] = receiver.strip()
        handled = await self._handling(actor, record, command, args)
        if isinstance(handled, Rejection):
            return handled
        changes.update(handled)
        # The wait for the citizen ends when they send the supplement: the clock runs again from then, as on
        # accept_supplement when the supplement came on paper (the office's review is the office's time).
        timing = await deadlines.on_command(record, "accept_supplement" if command == "send_supplement" else command,
                                            args)  # code, appointment, clock stops, apology
        if isinstance(timing, Rejection):
            return timing
        changes.update(timing)
        return changes

    async def _handling(self, actor: Actor, record: Record, command: str,
                        args: Mapping[str, Any]) -> Rejection | dict[str, Any]:
        """Assignment, transfer and the postal channel (server/workflow/assignment.py, transfer.py, postal.py)."""
        keep = {"status": record.data["status"], "substatus": record.data.get("substatus")} \
            if command in KEEPS_STATUS else {}
        if command == "start":
            return assignment.start(actor, record)
        if command == "assign":
            result = await assignment.assign(actor, record, args)
        elif command == "forward":
            result = await transfer.forward(record, args)
        elif command == "record_postal":
            result = postal.record_postal(record, args)
        elif command == "return":
            result = postal.returning(record, args)
        elif command == "submit":
            result = postal.choices(args)
            if isinstance(result, dict) and result.get("postal_submit", record.data.get("postal_submit")):
                result["channel"] = "postal"  # the paper dossier travels by post: counted as the postal channel
        else:
            return {}
        return result if isinstance(result, Rejection) else {**keep, **result}

    async def _submission(self, record: Record, args: Mapping[str, Any]) -> dict[str, Any]:
        """Submitting checks the whole form, required fields included, against the version it was drafted on."""
        changes: dict[str, Any] = {"submitted_at": now_iso()}
        unit_id = record.data.get("unit_id")
        if "unit_code" in args:
            unit = await _unit_in_force(args["unit_code"])
            if unit is None:
                return {"rejection": _no("unknown_unit", "Không tìm thấy cơ quan (xã, phường) nhận hồ sơ. Hãy chọn lại.",
                                         "Unknown receiving office. Choose it again.")}
            unit_id = unit.id
            changes.update(unit_id=unit.id, unit_code=unit.code)
        if unit_id is None:
            return {"rejection": _no("unit_required", "Vui lòng chọn cơ quan (xã, phường) nhận hồ sơ trước khi gửi.",
                                     "Choose the office that receives the dossier before sending it.")}
        form = await _form_of(record.data["procedure_code"], record.data["procedure_version"])
        errors = self._validate(form or {"fields": []}, record.data, complete=True)
        if errors:
            return {"rejection": _first_error(errors)}
        missing = await missing_document(record)
        if missing is not None:
            return {"rejection": missing}
        return changes

    def scopes(self, record: Record) -> frozenset[str]:
        return access.dossier_scopes(record)

    async def after_write(self, store: Store, actor: Actor, before: Record | None, after: Record,
                          mutation: Mutation) -> None:
        if mutation.op == "command":
            note = await assignment.event_note(mutation.command or "", before, after, mutation.args.get("reason"))
            if mutation.command == "return" and after.data.get("returned_to"):
                note = f"Người nhận kết quả: {after.data['returned_to']}"  # the hand-over (phiếu kiểm soát)
            await record_event(actor, before, after, mutation.command or "", note)
            if mutation.command in ("forward", ownership.CLAIM):  # new readers: the unit, or the new owner
                await transfer.announce_attachments(store, after)
        elif before is None:
            await record_event(actor, None, after, "create", None)


async def record_event(actor: Actor, before: Record | None, after: Record, action: str, note: object) -> DossierEvent:
    """The processing-control record (phiếu kiểm soát): one append-only event per step, in the step's transaction.

    The step's notices (inbox and push outbox, server/notify/notices.py) are written with it, so they commit with it.
    The event is written through the store (server/dossiers/store.py dossier_event): in a sync round, with the
    round's last statement unless a notice needs its id first."""
    event = DossierEvent(
        dossier_id=after.id, actor_id=int(actor.user_id), action=action, at=datetime.now(timezone.utc),
        from_status=before.data["status"] if before else None, to_status=after.data["status"],
        # The unit handling it before and after: they differ only when the step was a transfer (liên thông).
        from_unit_id=(before.data.get("handling_unit_id") or before.data.get("unit_id")) if before else None,
        to_unit_id=after.data.get("handling_unit_id") or after.data.get("unit_id"),
        note=note if isinstance(note, str) else "",
    )
    row = [event.dossier_id, event.at, event.actor_id, event.action, event.from_status, event.to_status,
           event.from_unit_id, event.to_unit_id, event.note]

    async def event_id() -> int:
        if event.id is None:
            event.id = await dossier_event(row, needs_id=True)
        return int(event.id)

    await notify_for_event(event, after, before, event_id)
    if event.id is None:
        await dossier_event(row, needs_id=False)
    return event
