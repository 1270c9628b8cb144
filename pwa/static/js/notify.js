// Push notifications and the in-app inbox (docs/push.md).
// Notifications are offered once the person has submitted a dossier (when hearing back matters), never on the
// first screen; the inbox (#/inbox) holds the same notices for phones without push and for anything missed.
import { formatDateTime } from "./dates.js";
import { meta } from "./db.js";
import { h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { requestSync, session, status as sync } from "./sync.js";

const OFFER_KEY = "motcua_push_offer"; // "later" or "done": asked once per phone
const INBOX_KEY = "motcua_inbox"; // the last inbox, shown offline; removed at sign-out
const UNREAD_EVERY = 60_000; // the header's count is fetched at most once a minute (and when a push arrives)

export const pushSupported = () =>
  typeof window !== "undefined" && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

async function send(method, url, body) {
  const { csrf_token: csrf } = await session();
  const response = await fetch(url, { method, credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined });
  const answer = response.headers.get("content-type")?.startsWith("application/json") ? await response.json() : {};
  if (!response.ok) throw new Error(answer.error ? (lang === "en" ? answer.error.message_en : answer.error.message) : String(response.status));
  return answer;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}

const fromBase64Url = (text) => {
  const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
};

const sameKey = (a, b) => a && b && a.byteLength === b.byteLength && new Uint8Array(a).every((x, i) => x === b[i]);

/** A name the person recognises in the list of devices: browser and system. */
function deviceLabel() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome"
    : /Safari\//.test(ua) ? "Safari" : "Trình duyệt";
  const system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows"
    : /Mac OS/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return system ? `${browser} · ${system}` : browser;
}

/** Ask permission, subscribe with the server's VAPID key and tell the server, for this phone. */
export async function subscribe() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error(t("push_denied"));
  const registration = await navigator.serviceWorker.ready;
  const key = fromBase64Url((await getJson("/api/push/key")).public_key);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options && subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe(); // made for another server key: it would be refused
    subscription = null;
  }
  if (!subscription) subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const saved = await send("POST", "/api/push/subscriptions",
    { ...subscription.toJSON(), device_id: (await meta("device_id")) || null, label: deviceLabel(), locale: lang });
  localStorage.setItem(OFFER_KEY, "done");
  return saved;
}

/** Stop push on this phone: the server forgets it, then the browser does. */
export async function unsubscribe() {
  const registration = await navigator.serviceWorker.getRegistration(); // not .ready: it may never be
  const subscription = registration && (await registration.pushManager.getSubscription());
  if (!subscription) return;
  try {
    const { items } = await getJson("/api/push/subscriptions");
    const mine = items.find((d) => d.endpoint === subscription.endpoint);
    if (mine) await send("DELETE", `/api/push/subscriptions/${mine.id}`);
  } finally {
    // Even when the server cannot be told: its next push meets 410 Gone and it forgets the subscription then.
    await subscription.unsubscribe();
  }
}

async function currentEndpoint() {
  if (!pushSupported()) return null;
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = registration && (await registration.pushManager.getSubscription());
  return subscription ? subscription.endpoint : null;
}

// -- the offer, after the first submit ------------------------------------------------------------------------

/** A banner above the view (so the redraw after submitting keeps it): turn notifications on, or later. */
export function offerAfterSubmit() {
  if (!pushSupported() || Notification.permission === "denied" || localStorage.getItem(OFFER_KEY)) return;
  if (Notification.permission === "granted") { subscribe().catch(() => {}); return; } // said yes before: just renew
  if (document.getElementById("push-offer")) return;
  const message = h("p", {}, t("push_offer"));
  const box = h("div", { id: "push-offer", class: "banner", role: "region", "aria-label": t("notices") }, message);
  const close = () => box.remove();
  const actions = h("div", { class: "actions" },
    h("button", { type: "button", id: "push-enable", onclick: async () => {
      actions.hidden = true;
      try {
        await subscribe();
        message.textContent = t("push_on");
      } catch (error) {
        message.textContent = t("push_failed", { m: error.message });
        localStorage.setItem(OFFER_KEY, "later");
      }
      box.append(h("button", { type: "button", class: "link", onclick: close }, t("close")));
    } }, t("push_enable")),
    h("button", { type: "button", class: "button secondary", id: "push-later", onclick: () => {
      localStorage.setItem(OFFER_KEY, "later");
      close();
    } }, t("push_later")));
  box.append(actions);
  document.getElementById("view").before(box);
}

