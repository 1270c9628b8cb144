// The receipt of a dossier taken in the field (giấy tiếp nhận hồ sơ và hẹn trả kết quả), drawn on the device
// from what it stored when the receipt was issued: shown on screen and printed (receipt.css), with no network.
// Once synced, the server's code and appointment replace the device's, and its own document (with a signed
// tracking link) can be opened.
import { longDateTime } from "./dates.js";
import { read } from "./db.js";
import { h } from "./dom.js";
import { tr } from "./i18n.js";
import { isProvisional } from "./officer.js";
import { pagesOf } from "./attachments.js";
import { qrSvg } from "./qr.js";
import { vietqrDetails, vnd } from "./payment.js";
import { vietqrPayload } from "./vietqr.js";

// The official wording of dates (dates.js), kept under its old name for the queue.
export const vietnameseDateTime = longDateTime;

// Forms name the applicant's field differently (requester_name on the civil-status forms, full_name, owner_name…):
// these first, then the first text field of the form whose name ends in "name" (the server's rule, documents/context.py).
const APPLICANT_FIELDS = ["requester_name", "full_name", "owner_name", "person_name"];

/** The applicant's name as the form gives it ("" when the form has none yet). `form` may be null (not on the phone). */
export function applicantName(form, input) {
  const value = (name) => (typeof input[name] === "string" ? input[name].trim() : "");
  for (const name of APPLICANT_FIELDS) if (value(name)) return value(name);
  const field = ((form && form.fields) || []).find((f) => f.type === "text" && f.name.endsWith("name") && value(f.name));
  return field ? value(field.name) : "";
}

/** The tracking link of the QR code: public tracking by code (the server's printed copy carries a signed link). */
export const trackingUrl = (code) => `${location.origin}/track?code=${encodeURIComponent(code)}`;

/** Who filed it, from the form: the name, the phone and CCCD fields, the address (by field type). */
export function citizenOf(form, input, communeName = () => "") {
  const byType = (type) => form.fields.find((f) => f.type === type);
  const nameField = form.fields.find((f) => f.name === "full_name") || byType("text");
  const address = byType("address") && input[byType("address").name];
  return {
    full_name: (nameField && input[nameField.name]) || "",
    phone: (byType("phone") && input[byType("phone").name]) || "",
    cccd: (byType("cccd") && input[byType("cccd").name]) || "",
    address: address ? [address.detail, communeName(address.commune_code)].filter(Boolean).join(", ") : "",
  };
}

/**
 * The fee collected at this field intake by VietQR transfer (docs/payments.md "At a field intake"): the code built
 * here from what the phone stored when it issued the receipt (the amount, the unit's account, the code issued as
 * the transfer note), offline; once synced, the server's fixed payment_qr wins should it differ, and a payment
 * recorded shows as paid. The note keeps a provisional code after the server replaced it: the bank statement is
 * matched by the note fixed with the fee.
 */
function feeBox(payment, server) {
  if (!payment) return null;
  const box = (label, ...nodes) => h("section", { class: "card payment no-print", id: "payment", role: "region", "aria-label": label }, ...nodes);
  if (server && server.paid_at && server.fee_amount_vnd !== undefined) {
    return box(tr("Phí, lệ phí", "Fees"), h("p", { class: "saved", id: "payment-state" },
      tr(`Đã nộp phí, lệ phí ${vnd(server.fee_amount_vnd)} lúc ${longDateTime(server.paid_at)}.`,
        `Fees of ${vnd(server.fee_amount_vnd)} paid on ${longDateTime(server.paid_at)}.`)));
  }
  let text = "";
  let built = "device";
  try {
    text = vietqrPayload(payment.account, payment.amount_vnd, payment.note);
  } catch (error) {
    built = "server"; // the builder refused what was stored: the server's text, once synced
  }
  if (server && server.payment_qr && server.payment_qr !== text) {
    text = server.payment_qr; // the text fixed with the fee is the obligation
    built = "server";
  }
  if (!text) return null;
  return box(tr("Nộp phí, lệ phí", "Pay the fees"), h("h2", {}, tr("Nộp phí, lệ phí", "Pay the fees")),
    h("p", {}, tr("Số tiền: ", "Amount: "), h("strong", { id: "payment-amount" }, vnd(payment.amount_vnd))),
    ...vietqrDetails(text, payment.amount_vnd, built, false));
}

