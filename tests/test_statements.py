"""Reading bank statements (server/payments/statements.py, docs/payments.md "Statements"): CSV as Vietnamese banks
export it and ISO 20022 camt.053, and hostile files refused with a message, never half-read."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.payments.reconcile import squeeze
from server.payments.statements import Line, StatementError, amount_of, read_statement

# As a bank's "Sao kê tài khoản" export looks: account details above the header, Vietnamese headers, debit and
# credit columns, amounts with dot thousands.
BANK_CSV = """SAO KÊ TÀI KHOẢN
Số tài khoản:,0011001932418
Tên tài khoản:,UBND PHUONG VINH YEN
Từ ngày:,01/11/2026,Đến ngày:,30/11/2026

STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Nội dung giao dịch
1,25/11/2026 09:12:01,FT2632912345,,15.000,1.015.000,NGUYEN THI MAI chuyen tien MC.08707-261125-0042
2,25/11/2026 10:00:00,FT2632912346,200.000,,815.000,Phi dich vu
3,26/11/2026,FT2632912347,,"20,000",835.000,MC08707 2611250043 nop phi
"""

CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt><GrpHdr><MsgId>1</MsgId><CreDtTm>2026-11-26T17:00:00+07:00</CreDtTm></GrpHdr>
  <Stmt><Id>S1</Id>
   <Ntry><Amt Ccy="VND">15000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-11-25</Dt></BookgDt><AcctSvcrRef>FT1</AcctSvcrRef>
    <NtryDtls><TxDtls><RmtInf><Ustrd>MC.08707-261125-0042</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="VND">50000</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry>
   <Ntry><Amt Ccy="VND">7000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
    <BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry>
   <Ntry><Amt Ccy="VND">20000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><DtTm>2026-11-26T08:00:00</DtTm></BookgDt><NtryRef>R2</NtryRef>
    <AddtlNtryInf>nop phi ho so MC.08707-261125-0043</AddtlNtryInf></Ntry>
  </Stmt></BkToCstmrStmt></Document>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&lol3;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&x;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""


def test_bank_csv_credit_lines():
    assert read_statement(BANK_CSV.encode()) == [
        Line(date(2026, 11, 25), 15000, "NGUYEN THI MAI chuyen tien MC.08707-261125-0042", "FT2632912345"),
        Line(date(2026, 11, 26), 20000, "MC08707 2611250043 nop phi", "FT2632912347"),
    ]


def test_bank_csv_in_utf16_with_semicolons_and_english_headers():
    text = "Date;Reference;Credit;Description\r\n2026-11-25;A1;1.500.000;MC.08707-261125-0042\r\n"
    assert read_statement(text.encode("utf-16")) == [Line(date(2026, 11, 25), 1500000, "MC.08707-261125-0042", "A1")]


def test_one_signed_amount_column():
    text = "Ngày,Số tiền,Diễn giải\n25/11/2026,-30.000,phi\n25/11/2026,+30.000,MC.08707-261125-0042\n"
    assert [line.amount_vnd for line in read_statement(text.encode())] == [30000]


def test_camt053():
    assert read_statement(CAMT.encode()) == [
        Line(date(2026, 11, 25), 15000, "MC.08707-261125-0042", "FT1"),
        Line(date(2026, 11, 26), 20000, "nop phi ho so MC.08707-261125-0043", "R2"),
    ]


@pytest.mark.parametrize("text, amount", [("15.000", 15000), ("1,500,000", 1500000), ("1.500.000,00", 1500000),
                                          ("1,500,000.00", 1500000), ("1500000 VND", 1500000), ("", None),
                                          ("20000.00", 20000)])
def test_amounts(text, amount):
    assert amount_of(text) == amount


@pytest.mark.parametrize("text", ["15,5", "abc", "1.500,000.00", "1e5", "99999999999999"])
def test_bad_amounts(text):
    with pytest.raises(StatementError):
        amount_of(text)


@pytest.mark.parametrize("data", [
    BILLION_LAUGHS, EXTERNAL_ENTITY, b"<Document><unclosed>", b"<Other/>", b"", b"   ",
    b"no header here\n1,2,3\n", b"\xff\xd8\xff\xe0 a jpeg",
    "Ngày giao dịch,Số tiền ghi có,Nội dung\n32/13/2026,1.000,x\n".encode(),
    "Ngày giao dịch,Số tiền ghi có,Nội dung\n25/11/2026,mười nghìn,x\n".encode(),
    CAMT.replace('Ccy="VND">15000', 'Ccy="USD">15').encode(),
    b"x" * (5 * 1024 * 1024 + 1),
])
def test_hostile_files_are_refused_with_a_message(data):
    with pytest.raises(StatementError) as refused:
        read_statement(data)
    assert refused.value.vi and refused.value.en


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_refused_cleanly(data):
    try:
        lines = read_statement(data)
    except StatementError:
        return
    assert all(line.amount_vnd > 0 for line in lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=12), st.text(max_size=40)), max_size=8))
def test_any_csv_rows_under_a_header_are_read_or_refused_cleanly(rows):
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Ngày giao dịch", "Số tiền ghi có", "Nội dung giao dịch"])
    writer.writerows(rows)
    try:
        read_statement(out.getvalue().encode())
    except StatementError:
        pass


def test_line_keys():
    line = Line(date(2026, 11, 25), 15000, "x", "")
    assert line.key(0) != line.key(1)  # two equal transfers on one day are two lines
    assert Line(date(2026, 11, 25), 15000, "x", "FT1").key(0) == Line(date(2026, 11, 25), 15000, "y", "FT1").key(3)


def test_codes_are_compared_by_letters_and_digits():
    assert squeeze("000.00.01.H57-261125-0042") in squeeze("ck 0000001h57 261125 0042 nop phi")