// -- unread count in the header -------------------------------------------------------------------------------

let unread = 0;
let unreadAt = 0;

// The count is in the link's own name ("Thông báo, 3 chưa đọc"): a screen reader reads the link, not the badge.
const inboxName = () => (unread ? t("notices_unread", { n: unread }) : t("notices"));

function drawBadge() {
  const badge = document.getElementById("inbox-count");
  if (badge) { badge.textContent = unread ? String(unread) : ""; badge.hidden = !unread; }
  const link = document.getElementById("inbox-link");
  if (link) link.setAttribute("aria-label", inboxName());
}

async function refreshUnread(force = false) {
  if (!sync.user || (!force && Date.now() - unreadAt < UNREAD_EVERY)) return;
  unreadAt = Date.now();
  try {
    unread = (await getJson("/api/notices?limit=1")).unread;
  } catch (error) {
    return; // offline: the last count stays
  }
  drawBadge();
}

/** The header's link to the inbox, with the unread count once known. */
export function inboxLink() {
  const link = h("a", { href: "#/inbox", id: "inbox-link", "aria-label": inboxName() }, t("notices"), " ",
    h("span", { class: "badge", id: "inbox-count", hidden: !unread, "aria-hidden": "true" }, unread ? String(unread) : ""));
  refreshUnread();
  return link;
}

if (typeof navigator !== "undefined" && navigator.serviceWorker) {
  // The service worker says a notice arrived (sw.js) or a notification was tapped with the app open.
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (!event.data) return;
    // A notice means a dossier changed on the server: pull it, so the dossier it opens shows the new status.
    if (event.data.type === "notice" || event.data.type === "open") requestSync();
    if (event.data.type === "notice") refreshUnread(true);
    if (event.data.type === "open" && typeof event.data.url === "string") {
      const url = new URL(event.data.url, location.origin);
      if (url.origin === location.origin) location.hash = url.hash || "#/inbox";
    }
  });
}

// -- the inbox view -------------------------------------------------------------------------------------------

const when = formatDateTime; // dates.js: dd/mm/yyyy HH:mm whatever the browser's language

function noticeItem(notice, redraw) {
  const open = async (event) => {
    event.preventDefault();
    if (!notice.read_at) {
      try { await send("POST", `/api/notices/${notice.id}/read`); unread = Math.max(0, unread - 1); drawBadge(); } catch (e) { /* offline */ }
    }
    location.hash = new URL(notice.url || "/app#/inbox", location.origin).hash || "#/inbox";
    if (location.hash === "#/inbox") redraw();
  };
  return h("li", { class: "card notice" + (notice.read_at ? "" : " unread"), "data-id": notice.id },
    h("a", { href: new URL(notice.url || "/app#/inbox", location.origin).hash, onclick: open }, h("strong", {}, notice.title)),
    h("p", {}, notice.body),
    h("span", { class: "meta" }, when(notice.created_at) + (notice.read_at ? "" : " · " + t("unread")) + reachedBy(notice)));
}

/** " · Đã gửi qua Zalo": the channels that carried this notice (push, Zalo, SMS), when any did. */
function reachedBy(notice) {
  const reached = (notice.channels || []).filter((c) => c.status === "sent" || c.status === "delivered");
  return reached.length ? " · " + t("channels_reached", { c: reached.map((c) => t(`channel_name_${c.channel}`)).join(", ") }) : "";
}

