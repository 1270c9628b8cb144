"""SMS over SMPP 3.4 to the operator's gateway (docs/push.md "Channels", docs/operations.md "SMS gateway").

The text: one segment where possible. By default (SMS_DIACRITICS unset) Vietnamese marks are stripped ("Hồ sơ" →
"Ho so") and the text is plain ASCII sent as the SMSC default alphabet (GSM-7, data_coding 0): 160 characters in one
segment, and phones everywhere read it. With SMS_DIACRITICS=1 it keeps its marks as UCS-2 (data_coding 8): 70
characters in one segment, longer texts go as a concatenated message (67 a part, at most MAX_PARTS), each part
counted as one message for the cost.

The link: smpplib is blocking, so one thread owns the connection (`SmppLink`): it binds as a transceiver, takes
submissions from a queue, waits for each submit_sm_resp, answers enquire_link and deliver_sm, keeps the link alive,
and reconnects after a drop. Delivery receipts (deliver_sm with the receipt bit of esm_class) are handed back to the
event loop by a callback, which records them (server/notify/channels.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import re
import select
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

from server.config import SmppSettings

log = logging.getLogger("motcua.sms")

GSM_SEGMENT, UCS2_SEGMENT, UCS2_PART = 160, 70, 67
MAX_PARTS = 3
# Plain ASCII that the GSM-7 default alphabet holds at the same code (so a gateway reading data_coding 0 as ASCII or as
# unpacked GSM-7 reads the same text); anything else becomes a close character or goes.
_GSM_SAFE = re.compile(r"[^A-Za-z0-9 .,:;!?()\-/'\"+%&*=<>#\n]")
_REPLACE = {"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "đ": "d", "Đ": "D", "\t": " "}

# submit_sm_resp statuses worth another try later: the gateway is busy, not the message wrong.
RETRY_STATUSES = {smpplib.consts.SMPP_ESME_RTHROTTLED, smpplib.consts.SMPP_ESME_RMSGQFUL,
                  smpplib.consts.SMPP_ESME_RSYSERR, 0x00000045, 0x00000064}  # RSUBMITFAIL, RX_T_APPN (temporary)
RESPONSE_TIMEOUT = 15.0  # seconds for a submit_sm_resp before the link is taken for dead
ENQUIRE_EVERY = 30.0


def strip_marks(text: str) -> str:
    """Vietnamese without its marks, as SMS "không dấu": "Ông/Bà" → "Ong/Ba"."""
    text = "".join(_REPLACE.get(ch, ch) for ch in unicodedata.normalize("NFC", text))
    bare = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return " ".join(_GSM_SAFE.sub("", bare.replace("đ", "d").replace("Đ", "D")).split())


@dataclass(frozen=True)
class SmsText:
    parts: list[bytes]  # short_message of each submit_sm
    data_coding: int  # 0 SMSC default alphabet (GSM-7), 8 UCS-2
    esm_class: int  # UDHI set for a concatenated message

    @property
    def segments(self) -> int:
        return len(self.parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def compose(text: str, *, diacritics: bool) -> SmsText:
    """The message as the gateway takes it, one segment where it can be (see the module's note)."""
    if not diacritics:
        plain = _clip(strip_marks(text), GSM_SEGMENT)
        return SmsText([plain.encode("ascii")], smpplib.consts.SMPP_ENCODING_DEFAULT, smpplib.consts.SMPP_MSGTYPE_DEFAULT)
    marked = " ".join(unicodedata.normalize("NFC", text).split())
    if len(marked) > UCS2_SEGMENT:
        marked = _clip(marked, UCS2_PART * MAX_PARTS)
    parts, coding, esm_class = smpplib.gsm.make_parts(marked, encoding=smpplib.consts.SMPP_ENCODING_ISO10646)
    return SmsText(list(parts), int(coding), int(esm_class))


def segments_of(text: str, *, diacritics: bool) -> int:
    return compose(text, diacritics=diacritics).segments


def msisdn(phone: str) -> str:
    """0912345678 → 84912345678: the international number operators' gateways take (TON 1, NPI 1)."""
    return "84" + phone[1:] if phone.startswith("0") else phone.lstrip("+")


# -- the outcome of one submission --------------------------------------------------------------------------

SENT, RETRY, FAILED = "sent", "retry", "failed"


@dataclass(frozen=True)
class Submitted:
    result: str  # SENT | RETRY | FAILED
    message_id: str = ""  # the gateway's id of the (last) part: its receipt names it
    error: str = ""


@dataclass(frozen=True)
class Receipt:
    message_id: str
    delivered: bool
    state: str  # DELIVRD, UNDELIV, EXPIRED, REJECTD…


_RECEIPT_ID = re.compile(r"\bid:(\S+)")
_RECEIPT_STAT = re.compile(r"\bstat:(\w+)")
# message_state TLV (SMPP 3.4 §5.3.2.35) → the receipt's stat word
_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}
FINAL_FAILURES = {"UNDELIV", "EXPIRED", "REJECTD", "DELETED"}


