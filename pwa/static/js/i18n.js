// The app's words, Vietnamese first; the English switch is kept on the phone.
const KEY = "motcua_lang";
export let lang = (typeof localStorage !== "undefined" && localStorage.getItem(KEY)) === "en" ? "en" : "vi";

export function setLang(value) {
  lang = value === "en" ? "en" : "vi";
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
}

/** A label from the data ({vi, en}) in the chosen language, falling back to Vietnamese. */
export const pick = (value) => (value && typeof value === "object" ? value[lang] || value.vi || "" : value ?? "");

const STRINGS = {
  catalog: ["Thủ tục", "Procedures"],
  search: ["Tìm thủ tục", "Find a procedure"],
  search_hint: ["Ví dụ: dang ky khai sinh (gõ không dấu cũng được)", "e.g. dang ky khai sinh (accents optional)"],
  count: ["{n} thủ tục", "{n} procedures"],
  no_results: ["Không tìm thấy thủ tục nào. Hãy thử từ khóa ngắn hơn.", "No procedure found. Try fewer words."],
  catalog_empty: ["Chưa tải được danh mục thủ tục. Hãy mở ứng dụng khi có mạng một lần.",
    "The catalog is not on this phone yet. Open the app once with a connection."],
  my_dossiers: ["Hồ sơ của tôi", "My dossiers"],
  no_dossiers: ["Chưa có hồ sơ nào trên máy này.", "No dossiers on this phone yet."],
  resume: ["Tiếp tục", "Continue"],
  open: ["Xem", "Open"],
  delete: ["Xoá", "Delete"],
  confirm_delete: ["Chắc chắn xoá?", "Really delete?"],
  start: ["Lập hồ sơ", "Start a dossier"],
  back: ["‹ Danh mục", "‹ Catalog"],
  timeline: ["Quá trình giải quyết", "Processing record"],
  timeline_offline: ["Đang xem bản lưu trên máy; mở lại khi có mạng để cập nhật.", "Saved copy; open again online to update."],
  documents: ["Thành phần hồ sơ", "Required documents"],
  processing_time: ["Thời hạn giải quyết", "Processing time"],
  days: ["{n} ngày làm việc", "{n} working days"],
  same_day: ["Trong ngày", "Same day"],
  days_unknown: ["Chưa công bố", "Not published"],
  not_offline: ["Thủ tục này chưa được lưu trên máy. Hãy mở khi có mạng.", "This procedure is not on this phone yet. Open it online."],
  status: ["Trạng thái", "Status"],
  waiting: ["Chờ gửi", "Waiting to send"],
  unsent: ["{n} thay đổi chưa gửi", "{n} unsent changes"],
  saved: ["Đã lưu trên máy", "Saved on this phone"],
  saving: ["Đang lưu…", "Saving…"],
  receiving_unit: ["Nơi nhận hồ sơ (xã, phường)", "Receiving office (commune, ward)"],
  unit_needed: ["Hãy chọn nơi nhận hồ sơ.", "Choose the receiving office."],
  submit: ["Nộp hồ sơ", "Submit"],
  fix_errors: ["Hồ sơ còn {n} lỗi. Hãy sửa các mục được đánh dấu.", "The form has {n} errors. Fix the marked fields."],
  add_item: ["Thêm {label}", "Add {label}"],
  item: ["Mục {n}", "Entry {n}"],
  remove_item: ["Bỏ mục này", "Remove this entry"],
  commune: ["Xã, phường", "Commune, ward"],
  commune_filter: ["Lọc theo tên xã, phường", "Filter communes by name"],
  choose: ["— Chọn —", "— Choose —"],
  detail: ["Số nhà, đường, thôn, tổ", "House number, street, hamlet"],
  sync_waiting: ["Chờ gửi: {n}", "Waiting: {n}"],
  sync_last: ["Gửi lần cuối: {t}", "Last sent: {t}"],
  sync_never: ["Chưa gửi lần nào", "Never sent"],
  send_now: ["Gửi ngay", "Send now"],
  sending: ["Đang gửi…", "Sending…"],
  offline: ["Đang ngoại tuyến — hồ sơ được lưu trên máy và sẽ tự gửi khi có mạng.",
    "Offline — dossiers are kept on this phone and sent when the network returns."],
  update: ["Có phiên bản mới — tải lại", "A new version is ready — reload"],
  signin: ["Đăng nhập", "Sign in"],
  signout: ["Đăng xuất", "Sign out"],
  signin_needed: ["Hãy đăng nhập để gửi hồ sơ. Bạn vẫn có thể soạn hồ sơ khi chưa đăng nhập.",
    "Sign in to send dossiers. You can draft without signing in."],
  phone: ["Số điện thoại", "Phone number"],
  password: ["Mật khẩu", "Password"],
  signin_failed: ["Không đăng nhập được: {m}", "Could not sign in: {m}"],
  signin_offline: ["Cần có mạng để đăng nhập.", "Signing in needs a connection."],
  signout_unsent: ["Còn {n} thay đổi chưa gửi sẽ bị xoá khỏi máy. Bấm Đăng xuất lần nữa để xoá và đăng xuất.",
    "{n} unsent changes will be deleted from this phone. Tap Sign out again to delete them and sign out."],
  conflicts: ["Thông tin bị sửa ở hai nơi", "Edited in two places"],
  conflict_server: ["Trên máy chủ", "On the server"],
  conflict_device: ["Trên máy này", "On this phone"],
  keep_server: ["Giữ giá trị máy chủ", "Keep the server's value"],
  keep_device: ["Dùng giá trị máy này", "Use this phone's value"],
  resolving: ["Đang gửi lựa chọn…", "Sending your choice…"],
  problem: ["Máy chủ không nhận thay đổi: {m}", "The server did not accept a change: {m}"],
  outbox: ["Hộp thư đi", "Outbox"],
  outbox_empty: ["Không có thay đổi nào chờ gửi.", "Nothing waits to be sent."],
  discard: ["Bỏ thay đổi này", "Discard this change"],
  confirm_discard: ["Bấm lần nữa để bỏ", "Tap again to discard"],
  discard_warning: ["Thay đổi này sẽ không bao giờ được gửi: {what}", "This change will never be sent: {what}"],
  change_create: ["tạo hồ sơ", "creating the dossier"],
  change_command: ["lệnh {c}", "command {c}"],
  change_resolve: ["lựa chọn khi sửa ở hai nơi", "a conflict choice"],
  storage_low: ["Bộ nhớ của trình duyệt sắp đầy ({p}%). Hãy gửi hồ sơ và xoá bản nháp cũ.",
    "Browser storage is almost full ({p}%). Send your dossiers and delete old drafts."],
  queue: ["Hàng đợi hồ sơ", "Dossier queue"], // officers (queue.js)
  field_intake: ["Tiếp nhận tại chỗ", "Field intake"], // intake officers (intake.js)
  // notices and push (notify.js)
  notices: ["Thông báo", "Notices"],
  unread: ["chưa đọc", "unread"],
  notices_none: ["Chưa có thông báo nào.", "No notices yet."],
  notices_offline: ["Cần có mạng để xem thông báo lần đầu.", "Notices need a connection the first time."],
  push_offer: ["Bật thông báo để biết ngay khi hồ sơ được tiếp nhận, cần bổ sung hoặc có kết quả?",
    "Turn on notifications to hear when your dossier is received, needs more, or has a result?"],
  push_enable: ["Bật thông báo", "Turn on notifications"],
  push_later: ["Để sau", "Not now"],
  push_on: ["Đã bật thông báo trên máy này.", "Notifications are on for this phone."],
  push_failed: ["Chưa bật được thông báo: {m}", "Could not turn on notifications: {m}"],
  push_denied: ["trình duyệt đã chặn thông báo; hãy cho phép trong phần cài đặt của trang.",
    "the browser blocks notifications; allow them in the site settings."],
  push_disable: ["Tắt thông báo trên máy này", "Turn off notifications on this phone"],
  push_devices: ["Thiết bị nhận thông báo", "Devices that get notifications"],
  push_device: ["Thiết bị", "Device"],
  push_this_device: ["máy này", "this phone"],
  push_last: ["Nhận lần cuối: {t}", "Last delivered: {t}"],
  push_never: ["Chưa nhận thông báo nào", "Nothing delivered yet"],
  push_remove: ["Gỡ", "Remove"],
  push_none: ["Chưa có thiết bị nào nhận thông báo.", "No device gets notifications yet."],
  push_unsupported: ["Trình duyệt này không nhận được thông báo đẩy; các thông báo vẫn có ở đây.",
    "This browser cannot receive push notifications; the notices are still here."],
  // supplements and documents (supplement.js)
  supplement_asked: ["Cơ quan yêu cầu bổ sung", "The office asks for"],
  supplement_hint: ["Sửa tờ khai, thêm ảnh giấy tờ còn thiếu rồi bấm Gửi bổ sung.",
    "Correct the form, add the missing pages, then tap Send supplement."],
  supplement_send: ["Gửi bổ sung", "Send supplement"],
  supplement_queued: ["Đã lưu bổ sung trên máy — sẽ tự gửi khi có mạng, rồi chờ cơ quan xem xét.",
    "Supplement saved on this phone — it is sent when the network returns, then the office reviews it."],
  supplement_sent: ["Đã gửi bổ sung — chờ cơ quan xem xét", "Supplement sent — waiting for the office to review it"],
  supplement_sent_step: ["Công dân đã gửi bổ sung", "Supplement sent by the citizen"],
  doc_title: ["Giấy tờ của hồ sơ", "Documents of the dossier"],
  doc_receipt: ["Giấy tiếp nhận", "Receipt"],
  doc_supplement_request: ["Phiếu yêu cầu bổ sung", "Supplement request"],
  doc_refusal: ["Phiếu từ chối tiếp nhận", "Refusal"],
  doc_print: ["Xem, in", "View, print"],
  doc_online: ["Cần có mạng để mở giấy tờ.", "Opening documents needs a connection."],
  track: ["Tra cứu hồ sơ", "Track a dossier"],
  close: ["Đóng", "Close"],
  language: ["English", "Tiếng Việt"],
  empty: ["(trống)", "(empty)"],
};

export function t(key, values = {}) {
  const pair = STRINGS[key];
  let text = pair ? pair[lang === "en" ? 1 : 0] : key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

// The national portal's status names (server/dossiers.py STATUS_NAMES).
const STATUS = ["Bản nháp|Draft", "Mới đăng ký|Submitted online", "Được tiếp nhận|Received",
  "Không được tiếp nhận|Refused", "Đang xử lý|Processing", "Yêu cầu bổ sung|Supplement requested",
  "Yêu cầu thực hiện nghĩa vụ tài chính|Financial obligation requested", "Công dân yêu cầu rút hồ sơ|Withdrawal requested",
  "Dừng xử lý|Processing stopped", "Đã xử lý xong|Result ready", "Đã trả kết quả|Result returned"];
export const statusName = (code) => (STATUS[code] || String(code)).split("|")[lang === "en" ? 1 : 0];
