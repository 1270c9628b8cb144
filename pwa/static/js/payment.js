// What the citizen owes and how to pay it (docs/payments.md): the fee the office fixed when it asked for payment,
// and the VietQR code to scan with any banking app. Both come with the synced dossier: the code is built here from
// the unit's collection account (payment_account), the fee and the dossier code (vietqr.js, the server's builder
// byte for byte) and drawn with qr.js, offline too; a record without payment_account uses the server's payment_qr.
import { longDateTime } from "./dates.js";
import { h } from "./dom.js";
import { lang, tr } from "./i18n.js";
import { qrSvg } from "./qr.js";
import { session } from "./sync.js";
import { transferNote, vietqrPayload } from "./vietqr.js";
import { S } from "./workflow.js";

export const vnd = (amount) => `${String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ".")} đ`;

/** The EMVCo data objects of a VietQR text (ID, 2-digit length, value), one level. */
export function tlv(text) {
  const out = {};
  for (let at = 0; at + 4 <= text.length;) {
    const length = Number(text.slice(at + 2, at + 4));
    out[text.slice(at, at + 2)] = text.slice(at + 4, at + 4 + length);
    at += 4 + length;
  }
  return out;
}

/** The VietQR text of a dossier to pay: built on the device when the record names the account, else the server's. */
function paymentText(data) {
  if (data.payment_account && Number.isInteger(data.fee_amount_vnd) && typeof data.code === "string") {
    try {
      const text = vietqrPayload(data.payment_account, data.fee_amount_vnd, transferNote(data.code));
      // The text fixed with the fee is the obligation: should the code have changed since, it still wins.
      if (!data.payment_qr || text === data.payment_qr) return { text, built: "device" };
    } catch (error) {
      // an account or amount the builder refuses: the server's text, if any, is still right
    }
  }
  return { text: data.payment_qr || "", built: "server" };
}

/**
 * "Thanh toán trực tuyến": shown when the server says a gateway can take this fee (online only; the QR code above
 * works offline). The browser goes to the gateway; the dossier shows paid once the gateway's notification arrives.
 */
