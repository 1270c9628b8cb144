// "Nhận hồ sơ nộp tại bộ phận một cửa" (#/claim): a citizen takes a dossier filed for them at the desk or in the
// field as their own. They type the dossier code from the receipt; the server sends a one-time code by SMS to the
// phone written on the dossier (never to a number typed here) and the screen says which (its last 3 digits); once
// the code is entered the dossier is theirs and arrives in "Hồ sơ của tôi" with the next sync
// (server/dossiers/claims.py, docs/pwa.md). It needs a connection; nothing of it is kept offline.
// A screen draws into the view through `screen` (app.js): paint(...nodes) only while its route is the latest.
import { h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { requestSync, resetBackoff, session, status as syncStatus } from "./sync.js";

/** POST JSON with the CSRF token; throws the server's sentence (in the app's language) when it refuses. */
async function post(url, body) {
  const { csrf_token: csrf } = await session();
  const response = await fetch(url, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = answer.error || {};
    throw new Error((lang === "en" ? error.message_en : error.message) || t("claim_failed"));
  }
  return answer;
}

const problemText = (problem) => (problem instanceof TypeError ? t("claim_offline") : problem.message);

export function showClaim(screen) {
  if (syncStatus.signedIn === false || (syncStatus.user && syncStatus.user.role !== "citizen")) {
    screen.paint(h("h1", {}, t("claim_title")), h("p", { id: "claim-signin" }, t("claim_signin"), " ",
      h("a", { href: "#/signin" }, t("signin"))));
    return;
  }
  askForCode(screen);
}

function askForCode(screen, code = "") {
  const error = h("p", { class: "error", hidden: true, role: "alert", id: "claim-error" });
  const button = h("button", { type: "submit", id: "claim-send" }, t("claim_send"));
  screen.paint(h("p", {}, h("a", { href: "#/" }, t("back_home"))),
    h("h1", {}, t("claim_title")), h("p", {}, t("claim_intro")),
    h("form", { class: "stack", id: "claim-form", onsubmit: async (e) => {
      e.preventDefault();
      const typed = new FormData(e.target).get("code").trim();
      button.disabled = true;
      try {
        const claim = await post("/api/claims", { code: typed });
        askForOneTimeCode(screen, typed, claim);
      } catch (problem) {
        error.textContent = problemText(problem);
        error.hidden = false;
        button.disabled = false;
      }
    } }, error,
    h("label", { for: "claim-code" }, t("claim_code")),
    h("input", { id: "claim-code", name: "code", required: true, maxlength: 64, autocomplete: "off",
      autocapitalize: "characters", spellcheck: "false", value: code, "aria-describedby": "claim-code-hint" }),
    h("small", { id: "claim-code-hint" }, t("claim_code_hint")),
    button));
}

function askForOneTimeCode(screen, code, claim) {
  const error = h("p", { class: "error", hidden: true, role: "alert", id: "claim-error" });
  const button = h("button", { type: "submit", id: "claim-confirm" }, t("claim_confirm"));
  screen.paint(h("h1", {}, t("claim_title")),
    h("p", { role: "status", id: "claim-sent" }, t("claim_sent", { p: claim.phone_hint })),
    h("form", { class: "stack", id: "claim-otp-form", onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      try {
        const dossier = await post(`/api/claims/${encodeURIComponent(claim.claim_id)}/confirm`,
          { code: new FormData(e.target).get("otp").trim() });
        // The dossier is the citizen's now: the next round pulls it into "Hồ sơ của tôi".
        resetBackoff();
        requestSync();
        screen.paint(h("h1", {}, t("claim_title")),
          h("p", { role: "status", id: "claim-done" }, t("claim_done", { c: dossier.code || code })),
          h("p", {}, h("a", { class: "button", href: "#/", id: "claim-to-home" }, t("my_dossiers"))));
      } catch (problem) {
        error.textContent = problemText(problem);
        error.hidden = false;
        button.disabled = false;
        e.target.elements.otp.select();
      }
    } }, error,
    h("label", { for: "claim-otp" }, t("claim_otp")),
    h("input", { id: "claim-otp", name: "otp", required: true, inputmode: "numeric", pattern: "[0-9]{6}",
      maxlength: 6, autocomplete: "one-time-code" }),
    button),
    h("p", {}, h("button", { type: "button", class: "link", id: "claim-again", onclick: () => askForCode(screen, code) },
      t("claim_again"))));
}
