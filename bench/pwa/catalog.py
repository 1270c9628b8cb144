"""A catalog of many procedures for the PWA benchmark, made from the shipped one (server/data/catalog).

The shipped catalog holds 31 real procedures. A province's catalog holds about 1,000 to 2,000; this makes as
many as asked, deterministically: real field names (lĩnh vực), names built the way the national portal words
them ("Cấp lại giấy phép …", "Đăng ký …"), and each one's documents and form copied from a shipped procedure,
so the index and the per-procedure details have realistic sizes.

    PYTHONPATH=. python bench/pwa/catalog.py 969 > catalog-1000.json
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "server" / "data" / "catalog" / "procedures.json"

# lĩnh vực → what its procedures are about (the object of the action)
FIELDS = {
    "Hộ tịch": ["khai sinh", "khai tử", "kết hôn", "nhận cha, mẹ, con", "giám hộ", "thay đổi, cải chính hộ tịch",
                "xác định lại giới tính", "ghi vào sổ hộ tịch việc ly hôn đã giải quyết ở nước ngoài"],
    "Đất đai": ["quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất", "chuyển mục đích sử dụng đất",
                "tách thửa, hợp thửa đất", "biến động đất đai do đổi tên, giảm diện tích thửa đất",
                "góp vốn bằng quyền sử dụng đất", "gia hạn sử dụng đất nông nghiệp của hộ gia đình, cá nhân"],
    "Hoạt động xây dựng": ["giấy phép xây dựng nhà ở riêng lẻ", "giấy phép sửa chữa, cải tạo công trình",
                           "giấy phép di dời công trình", "chứng chỉ hành nghề hoạt động xây dựng hạng III"],
    "Đường bộ": ["giấy phép lái xe", "đăng ký xe máy chuyên dùng", "giấy phép kinh doanh vận tải bằng xe ô tô",
                 "phù hiệu xe taxi, xe hợp đồng", "giấy phép thi công công trình trên đường bộ đang khai thác"],
    "Giáo dục và Đào tạo": ["thành lập trường mầm non tư thục", "cho phép trung tâm học tập cộng đồng hoạt động",
                            "chuyển trường đối với học sinh trung học cơ sở", "công nhận trường tiểu học đạt chuẩn quốc gia",
                            "hỗ trợ học tập đối với trẻ mẫu giáo, học sinh dân tộc thiểu số rất ít người"],
    "Y tế": ["giấy phép hoạt động đối với trạm y tế cấp xã", "chứng chỉ hành nghề khám bệnh, chữa bệnh",
             "giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "đăng ký hành nghề dược"],
    "Lao động": ["giấy phép hoạt động cho thuê lại lao động", "trợ cấp thất nghiệp", "hỗ trợ học nghề",
                 "đăng ký nội quy lao động", "giấy phép lao động cho người lao động nước ngoài"],
    "Người có công": ["trợ cấp hằng tháng đối với thân nhân liệt sĩ", "giấy chứng nhận thương binh",
                      "hỗ trợ cải thiện nhà ở đối với người có công với cách mạng", "di chuyển hồ sơ người có công"],
    "Bảo trợ xã hội": ["trợ cấp xã hội hàng tháng", "hỗ trợ chi phí mai táng", "tiếp nhận đối tượng vào cơ sở trợ giúp xã hội",
                       "trợ giúp xã hội khẩn cấp về hỗ trợ làm nhà ở"],
    "Văn hóa": ["giấy phép tổ chức lễ hội", "đăng ký hoạt động thư viện tư nhân", "giấy phép kinh doanh karaoke",
                "công nhận danh hiệu gia đình văn hóa", "giấy phép tổ chức biểu diễn nghệ thuật"],
    "Du lịch": ["giấy phép kinh doanh dịch vụ lữ hành nội địa", "thẻ hướng dẫn viên du lịch", "công nhận điểm du lịch",
                "xếp hạng cơ sở lưu trú du lịch"],
    "Thương mại": ["giấy phép bán lẻ sản phẩm thuốc lá", "giấy phép bán lẻ rượu", "giấy chứng nhận đủ điều kiện cửa hàng bán lẻ xăng dầu",
                   "đăng ký tổ chức hội chợ, triển lãm thương mại", "giấy phép kinh doanh khí"],
    "Nông nghiệp": ["giấy chứng nhận cơ sở an toàn dịch bệnh động vật", "kiểm dịch động vật vận chuyển ra khỏi tỉnh",
                    "hỗ trợ khắc phục thiệt hại do thiên tai", "giấy phép khai thác thủy sản", "đăng ký tàu cá"],
    "Tài nguyên nước": ["giấy phép khai thác nước dưới đất", "giấy phép xả nước thải vào nguồn nước",
                        "đăng ký khai thác nước mặt"],
    "Môi trường": ["giấy phép môi trường", "đăng ký môi trường", "kế hoạch bảo vệ môi trường"],
    "Tư pháp": ["chứng thực bản sao từ bản chính", "chứng thực chữ ký", "chứng thực hợp đồng, giao dịch",
                "công nhận hòa giải viên", "trợ giúp pháp lý"],
    "Nội vụ": ["thành lập hội có phạm vi hoạt động trong xã", "công nhận ban vận động thành lập hội",
               "thi tuyển công chức cấp xã", "xét tặng danh hiệu lao động tiên tiến"],
    "Tín ngưỡng, tôn giáo": ["đăng ký hoạt động tín ngưỡng", "đăng ký sinh hoạt tôn giáo tập trung",
                             "thông báo tổ chức quyên góp", "sửa chữa, cải tạo công trình tín ngưỡng"],
    "Thi đua, khen thưởng": ["tặng giấy khen của Chủ tịch UBND cấp xã", "tặng danh hiệu chiến sĩ thi đua cơ sở",
                             "tặng bằng khen của Chủ tịch UBND cấp tỉnh"],
    "Tài chính": ["đăng ký mã số đơn vị có quan hệ với ngân sách", "quyết toán kinh phí hỗ trợ",
                  "mua hóa đơn lẻ"],
    "Thành lập và hoạt động của doanh nghiệp": ["thành lập công ty trách nhiệm hữu hạn một thành viên",
                                                "thay đổi người đại diện theo pháp luật", "tạm ngừng kinh doanh",
                                                "giải thể doanh nghiệp", "thành lập chi nhánh, văn phòng đại diện"],
    "Thành lập và hoạt động của hộ kinh doanh": ["thành lập hộ kinh doanh", "thay đổi nội dung đăng ký hộ kinh doanh",
                                                 "chấm dứt hoạt động hộ kinh doanh"],
    "Đăng ký, quản lý cư trú": ["thường trú", "tạm trú", "lưu trú", "khai báo tạm vắng", "tách hộ"],
    "Lâm nghiệp": ["phê duyệt phương án khai thác gỗ rừng trồng", "xác nhận nguồn gốc lâm sản",
                   "giao rừng, cho thuê rừng đối với hộ gia đình, cá nhân"],
    "Khoa học và Công nghệ": ["giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
                              "giấy phép tiến hành công việc bức xạ", "công nhận sáng kiến"],
    "Công tác dân tộc": ["công nhận người có uy tín trong đồng bào dân tộc thiểu số",
                         "hỗ trợ đất ở, nhà ở, nước sinh hoạt cho đồng bào dân tộc thiểu số"],
}
ACTIONS = ["Cấp", "Cấp lại", "Cấp đổi", "Điều chỉnh", "Gia hạn", "Đăng ký", "Xác nhận", "Công nhận",
           "Thẩm định hồ sơ đề nghị", "Giải quyết", "Thông báo thay đổi", "Thu hồi"]
TAILS = ["", "", "", " (thực hiện tại cấp xã)", " đối với trường hợp bị mất, hỏng", " đối với cá nhân",
         " đối với tổ chức", " khi có thay đổi thông tin", " trong trường hợp hết hạn", " cho người nước ngoài"]
AGENCIES = {"commune": ["UBND cấp xã", "Chủ tịch UBND cấp xã", "Công an cấp xã"],
            "province": ["Sở Tài chính", "Sở Nội vụ", "Sở Xây dựng", "Sở Y tế", "Sở Nông nghiệp và Môi trường",
                         "Sở Văn hóa, Thể thao và Du lịch", "Sở Giáo dục và Đào tạo", "Sở Công Thương"]}


def make_catalog(count: int, seed: int = 20250701) -> dict:
    rng = random.Random(seed)
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))["procedures"]
    taken = {p["code"] for p in shipped}
    procedures, names = [], set()
    while len(procedures) < count:
        field = rng.choice(list(FIELDS))
        name = f"{rng.choice(ACTIONS)} {rng.choice(FIELDS[field])}{rng.choice(TAILS)}"
        if name in names:
            continue
        names.add(name)
        code = f"{rng.choice((1, 1, 2, 3))}.{rng.randrange(10000, 999999):06d}"
        if code in taken:
            continue
        taken.add(code)
        template = copy.deepcopy(shipped[len(procedures) % len(shipped)])
        level = "commune" if rng.random() < 0.7 else "province"
        template.update(code=code, name=name[0].upper() + name[1:], field=field, level=level,
                        agency=rng.choice(AGENCIES[level]), processing_days=rng.choice([0, 1, 3, 5, 7, 10, 15, 20, 30]),
                        fee={"amount_vnd": rng.choice([0, 0, 15000, 50000, 100000, 500000]), "note": ""},
                        sources=["bench/pwa/catalog.py: tên và mã tạo ra để đo, không phải thủ tục thật"])
        for key in ("code_confidence", "processing_note"):
            template.pop(key, None)
        procedures.append(template)
    return {"catalog_version": "bench-pwa", "source_note": "Made up for bench/pwa from the shipped catalog.",
            "procedures": procedures}


if __name__ == "__main__":
    json.dump(make_catalog(int(sys.argv[1]) if len(sys.argv) > 1 else 969), sys.stdout, ensure_ascii=False, indent=1)
