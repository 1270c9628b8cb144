// The citizen's side of a supplement (yêu cầu bổ sung) and the way to a dossier's printable documents
// (docs/workflow.md "Supplements", docs/documents.md). The reason comes from the timeline (the request's note);
// sending is a command in the outbox, so it works offline like submitting.
import { readAll } from "./db.js";
import { h } from "./dom.js";
import { t, tr } from "./i18n.js";
import { sendSupplement } from "./outbox.js";
import { S } from "./workflow.js";

const substatusOf = (dossier) => (dossier && dossier.replica && dossier.replica.data.substatus) || null;

/**
 * Where a supplement stands on this phone: "requested" (to do), "queued" (sent from here, waiting in the outbox),
 * "sent" (the server has it) or null (no supplement). A rejected send leaves the outbox, so it is "requested" again.
 */
export function supplementState(dossier, outbox) {
  if (!dossier || dossier.status !== S.supplement) return null;
  if (outbox.some((m) => m.entity_id === dossier.id && m.command === "send_supplement")) return "queued";
  return substatusOf(dossier) === "sent" ? "sent" : "requested";
}

/** The owner may still correct the form and pages: asked for a supplement and not sent yet (not even queued). */
export async function supplementOpen(dossier) {
  return supplementState(dossier, await readAll("outbox")) === "requested" && substatusOf(dossier) === "requested";
}

/** The latest request's "what is missing", from the timeline's items (GET /api/dossiers/{id}/events). */
export function supplementReason(items) {
  const asked = (items || []).filter((e) => e.action === "request_supplement");
  return asked.length ? asked[asked.length - 1].note || "" : "";
}

/**
 * The box of a dossier whose supplement is requested: what the office asks for and the "Gửi bổ sung" button, or, once sent, that
 * the office is reviewing it. `validate()` returns how many errors the form has (and shows them); nothing is sent
 * while there are any. `showReason(items)` fills the reason in when the timeline arrives.
 */
export async function supplementBox(dossier, { onSent, validate = () => 0 }) {
  const state = supplementState(dossier, await readAll("outbox"));
  if (!state) return { element: "", state, showReason: () => {} };
  const reason = h("span", { class: "reason", id: "supplement-reason" }, "…");
  const asked = h("p", {}, h("strong", {}, t("supplement_asked") + ": "), reason);
  const box = h("section", { class: "card supplement", id: "supplement", role: "region", "aria-label": t("supplement_asked") }, asked);
  if (state === "queued") {
    box.append(h("p", { class: "saved", id: "supplement-state" }, t("supplement_queued")));
  } else if (state === "sent") {
    box.append(h("p", { class: "saved", id: "supplement-state" }, t("supplement_sent")));
  } else {
    // The whole form is checked before sending, as before submitting; the server checks it again.
    const problem = h("p", { class: "error", id: "supplement-errors", role: "alert", hidden: true });
    box.append(h("p", { class: "note" }, t("supplement_hint")), problem,
      h("button", { type: "button", id: "send-supplement", onclick: async (e) => {
        const errors = validate();
        problem.hidden = !errors;
        if (errors) { problem.textContent = t("fix_errors", { n: errors }); return; }
        e.target.disabled = true;
        await sendSupplement(dossier.id);
        onSent();
      } }, t("supplement_send")));
  }
  const showReason = (items) => {
    const text = supplementReason(items);
    if (text) reason.textContent = text;
  };
  return { element: box, state, showReason };
}

/** Links to the documents that apply (docs/documents.md), opened from the server; they need a connection. */
export function documentLinks(dossier) {
  const data = (dossier.replica && dossier.replica.data) || {};
  const base = `/dossiers/${encodeURIComponent(dossier.id)}/documents/`;
  const kinds = [];
  if (data.code && data.received_at && dossier.status !== S.refused) kinds.push(["receipt", t("doc_receipt")]);
  if (dossier.status === S.supplement) kinds.push(["supplement_request", t("doc_supplement_request")]);
  if (dossier.status === S.refused) kinds.push(["refusal", t("doc_refusal")]);
  if (data.paid_at) kinds.push(["payment_receipt", tr("Xác nhận đã nộp phí, lệ phí", "Confirmation of payment")]);
  if (!kinds.length) return "";
  const link = (href, text, id) => h("a", { href, id, target: "_blank", rel: "noopener" }, text);
  return h("section", { class: "documents-links", id: "documents-links" }, h("h2", {}, t("doc_title")),
    h("ul", {}, kinds.map(([kind, name]) => h("li", {}, name, ": ",
      link(base + kind, t("doc_print"), `doc-${kind}`), " · ", link(base + kind + ".pdf", "PDF", `doc-${kind}-pdf`)))),
    h("p", { class: "note" }, t("doc_online")));
}

/** The public tracking page (tra cứu hồ sơ): by code and four digits, no sign-in. */
export const trackLink = () => h("p", { class: "track-link" }, h("a", { href: "/track", id: "track-link" }, t("track")));