def parse_receipt(pdu: Any) -> Receipt | None:
    """A deliver_sm that is a delivery receipt (esm_class bit 2), else None. The TLVs win over the text."""
    if not (int(getattr(pdu, "esm_class", 0) or 0) & 0x04):
        return None
    raw = getattr(pdu, "short_message", b"") or b""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    message_id = getattr(pdu, "receipted_message_id", None)
    if isinstance(message_id, bytes):
        message_id = message_id.decode("latin-1")
    if not message_id:
        found = _RECEIPT_ID.search(text)
        message_id = found.group(1) if found else ""
    state_number = getattr(pdu, "message_state", None)
    state = _STATES.get(int(state_number), "") if state_number else ""
    if not state:
        found = _RECEIPT_STAT.search(text)
        state = found.group(1).upper() if found else "UNKNOWN"
    if not message_id:
        return None
    return Receipt(str(message_id).rstrip("\x00"), state == "DELIVRD", state)


# -- the link ------------------------------------------------------------------------------------------------

@dataclass
class _Request:
    phone: str
    text: SmsText
    future: concurrent.futures.Future[Submitted]


class SmppLink:
    """One bound transceiver connection, owned by its own thread (smpplib blocks)."""

    def __init__(self, settings: SmppSettings, on_receipt: Callable[[Receipt], None]) -> None:
        self.settings = settings
        self.on_receipt = on_receipt
        self.requests: queue.Queue[_Request | None] = queue.Queue()
        self.client: smpplib.client.Client | None = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.reconnect_at = 0.0
        self.reconnect_wait = 1.0
        self.last_traffic = 0.0

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="motcua-smpp", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.requests.put(None)
        if self.thread is not None:
            self.thread.join(timeout=10)

    async def submit(self, phone: str, text: SmsText) -> Submitted:
        future: concurrent.futures.Future[Submitted] = concurrent.futures.Future()
        self.requests.put(_Request(phone, text, future))
        return await asyncio.wrap_future(future)

    # The thread ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                request = self.requests.get(timeout=0.2)
            except queue.Empty:
                request = None
            if self.stopping.is_set():
                if request is not None:
                    request.future.set_result(Submitted(RETRY, error="the SMS link is closing"))
                break
            try:
                if not self._connected():
                    if request is not None:
                        request.future.set_result(Submitted(RETRY, error="SMPP gateway unreachable"))
                    continue
                if request is not None:
                    request.future.set_result(self._submit(request))
                else:
                    self._idle()
            except Exception as error:  # a dropped connection, a broken PDU: reconnect, retry the message later
                log.warning("SMPP link lost: %s", error)
                self._drop()
                if request is not None and not request.future.done():
                    request.future.set_result(Submitted(RETRY, error=f"SMPP connection lost: {error}"[:300]))
        self._unbind()

    def _connected(self) -> bool:
        if self.client is not None:
            return True
        if time.monotonic() < self.reconnect_at:
            return False
        client = smpplib.client.Client(self.settings.host, self.settings.port, timeout=RESPONSE_TIMEOUT,
                                       allow_unknown_opt_params=True)
        try:
            client.connect()
            client.bind_transceiver(system_id=self.settings.system_id, password=self.settings.password)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as error:
            log.warning("SMPP bind to %s:%s failed: %s", self.settings.host, self.settings.port, error)
            try:
                client.disconnect()
            except Exception as closing:  # the bind already failed: the half-open socket is let go either way
                log.debug("SMPP disconnect after a failed bind raised %r; the client is discarded", closing)
            self.reconnect_at = time.monotonic() + self.reconnect_wait
            self.reconnect_wait = min(60.0, self.reconnect_wait * 2)
            return False
        self.client, self.reconnect_wait, self.last_traffic = client, 1.0, time.monotonic()
        return True

    def _drop(self) -> None:
        if self.client is not None:
            try:
                self.client.disconnect()
            except Exception as closing:  # the link is already broken or closing: a new client binds next time
                log.debug("SMPP disconnect raised %r; the client is discarded and the link rebinds later", closing)
        self.client = None
        self.reconnect_at = time.monotonic() + self.reconnect_wait
        self.reconnect_wait = min(60.0, self.reconnect_wait * 2)

    def _unbind(self) -> None:
        if self.client is not None:
            try:
                self.client.unbind()
            except Exception as error:  # the gateway ends the session when the socket closes, which _drop does next
                log.warning("SMPP unbind failed while closing the link: %s; the socket is closed without it", error)
            self._drop()

    def _submit(self, request: _Request) -> Submitted:
        assert self.client is not None
        message_id = ""
        for index, part in enumerate(request.text.parts):
            last = index == len(request.text.parts) - 1
            pdu = self.client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM if not self.settings.source_addr.isdigit()
                else smpplib.consts.SMPP_TON_INTL,
                source_addr_npi=smpplib.consts.SMPP_NPI_UNK if not self.settings.source_addr.isdigit()
                else smpplib.consts.SMPP_NPI_ISDN,
                source_addr=self.settings.source_addr,
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL, dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr=msisdn(request.phone), short_message=part,
                data_coding=request.text.data_coding, esm_class=request.text.esm_class,
                # a receipt for the whole message is asked on its last part only
                registered_delivery=bool(last))
            response = self._response_to(pdu.sequence)
            status = int(response.status)
            if status != 0:
                name = smpplib.consts.DESCRIPTIONS.get(status, "unknown status")
                error = f"submit_sm refused: 0x{status:08X} {name}"
                # A part refused after others went: the message is incomplete either way; retrying resends it whole.
                return Submitted(RETRY if status in RETRY_STATUSES else FAILED, error=error)
            raw_id = response.message_id
            message_id = raw_id.decode("latin-1") if isinstance(raw_id, bytes) else str(raw_id or "")
        return Submitted(SENT, message_id=message_id.rstrip("\x00"))

    def _response_to(self, sequence: int) -> Any:
        """Read PDUs until the answer to `sequence`, acting on whatever else comes (receipts, enquire_link)."""
        assert self.client is not None
        deadline = time.monotonic() + RESPONSE_TIMEOUT
        while time.monotonic() < deadline:
            pdu = self.client.read_pdu()
            self.last_traffic = time.monotonic()
            if pdu.command == "submit_sm_resp" and pdu.sequence == sequence:
                return pdu
            self._handle(pdu)
        raise smpplib.exceptions.ConnectionError("no submit_sm_resp in time")

    def _idle(self) -> None:
        """Between submissions: receipts and enquire_link from the gateway, and our own enquire_link now and then."""
        assert self.client is not None
        sock = self.client._socket
        while sock is not None and select.select([sock], [], [], 0)[0]:
            self._handle(self.client.read_pdu())
            self.last_traffic = time.monotonic()
        if time.monotonic() - self.last_traffic > ENQUIRE_EVERY:
            self.client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=self.client))
            self.last_traffic = time.monotonic()

    def _handle(self, pdu: Any) -> None:
        assert self.client is not None
        if pdu.command == "deliver_sm":
            receipt = parse_receipt(pdu)
            answer = smpplib.smpp.make_pdu("deliver_sm_resp", client=self.client)
            answer.sequence = pdu.sequence
            self.client.send_pdu(answer)  # acknowledged first: the gateway must not resend it while we record
            if receipt is not None:
                self.on_receipt(receipt)
        elif pdu.command == "enquire_link":
            answer = smpplib.smpp.make_pdu("enquire_link_resp", client=self.client)
            answer.sequence = pdu.sequence
            self.client.send_pdu(answer)
        elif pdu.command in ("unbind",):
            raise smpplib.exceptions.ConnectionError("the gateway unbound")