async function gatewayButton(box, dossier) {
  const url = `/api/dossiers/${encodeURIComponent(dossier.id)}/payment`;
  let answer;
  try {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    answer = await response.json();
  } catch (error) {
    return; // offline: the QR code is the way to pay
  }
  if (!answer.gateway || !box.isConnected) return;
  const problem = h("p", { class: "error", id: "gateway-error", role: "alert", hidden: true });
  const button = h("button", { type: "button", id: "pay-online", onclick: async () => {
    button.disabled = true;
    try {
      const response = await fetch(`${url}/gateway`, { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": (await session()).csrf_token } });
      const body = await response.json().catch(() => ({}));
      if (response.ok && body.url) { location.assign(body.url); return; }
      const e = body.error || {};
      problem.textContent = (lang === "en" && e.message_en) || e.message || tr("Chưa mở được cổng thanh toán; Ông/Bà thử lại sau.", "The payment gateway could not be opened; try again later.");
    } catch (error) {
      problem.textContent = tr("Không có mạng; Ông/Bà có thể quét mã VietQR ở trên.", "No connection: you can scan the VietQR code above.");
    }
    problem.hidden = false;
    button.disabled = false;
  } }, tr("Thanh toán trực tuyến (VNPAY)", "Pay online (VNPAY)"));
  box.append(h("p", { class: "note" }, tr("Hoặc thanh toán bằng thẻ, ví điện tử qua cổng thanh toán:", "Or pay by card or e-wallet at the payment gateway:")), button, problem);
}

/**
 * The VietQR code to scan and what it carries (the transfer note, the account number and its bank's BIN), with how
 * to pay: for the citizen's dossier below, and for the officer's receipt at a field intake (receipt.js).
 * `built`: "device" when the text was built here, "server" when it is the fixed payment_qr. `waits`: processing
 * waits for the payment (status 6); a fee fixed at a field intake does not hold the dossier up.
 */
export function vietqrDetails(text, amountVnd, built, waits = true) {
  const fields = tlv(text);
  const bank = tlv(tlv(fields["38"] || "")["01"] || "");
  const note = tlv(fields["62"] || "")["08"] || "";
  return [
    h("figure", { class: "payment-qr", id: "payment-qr", "data-built": built }, qrSvg(text, { label: tr(`Mã VietQR nộp ${vnd(amountVnd)}`, `VietQR code to pay ${vnd(amountVnd)}`) }),
      h("figcaption", {}, tr("Mở ứng dụng ngân hàng, chọn quét mã QR và xác nhận chuyển khoản. Số tiền và nội dung đã có sẵn trong mã.",
        "Open your banking app, scan the QR code and confirm: the amount and the note are in the code."))),
    h("dl", { class: "payment-details" },
      h("dt", {}, tr("Nội dung chuyển khoản", "Transfer note")), h("dd", { id: "payment-note" }, note),
      h("dt", {}, tr("Số tài khoản", "Account number")), h("dd", { id: "payment-account" }, bank["01"] || ""),
      h("dt", {}, tr("Mã ngân hàng (BIN)", "Bank BIN")), h("dd", {}, bank["00"] || "")),
    h("p", { class: "note" }, waits
      ? tr("Nếu chuyển khoản thủ công, Ông/Bà ghi đúng nội dung trên để cơ quan nhận ra khoản nộp. Hồ sơ được xử lý tiếp khi cơ quan đối soát được khoản tiền.",
        "If you type the transfer yourself, write the note above exactly, so the office can recognise it. Processing continues once the office has matched the payment.")
      : tr("Nếu chuyển khoản thủ công, Ông/Bà ghi đúng nội dung trên để cơ quan nhận ra khoản nộp.",
        "If you type the transfer yourself, write the note above exactly, so the office can recognise it.")),
  ];
}

/** The box of a dossier with a fee fixed: to pay (status 6, or fixed at a field intake) with the QR code, or paid. "" otherwise. */
export function paymentBox(dossier) {
  const data = (dossier.replica && dossier.replica.data) || {};
  if (data.paid_at && data.fee_amount_vnd !== undefined) {
    return h("section", { class: "card payment", id: "payment", role: "region", "aria-label": tr("Phí, lệ phí", "Fees") },
      h("p", { class: "saved", id: "payment-state" }, tr(`Đã nộp phí, lệ phí ${vnd(data.fee_amount_vnd)} lúc ${longDateTime(data.paid_at)}.`,
        `Fees of ${vnd(data.fee_amount_vnd)} paid on ${longDateTime(data.paid_at)}.`)));
  }
  // A fee fixed at a field intake is paid while the dossier is received or processed (docs/payments.md).
  const intakeFee = Boolean(data.payment_qr && data.fee_fixed_at) &&
    [S.received, S.processing, S.supplement, S.result_ready].includes(dossier.status);
  if ((dossier.status !== S.payment && !intakeFee) || data.fee_amount_vnd === undefined) return "";
  const box = h("section", { class: "card payment", id: "payment", role: "region", "aria-label": tr("Nộp phí, lệ phí", "Pay the fees") },
    h("h2", {}, tr("Nộp phí, lệ phí", "Pay the fees")),
    h("p", {}, tr("Số tiền: ", "Amount: "), h("strong", { id: "payment-amount" }, vnd(data.fee_amount_vnd))));
  const { text, built } = paymentText(data);
  if (!text) {
    box.append(h("p", { class: "note" }, tr("Ông/Bà nộp phí, lệ phí tại bộ phận một cửa khi đến nhận kết quả hoặc theo hướng dẫn của cơ quan.",
      "Pay the fees at the one-stop desk, or as the office tells you.")));
    gatewayButton(box, dossier);
    return box;
  }
  box.append(...vietqrDetails(text, data.fee_amount_vnd, built, dossier.status === S.payment));
  gatewayButton(box, dossier);
  return box;
}
