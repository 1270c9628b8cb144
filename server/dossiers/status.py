"""The dossier's status: the national public-service portal's codes 1–10, and 0 for a draft on the device.

One enum and the named groups of statuses the server checks (docs/workflow.md "Statuses"). The API and sync
still carry the plain integers: an IntEnum is an int, and JSON writes it as one.
"""

from __future__ import annotations

from enum import IntEnum


class DossierStatus(IntEnum):
    DRAFT = 0
    SUBMITTED = 1
    RECEIVED = 2
    REFUSED = 3
    PROCESSING = 4
    SUPPLEMENT = 5
    PAYMENT = 6
    WITHDRAWAL = 7
    STOPPED = 8
    RESULT_READY = 9
    RETURNED = 10

    @property
    def name_vi(self) -> str:
        return NAMES[self][0]

    @property
    def name_en(self) -> str:
        return NAMES[self][1]

    @property
    def citizen_vi(self) -> str:
        return CITIZEN_NAMES[self][0]

    @property
    def citizen_en(self) -> str:
        return CITIZEN_NAMES[self][1]


S = DossierStatus

# Names of the national portal's status codes (Vietnamese, English), for pages, notices and GET /api/workflow.
NAMES: dict[DossierStatus, tuple[str, str]] = {
    S.DRAFT: ("Bản nháp", "Draft"),
    S.SUBMITTED: ("Mới đăng ký", "Submitted online"),
    S.RECEIVED: ("Được tiếp nhận", "Received"),
    S.REFUSED: ("Không được tiếp nhận", "Refused"),
    S.PROCESSING: ("Đang xử lý", "Processing"),
    S.SUPPLEMENT: ("Yêu cầu bổ sung", "Supplement requested"),
    S.PAYMENT: ("Yêu cầu thực hiện nghĩa vụ tài chính", "Financial obligation requested"),
    S.WITHDRAWAL: ("Công dân yêu cầu rút hồ sơ", "Withdrawal requested"),
    S.STOPPED: ("Dừng xử lý", "Processing stopped"),
    S.RESULT_READY: ("Đã xử lý xong", "Result ready"),
    S.RETURNED: ("Đã trả kết quả", "Result returned"),
}

# The same statuses as a citizen reads them (docs/pwa.md "Words"): the app's citizen screens, the tracking page and
# the citizen's list of dossiers. Officers keep the portal's names above, which the reports and the national data use.
CITIZEN_NAMES: dict[DossierStatus, tuple[str, str]] = {
    S.DRAFT: ("Bản nháp, chưa nộp", "Draft, not submitted"),
    S.SUBMITTED: ("Đã nộp, chờ tiếp nhận", "Submitted, waiting to be received"),
    S.RECEIVED: ("Đã tiếp nhận", "Received"),
    S.REFUSED: ("Không được tiếp nhận", "Refused"),
    S.PROCESSING: ("Đang giải quyết", "Being processed"),
    S.SUPPLEMENT: ("Cần bổ sung hồ sơ", "More documents needed"),
    S.PAYMENT: ("Chờ nộp phí, lệ phí", "Fees to pay"),
    S.WITHDRAWAL: ("Đang xin rút hồ sơ", "Withdrawal requested"),
    S.STOPPED: ("Đã dừng giải quyết", "Processing stopped"),
    S.RESULT_READY: ("Đã có kết quả, chờ nhận", "Result ready to collect"),
    S.RETURNED: ("Đã nhận kết quả", "Result received"),
}

# Sent to the office: everything but the draft (the unit's officers see it; it has a public tracking view).
SENT = frozenset(status for status in S if status != S.DRAFT)
# Not finished: an apology and a new appointment still make sense (server/workflow/deadlines.py).
OPEN = frozenset({S.RECEIVED, S.PROCESSING, S.SUPPLEMENT, S.PAYMENT, S.WITHDRAWAL})
# No longer pending, for the statistics: refused, stopped, result ready, returned.
FINISHED = frozenset({S.REFUSED, S.STOPPED, S.RESULT_READY, S.RETURNED})
# Ended: refused, stopped or returned; no appointment to keep any more (the public tracking view).
ENDED = frozenset({S.REFUSED, S.STOPPED, S.RETURNED})
# The owner edits the form as a draft and while a supplement is requested (sub-state "requested").
EDITABLE_BY_CITIZEN = frozenset({S.DRAFT, S.SUPPLEMENT})
# The unit's officers edit the form until processing starts, and while processing.
EDITABLE_BY_OFFICER = frozenset({S.SUBMITTED, S.RECEIVED, S.PROCESSING})