async function devicesSection(redraw) {
  const box = h("section", { id: "devices" }, h("h2", {}, t("push_devices")));
  if (!pushSupported()) box.append(h("p", { class: "note" }, t("push_unsupported")));
  else {
    const here = await currentEndpoint();
    const problem = h("p", { class: "error", hidden: true, role: "alert" });
    const act = (work) => async () => {
      try { await work(); redraw(); } catch (error) { problem.textContent = t("push_failed", { m: error.message }); problem.hidden = false; }
    };
    box.append(here
      ? h("button", { type: "button", class: "button secondary", id: "push-off", onclick: act(unsubscribe) }, t("push_disable"))
      : h("button", { type: "button", id: "push-on", onclick: act(subscribe) }, t("push_enable")), problem);
  }
  try {
    const { items } = await getJson("/api/push/subscriptions");
    const here = await currentEndpoint();
    box.append(items.length ? h("ul", { class: "cards" }, items.map((d) => h("li", { class: "card device", "data-id": d.id },
      h("strong", {}, (d.label || t("push_device")) + (d.endpoint === here ? ` (${t("push_this_device")})` : "")),
      h("span", { class: "meta" }, d.last_success_at ? t("push_last", { t: when(d.last_success_at) }) : t("push_never")),
      h("button", { type: "button", class: "button secondary", onclick: async () => {
        await send("DELETE", `/api/push/subscriptions/${d.id}`).catch(() => {});
        if (d.endpoint === here) await unsubscribe().catch(() => {});
        redraw();
      } }, t("push_remove")))))
      : h("p", { class: "empty" }, t("push_none")));
  } catch (error) {
    // offline: the list needs the server
  }
  return box;
}

/** Zalo and SMS (docs/push.md "Channels"): shown when the province offers them; the person may stop either. */
async function channelsSection(redraw) {
  let choices;
  try { choices = await getJson("/api/account/channels"); } catch (error) { return ""; } // offline
  if (!choices.stoppable.length) return "";
  const box = h("section", { id: "channels" }, h("h2", {}, t("channels_title")), h("p", { class: "note" },
    choices.has_phone ? t("channels_hint") : t("channels_no_phone")));
  const problem = h("p", { class: "error", hidden: true, role: "alert" });
  const stopped = new Set(choices.stopped);
  for (const channel of choices.stoppable) {
    const input = h("input", { type: "checkbox", id: `channel-${channel}`, checked: !stopped.has(channel),
      disabled: !choices.has_phone, onchange: async () => {
        const next = new Set(stopped);
        if (input.checked) next.delete(channel); else next.add(channel);
        try { await send("PUT", "/api/account/channels", { stopped: [...next] }); redraw(); } catch (error) {
          input.checked = !input.checked;
          problem.textContent = t("channels_failed", { m: error.message });
          problem.hidden = false;
        }
      } });
    box.append(h("p", { class: "check" }, input, " ", h("label", { for: `channel-${channel}` }, t(`channel_${channel}`))));
  }
  box.append(problem);
  return box;
}

/** #/inbox: the notices, newest first, then this account's devices. Offline, the last copy. */
export async function inboxView(redraw) {
  let items;
  let saved = false;
  try {
    const answer = await getJson("/api/notices?limit=100");
    items = answer.items;
    unread = answer.unread;
    unreadAt = Date.now();
    drawBadge();
    localStorage.setItem(INBOX_KEY, JSON.stringify(items));
  } catch (error) {
    items = JSON.parse(localStorage.getItem(INBOX_KEY) || "null");
    saved = true;
  }
  const list = !items ? h("p", { class: "empty" }, t("notices_offline"))
    : items.length ? h("ul", { class: "cards", id: "notices" }, items.map((n) => noticeItem(n, redraw)))
      : h("p", { class: "empty" }, t("notices_none"));
  return [h("h1", {}, t("notices")), saved && items ? h("p", { class: "note" }, t("timeline_offline")) : "", list,
    sync.user ? await devicesSection(redraw) : "", sync.user ? await channelsSection(redraw) : ""];
}

/** Signing out on a shared phone: this phone stops receiving the account's notices, and the inbox copy goes. */
export async function signingOut() {
  localStorage.removeItem(INBOX_KEY);
  localStorage.removeItem(OFFER_KEY);
  unread = 0;
  unreadAt = 0;
  if (pushSupported()) await unsubscribe().catch(() => {});
}
