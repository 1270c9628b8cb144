// Rating the service once the result is returned (đánh giá mức độ hài lòng; docs/workflow.md "Ratings"):
// three choices, a reason required for "không hài lòng" (checked here and by the server). Sent online only: a rating
// is asked and answered at once (GET/POST /api/dossiers/{id}/rating), there is nothing to draft.
import { h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { session } from "./sync.js";
import { S } from "./workflow.js";

const VALUES = ["very_satisfied", "satisfied", "unsatisfied"];

class Offline extends Error {}

async function call(method, url, body) {
  let response;
  try {
    const headers = { "Content-Type": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = (await session()).csrf_token;
    response = await fetch(url, { method, headers, credentials: "same-origin", cache: "no-store", body: body && JSON.stringify(body) });
  } catch (error) {
    throw new Offline();
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = payload.error || {};
    throw new Error((lang === "en" && e.message_en) || e.message || String(response.status));
  }
  return payload;
}

/** The rating box of a returned dossier that the server has; "" for any other dossier. */
export function ratingBox(dossier) {
  if (dossier.status !== S.returned || !dossier.replica) return "";
  const url = `/api/dossiers/${encodeURIComponent(dossier.id)}/rating`;
  const box = h("section", { class: "card rating", id: "rating", "aria-labelledby": "rating-title" });
  const title = () => h("h2", { id: "rating-title" }, t("rate_title"));
  const show = (...nodes) => box.replaceChildren(title(), ...nodes);
  const thanks = (rating) => show(h("p", { class: "saved", id: "rating-done" },
    t("rate_thanks"), ": ", h("strong", {}, t("rate_" + rating.value))),
    rating.reason ? h("p", { class: "note" }, rating.reason) : "");
  const problem = (error) => h("p", { class: error instanceof Offline ? "note" : "error", id: "rating-error", role: "alert" },
    error instanceof Offline ? t("rate_offline") : error.message);

  function form() {
    const reasonError = h("p", { class: "error", id: "rating-reason-error", role: "alert", hidden: true });
    const sent = h("div");
    const reason = h("textarea", { id: "rating-reason", name: "reason", rows: 3, maxlength: 1000,
      "aria-describedby": "rating-reason-error" });
    const choices = VALUES.map((value) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "rating", value, required: true }), " ", t("rate_" + value)));
    return h("form", { class: "stack", novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const value = (e.target.querySelector("input[name=rating]:checked") || {}).value;
      const text = reason.value.trim();
      reasonError.hidden = true;
      sent.replaceChildren();
      if (!value) { reasonError.textContent = t("rate_choose"); reasonError.hidden = false; return; }
      if (value === "unsatisfied" && !text) {
        reasonError.textContent = t("rate_reason_needed");
        reasonError.hidden = false;
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      reason.removeAttribute("aria-invalid");
      const button = e.target.querySelector("button");
      button.disabled = true;
      try {
        thanks(await call("POST", url, { value, reason: text || null }));
      } catch (error) {
        button.disabled = false;
        sent.replaceChildren(problem(error));
      }
    } }, h("fieldset", {}, h("legend", {}, t("rate_question")), choices),
    h("label", { for: "rating-reason" }, t("rate_reason")), reason, reasonError, sent,
    h("button", { type: "submit", id: "rating-send" }, t("rate_send")));
  }

  show(h("p", { class: "note" }, "…"));
  call("GET", url).then(({ rating, can_rate: canRate }) => {
    if (rating) thanks(rating);
    else if (canRate) show(form());
    else box.remove();
  }).catch((error) => show(problem(error)));
  return box;
}
