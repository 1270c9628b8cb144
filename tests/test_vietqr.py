"""The VietQR payload (server/payments/vietqr.py, docs/payments.md): field by field, its CRC against a payload
published by others, and read back from the drawn QR image."""

from __future__ import annotations

import io

import pytest
import segno
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st

from PIL import Image

from server.payments.obligation import transfer_note
from server.payments.vietqr import CollectionAccount, account_of, crc16, parse, payload, plain_note

# Published in the README of github.com/subiz/vietqr (a Go VietQR generator): 120,000 đ to account 0011001932418 at
# BIN 970415 (VietinBank), note "ủng hộ lũ lụt", with its CRC C15C. Our generator must give the same text.
PUBLISHED = ("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
             "62170813ung ho lu lut6304C15C")
ACCOUNT = CollectionAccount("970415", "0011001932418", "UBND PHUONG VINH YEN")


def test_crc_is_ccitt_false():
    assert crc16("123456789") == "29B1"  # the check value of CRC-16/CCITT-FALSE
    assert crc16(PUBLISHED[:-4]) == "C15C"


def test_the_published_example_is_reproduced():
    assert payload(ACCOUNT, 120000, "ủng hộ lũ lụt") == PUBLISHED


def test_fields():
    text = payload(ACCOUNT, 15000, "MC.08707-261125-0042")
    fields = parse(text)
    assert fields["00"] == "01"  # payload format indicator
    assert fields["01"] == "12"  # dynamic: the amount is in the code
    consumer = parse_nested(fields["38"])
    assert consumer["00"] == "A000000727"  # NAPAS
    assert parse_nested(consumer["01"]) == {"00": "970415", "01": "0011001932418"}
    assert consumer["02"] == "QRIBFTTA"
    assert (fields["53"], fields["54"], fields["58"]) == ("704", "15000", "VN")
    assert parse_nested(fields["62"]) == {"08": "MC.08707-261125-0042"}
    assert text[-8:-4] == "6304" and fields["63"] == crc16(text[:-4])
    assert list(fields) == ["00", "01", "38", "53", "54", "58", "62", "63"]


def parse_nested(value: str) -> dict[str, str]:
    out, position = {}, 0
    while position < len(value):
        length = int(value[position + 2:position + 4])
        out[value[position:position + 2]] = value[position + 4:position + 4 + length]
        position += 4 + length
    return out


def test_a_tampered_payload_fails_its_crc():
    text = payload(ACCOUNT, 15000, "X")
    with pytest.raises(ValueError):
        parse(text.replace("15000", "16000"))


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, 10 ** 13])
def test_bad_amounts_are_refused(amount):
    with pytest.raises(ValueError):
        payload(ACCOUNT, amount, "X")


@pytest.mark.parametrize("account", [CollectionAccount("97041", "1", ""), CollectionAccount("970415", "12 34", ""),
                                     CollectionAccount("970415", "1" * 20, "")])
def test_bad_accounts_are_refused(account):
    with pytest.raises(ValueError):
        payload(account, 1000, "X")


def test_long_codes_fit_the_note():
    assert transfer_note("000.00.01.H57-261125-0042") == "000.00.01.H57-261125-0042"
    assert transfer_note("000.00.01.H57-261125-10042") == "0000001H5726112510042"


@given(st.text(max_size=60), st.integers(min_value=1, max_value=10 ** 12))
def test_any_note_gives_a_valid_payload(note, amount):
    text = payload(ACCOUNT, amount, note)
    assert parse(text)["54"] == str(amount)
    assert plain_note(note) == parse_nested(parse(text)["62"])["08"]
    assert text.isascii()


def test_read_back_from_the_drawn_image():
    """Drawn as the server draws it (segno, server/documents/qr.py) and decoded by a real QR reader."""
    text = payload(ACCOUNT, 15000, "MC.08707-261125-0042")
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=6, border=4)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(buffer.getvalue())))
    assert [result.text for result in decoded] == [text]


def test_the_account_is_read_back_for_the_device():
    """Synced as the dossier's payment_account, so the app builds the same text (tests/test_vietqr_js.py)."""
    assert account_of(PUBLISHED) == {"bank_bin": "970415", "number": "0011001932418"}
    assert account_of(PUBLISHED.replace("C15C", "C15D")) is None  # a wrong CRC
    assert account_of("garbage") is None
    other = "0002010102113801X5303704" + "6304"  # no NAPAS account inside
    assert account_of(other + crc16(other)) is None


def test_the_note_is_read_back_from_a_payload():
    """reconcile.py finds a dossier by the note fixed in its payment_qr too (a provisional code shown at a field
    intake); note_of reads tag 62/08 back, None for a text that is not a valid payload."""
    from server.payments.vietqr import CollectionAccount, note_of, payload

    account = CollectionAccount("970415", "0011001932418", "UBND")
    assert note_of(payload(account, 15000, "TAM-08707-261206-ABCDEF0123")) == "TAM-08707-261206-ABCDEF0123"[:25]
    assert note_of(payload(account, 15000, "Nộp phí hồ sơ")) == "Nop phi ho so"
    text = payload(account, 15000, "MC.08707-261206-0001")
    assert note_of(text[:-1] + ("0" if text[-1] != "0" else "1")) is None  # CRC wrong
    assert note_of("") is None and note_of("khong phai ma") is None
