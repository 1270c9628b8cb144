"""The VietQR payload (NAPAS 247 "chuyển nhanh" to an account): what a citizen scans with any banking app.

A QR code of the EMVCo merchant-presented mode, as NAPAS profiles it for inter-bank fund transfer to an account
(service code QRIBFTTA). Each data object is ID (2 digits) + length (2 digits) + value; the last is the CRC
(ID 63), a CRC-16/CCITT-FALSE over the whole text before it **including "6304"**, in 4 upper-case hex digits.
The dossier fixes the payload when payment is requested (server/payments/fees.py), so the app draws it offline
from the synced record (docs/payments.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GUID = "A000000727"  # NAPAS's application identifier (AID) in the consumer account information (ID 38)
SERVICE = "QRIBFTTA"  # inter-bank fund transfer 24/7 to an account
CURRENCY_VND = "704"  # ISO 4217
MAX_PURPOSE = 25  # ID 62/08 "purpose of transaction": up to 25 characters
BIN_PATTERN = re.compile(r"^\d{6}$")  # a bank's BIN (mã ngân hàng) as the State Bank assigns it, e.g. 970415
ACCOUNT_PATTERN = re.compile(r"^[0-9A-Za-z]{1,19}$")  # an account number: up to 19 characters


@dataclass(frozen=True)
class CollectionAccount:
    """The receiving unit's collection account (tài khoản thu phí, lệ phí)."""

    bank_bin: str
    number: str
    name: str


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


CRC_TABLE = _crc_table()


def crc16(text: str) -> str:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR) as 4 hex digits."""
    crc = 0xFFFF
    for byte in text.encode("utf-8"):
        crc = ((crc << 8) & 0xFFFF) ^ CRC_TABLE[(crc >> 8) ^ byte]
    return f"{crc:04X}"


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"data object {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def plain_note(text: str) -> str:
    """A transfer note banks carry intact: ASCII letters, digits, spaces, dots and hyphens (diacritics dropped,
    đ → d), since many banking apps strip or mangle anything else."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9A-Za-z .-]", "", text).strip()[:MAX_PURPOSE]


def payload(account: CollectionAccount, amount_vnd: int, note: str) -> str:
    """The dynamic (point of initiation "12") VietQR text for `amount_vnd` đồng to `account`, note `note`."""
    if not BIN_PATTERN.match(account.bank_bin) or not ACCOUNT_PATTERN.match(account.number):
        raise ValueError("bank BIN must be 6 digits and the account number 1–19 letters or digits")
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or not 0 < amount_vnd < 10 ** 13:
        raise ValueError("amount must be a positive whole number of đồng")
    beneficiary = _tlv("00", account.bank_bin) + _tlv("01", account.number)
    consumer = _tlv("00", GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICE)
    text = (_tlv("00", "01") + _tlv("01", "12") + _tlv("38", consumer) + _tlv("53", CURRENCY_VND)
            + _tlv("54", str(amount_vnd)) + _tlv("58", "VN") + _tlv("62", _tlv("08", plain_note(note))) + "6304")
    return text + crc16(text)


def parse(text: str) -> dict[str, str]:
    """The top-level data objects of a payload, after checking its CRC (ValueError when malformed): for tests and
    for reading a QR back."""
    if len(text) < 8 or text[-8:-4] != "6304" or crc16(text[:-4]) != text[-4:].upper():
        raise ValueError("CRC missing or wrong")
    return _objects(text)


def account_of(text: str) -> dict[str, str] | None:
    """The receiving account ({"bank_bin", "number"}) a payload pays into, None when it is not one of ours: synced
    with the dossier as `payment_account`, so the app builds the same text on the device (pwa/static/js/vietqr.js)
    from the account, the fee and the code (docs/payments.md "VietQR")."""
    try:
        consumer = _objects(parse(text).get("38", ""))
        beneficiary = _objects(consumer.get("01", ""))
    except ValueError:
        return None
    if consumer.get("00") != GUID or "00" not in beneficiary or "01" not in beneficiary:
        return None
    return {"bank_bin": beneficiary["00"], "number": beneficiary["01"]}


def note_of(text: str) -> str | None:
    """The transfer note (ID 62/08) a payload carries, None when it is malformed or has none: reconciliation finds
    a dossier by the note fixed with its fee too, so a note carrying a provisional code (TAM-…, shown at a field
    intake offline) still matches after the server gave the dossier its final code (docs/payments.md)."""
    try:
        note = _objects(parse(text).get("62", "")).get("08")
    except ValueError:
        return None
    return note or None


def _objects(value: str) -> dict[str, str]:
    """The data objects nested in one value (ID, 2-digit length, value), ValueError when malformed."""
    objects: dict[str, str] = {}
    position = 0
    while position < len(value):
        tag, length = value[position:position + 2], value[position + 2:position + 4]
        if not (tag.isdigit() and length.isdigit()) or position + 4 + int(length) > len(value):
            raise ValueError(f"malformed data object at {position}")
        objects[tag] = value[position + 4:position + 4 + int(length)]
        position += 4 + int(length)
    return objects
