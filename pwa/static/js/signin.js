// Signing in (#/signin) and creating an account (#/signup), in the app itself: a newcomer who opens the app first
// never needs the website. Both need a connection; drafting does not.
// A screen draws into the view through `screen` (app.js): paint(...nodes) only while its route is the latest,
// onRedraw(fn) for redrawing after a committed write, route(), scheduleSync(), sendNow(), view.
import { h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { requestSync, resetBackoff, session, status as syncStatus } from "./sync.js";

/** POST a JSON body with the CSRF token; the server's message (in the app's language) when it refuses. */
async function post(url, body) {
  const { csrf_token: csrf } = await session();
  const response = await fetch(url, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(lang === "en" ? answer.error.message_en : answer.error.message);
  return answer;
}

function accountForm(screen, { title, fields, button, send, failed, other }) {
  const error = h("p", { class: "error", hidden: true, role: "alert", id: "account-error" });
  screen.paint(h("h1", {}, title), h("form", { class: "stack", onsubmit: async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    try {
      await send(form);
      // Who is signed in now, kept for offline use (sync.js), before the header is drawn again.
      const { user } = await session();
      Object.assign(syncStatus, { user, signedIn: Boolean(user) });
      location.hash = "#/";
      resetBackoff();
      requestSync(); // asks who is signed in now, then sends what was drafted before
    } catch (problem) {
      error.textContent = problem instanceof TypeError ? t("signin_offline") : t(failed, { m: problem.message });
      error.hidden = false;
    }
  } }, error, ...fields, h("button", { type: "submit" }, button)), other);
}

const phoneField = () => [h("label", { for: "phone" }, t("phone")),
  h("input", { id: "phone", name: "phone", type: "tel", inputmode: "tel", autocomplete: "tel", required: true })];

export function showSignin(screen) {
  // Shown once the server says an identity provider is configured (GET /api/session "oidc"): a full-page
  // navigation to the provider, which sends the browser back to /app signed in (server/accounts/oidc.py).
  const viaProvider = h("p", { hidden: true }, h("a", { class: "button", id: "signin-oidc",
    href: "/auth/oidc/start?next=/app" }, t("signin_oidc")));
  accountForm(screen, { title: t("signin"), button: t("signin"), failed: "signin_failed",
    fields: [...phoneField(), h("label", { for: "password" }, t("password")),
      h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })],
    send: (form) => post("/api/session", { phone: form.get("phone"), password: form.get("password") }),
    other: h("div", {}, viaProvider,
      h("p", { id: "to-signup" }, t("no_account"), " ", h("a", { href: "#/signup" }, t("signup")))) });
  session().then((answer) => { viaProvider.hidden = !answer.oidc; }, () => {}); // offline: the form alone
}

export function showSignup(screen) {
  accountForm(screen, { title: t("signup_title"), button: t("signup"), failed: "signup_failed",
    fields: [h("label", { for: "full_name" }, t("full_name")),
      h("input", { id: "full_name", name: "full_name", autocomplete: "name", required: true, maxlength: 100 }),
      ...phoneField(),
      h("label", { for: "password" }, t("password")),
      h("input", { id: "password", name: "password", type: "password", autocomplete: "new-password", required: true,
        minlength: 8, "aria-describedby": "password-hint" }),
      h("small", { id: "password-hint" }, t("password_hint"))],
    // POST /api/accounts creates a citizen's account and signs this browser in (server/accounts/routes.py).
    send: (form) => post("/api/accounts", { full_name: form.get("full_name"), phone: form.get("phone"),
      password: form.get("password") }),
    other: h("p", {}, t("have_account"), " ", h("a", { href: "#/signin" }, t("signin"))) });
}