/** The receipt view for dossier `id` (route #/receipt/<id>). */
export async function receiptView(id) {
  const dossier = await read("dossiers", id);
  if (!dossier || !dossier.receipt) {
    return [h("p", { class: "empty" }, tr("Không có giấy tiếp nhận của hồ sơ này trên máy.", "No receipt for this dossier on this phone.")),
      h("p", {}, h("a", { href: "#/queue" }, tr("‹ Hàng đợi hồ sơ", "‹ Dossier queue")))];
  }
  const r = dossier.receipt;
  const server = dossier.replica ? dossier.replica.data : null;
  const code = (server && server.code) || dossier.code || r.code;
  const provisional = isProvisional(code);
  const due = (server && server.due_at) || r.due_at;
  const received = (server && server.received_at) || r.received_at;
  const signature = (await pagesOf(id)).find((p) => p.document === r.signature_document);
  const signatureUrl = signature ? URL.createObjectURL(signature.blob) : null;
  const row = (label, value, attrs = {}) => h("tr", attrs, h("th", { scope: "row" }, label), h("td", {}, value));

  const paper = h("article", { class: "receipt", id: "receipt", "data-code": code },
    h("header", { class: "receipt-heading" },
      h("div", { class: "agency" }, h("p", {}, `ỦY BAN NHÂN DÂN ${(r.unit_name || r.unit_code || "").toUpperCase()}`),
        h("p", { class: "strong" }, "BỘ PHẬN MỘT CỬA")),
      h("div", { class: "nation" }, h("p", { class: "strong" }, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        h("p", { class: "motto" }, "Độc lập - Tự do - Hạnh phúc"))),
    h("h1", {}, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"),
    h("p", { class: "receipt-code" }, tr("Mã hồ sơ: ", "Dossier code: "), h("strong", { id: "receipt-code" }, code)),
    provisional ? h("p", { class: "provisional", id: "receipt-provisional", role: "note" },
      tr("MÃ TẠM — mã hồ sơ chính thức sẽ được cấp khi máy có mạng và đồng bộ.",
        "PROVISIONAL CODE — the final dossier code is given when this device syncs.")) : null,
    h("table", { class: "receipt-facts" }, h("tbody", {},
      row(tr("Người nộp hồ sơ", "Applicant"), r.citizen.full_name, { id: "receipt-citizen" }),
      r.citizen.cccd ? row(tr("Số định danh cá nhân", "Personal ID"), r.citizen.cccd) : null,
      r.citizen.phone ? row(tr("Số điện thoại", "Phone"), r.citizen.phone) : null,
      r.citizen.address ? row(tr("Địa chỉ", "Address"), r.citizen.address, { id: "receipt-address" }) : null,
      row(tr("Thủ tục", "Procedure"), `${r.procedure_name} (${r.procedure_code})`, { id: "receipt-procedure" }),
      row(tr("Hình thức tiếp nhận", "Channel"), tr("Tiếp nhận lưu động", "Field intake")),
      row(tr("Thời điểm nhận hồ sơ", "Received at"), vietnameseDateTime(received), { id: "receipt-received" }),
      row(tr("Ngày hẹn trả kết quả", "Appointment date"), due ? vietnameseDateTime(due)
        : tr("Sẽ báo sau khi đồng bộ", "Given after syncing"), { id: "receipt-due", class: "due" }))),
    h("h2", {}, tr("Giấy tờ đã nhận", "Documents received")),
    h("table", { class: "receipt-documents", id: "receipt-documents" },
      h("thead", {}, h("tr", {}, h("th", {}, "TT"), h("th", {}, tr("Tên giấy tờ", "Document")), h("th", {}, tr("Số trang", "Pages")))),
      h("tbody", {}, r.documents.map((d, i) => h("tr", { "data-document": d.name },
        h("td", {}, String(i + 1)), h("td", {}, d.name), h("td", { class: "pages" }, String(d.pages)))))),
    h("div", { class: "receipt-bottom" },
      h("figure", { class: "receipt-qr" }, qrSvg(trackingUrl(code), { label: tr(`Mã QR tra cứu hồ sơ ${code}`, `QR code to track ${code}`) }),
        h("figcaption", {}, tr("Quét để tra cứu; nhập 4 số cuối của số điện thoại hoặc số định danh cá nhân.",
          "Scan to track; enter the last 4 digits of the phone or ID number."))),
      h("div", { class: "receipt-signatures" },
        h("div", {}, h("p", { class: "strong" }, tr("Người nộp hồ sơ", "Applicant")),
          signatureUrl ? h("img", { src: signatureUrl, alt: tr("Chữ ký của người nộp", "Applicant's signature"), class: "signature-image" }) : null,
          h("p", {}, r.citizen.full_name)),
        h("div", {}, h("p", { class: "strong" }, tr("Người tiếp nhận", "Received by")),
          h("p", { id: "receipt-officer" }, r.officer_name)))));

  const synced = Boolean(dossier.replica);
  const shareNote = h("span", { class: "copy-note", role: "status" });
  // "Chia sẻ" (Zalo, e-mail…) where the browser has the Web Share API: the server's PDF once the dossier is synced
  // and the phone online, else the public tracking link (which works offline). Hidden without the API.
  const share = async () => {
    shareNote.textContent = "";
    const title = tr(`Giấy tiếp nhận hồ sơ ${code}`, `Receipt of dossier ${code}`);
    try {
      let file = null;
      if (synced) {
        try {
          const response = await fetch(`/dossiers/${encodeURIComponent(id)}/documents/receipt.pdf`, { credentials: "same-origin" });
          if (response.ok) file = new File([await response.blob()], `giay-tiep-nhan-${code}.pdf`, { type: "application/pdf" });
        } catch (error) { /* offline: the link below */ }
      }
      if (file && navigator.canShare && navigator.canShare({ files: [file] })) await navigator.share({ files: [file], title });
      else await navigator.share({ title, text: title, url: trackingUrl(code) });
    } catch (error) {
      if (error && error.name === "AbortError") return; // the share sheet was closed
      shareNote.textContent = tr("Chưa chia sẻ được. Hãy thử lại.", "Could not share. Try again.");
    }
  };
  return [
    h("p", { class: "no-print" }, h("a", { href: "#/queue" }, tr("‹ Hàng đợi hồ sơ", "‹ Dossier queue"))),
    h("p", { class: "no-print status-line", id: "receipt-sync" }, synced
      ? tr("Đã đồng bộ với máy chủ.", "Synced with the server.")
      : tr("Chưa gửi lên máy chủ — sẽ tự gửi khi có mạng.", "Not on the server yet — sent when the network returns.")),
    paper,
    feeBox(r.payment, server),
    h("div", { class: "actions no-print" },
      h("button", { type: "button", id: "print", onclick: () => window.print() }, tr("In giấy tiếp nhận", "Print the receipt")),
      navigator.share ? h("button", { type: "button", class: "button secondary", id: "share", onclick: share }, tr("Chia sẻ", "Share")) : null,
      synced ? h("a", { class: "button secondary", href: `/dossiers/${encodeURIComponent(id)}/documents/receipt`, target: "_blank",
        rel: "noopener" }, tr("Bản của máy chủ (có chữ ký số liên kết)", "The server's copy")) : null,
      h("a", { class: "button secondary", href: "#/intake" }, tr("Tiếp nhận hồ sơ khác", "Take another dossier")), shareNote),
  ];
}
