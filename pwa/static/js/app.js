// The app's start-up and routing (docs/pwa.md): the header with the sync indicator, the hash routes and the screens
// they draw (home.js, dossier.js, outbox-view.js, signin.js; the officers' screens on demand), sync triggers and
// the service worker. Everything works offline.
import { refreshCatalog } from "./catalog.js";
import { changed, meta, readAll, tx } from "./db.js";
import { formatDate, formatDateTime, formatTime } from "./dates.js";
import { $, h } from "./dom.js";
import { forgetTimelines, showDossier, warmDossierScreens } from "./dossier.js";
import { showHome, showProcedure } from "./home.js";
import { lang, pick, setLang, t } from "./i18n.js";
import { inboxLink, inboxView, signingOut } from "./notify.js";
import { OFFICER_ROLES, prepareOfficer, savedUser } from "./officer.js";
import { describeChanges, showOutbox, waitingCount } from "./outbox-view.js";
import { clearPages, pagesChanged } from "./attachments.js";
import { events as syncEvents, requestSync, resetBackoff, restoreSession, session, status as sync } from "./sync.js";
import { resetUploadBackoff, uploadPages } from "./upload.js";
import { loadWorkflow, refreshWorkflow } from "./workflow.js";
// The officers' screens are loaded on demand: a citizen's phone never downloads them (docs/pwa.md, "Officers").
const officerScreens = () => Promise.all([import("./intake.js"), import("./queue.js"), import("./receipt.js")])
  .then(([intake, queue, receipt]) => ({ ...intake, ...queue, ...receipt }));
// Screens a citizen opens only online (signing in or up, claiming a desk dossier) load at first use too: they are
// not precached, so a first visit does not download them (docs/pwa.md, "What a first visit downloads"). Once
// opened, the worker keeps them (cacheFirst); never opened, offline, the screen says the network is needed.
async function onlineScreen(load, show, offlineKey) {
  const gen = routeGen;
  let module;
  try {
    module = await load();
  } catch (error) {
    paint(gen, h("p", { class: "note", role: "status", id: "needs-network" }, t(offlineKey)));
    return;
  }
  if (gen === routeGen) show(module, screen());
}

const view = $("#view");
let redrawView = null; // the current view's own refresh after a committed write, if it has one
// route() may be called again before a slow view has drawn (a reload, then a tap): only the latest may draw.
let routeGen = 0;
const paint = (gen, ...nodes) => {
  if (gen !== routeGen) return false;
  // replaceChildren writes a null as the text "null": a screen's optional parts (`cond ? node : null`) are dropped.
  view.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined && node !== false));
  return true;
};

/** What a screen draws with: its route's paint and redraw, and the app's triggers. */
function screen() {
  const gen = routeGen;
  return {
    view, route, scheduleSync, sendNow,
    paint: (...nodes) => paint(gen, ...nodes),
    onRedraw: (redraw) => { if (gen === routeGen) redrawView = redraw; },
  };
}

// -- header: sync indicator, banners ------------------------------------------------------------------------

// Today: the time only; an earlier day: the date too (dates.js: dd/mm/yyyy, 24 h, whatever the browser's language).
const timeOf = (ms) => (formatDate(ms) === formatDate(Date.now()) ? formatTime(ms) : formatDateTime(ms));

async function drawHeader() {
  const waiting = await waitingCount(); // dossiers with changes or pages not sent yet, as the outbox screen lists them
  const lastSuccess = sync.lastSuccess || (await meta("last_success"));
  // On a 360 px phone the bar is one line beside "Gửi ngay"; what must be read (an error, the sign-in hint) gets a
  // line of its own. Offline, the banner already says why nothing goes, so a network error is not repeated.
  const notes = [];
  if (sync.lastError && sync.reachable !== false) notes.push(h("span", { class: "sync-error", role: "status" }, pick(sync.lastError)));
  if (sync.signedIn === false) notes.push(h("a", { href: "#/signin" }, t("signin_needed")));
  $("#sync").replaceChildren(h("div", { class: "sync-text" },
    h("span", { class: "waiting", id: "waiting" }, t("sync_waiting", { n: waiting })),
    h("span", { class: "last" }, lastSuccess ? t("sync_last", { t: timeOf(lastSuccess) }) : t("sync_never"))),
  h("button", { type: "button", id: "send-now", disabled: sync.running,
    onclick: () => { resetBackoff(); requestSync(); } }, sync.running ? t("sending") : t("send_now")),
  ...(notes.length ? [h("div", { class: "sync-notes" }, notes)] : []));
  $("#offline").hidden = sync.reachable !== false;
  $("#offline").textContent = t("offline");
  // The header is one row: the name, the notices (with their unread count) and the menu with everything else.
  $("#header-notices").replaceChildren(...(sync.user ? [inboxLink()] : [])); // notify.js
  $("#menu-label").textContent = t("menu");
  $("#account").setAttribute("aria-label", t("menu"));
  // The menu is drawn again only when what it holds changes: a sync round must not take the focus out of it.
  const officers = await officerLinks();
  const holds = JSON.stringify([officers.map((link) => link.id), Boolean(sync.user), sync.user && sync.user.role, lang]);
  if ($("#account").dataset.holds === holds) return;
  $("#account").dataset.holds = holds;
  // The officers' links come first, as they did in the old header's row.
  $("#account").replaceChildren(
    ...officers,
    h("a", { href: "#/", id: "nav-home" }, t("my_dossiers")),
    // A citizen takes a dossier filed for them at the desk or in the field (claim.js).
    ...(sync.user && sync.user.role === "citizen" ? [h("a", { href: "#/claim", id: "nav-claim" }, t("claim_menu"))] : []),
    h("a", { href: "#/outbox", id: "nav-outbox" }, t("outbox")),
    h("a", { href: "/track", id: "nav-track" }, t("track")),
    // notify.js: the inbox holds the devices and the Zalo/SMS choices (docs/push.md "Channels")
    ...(sync.user ? [h("a", { href: "#/inbox", id: "nav-channels" }, t("menu_channels"))] : []),
    ...(sync.user ? [h("button", { type: "button", class: "link", id: "signout", onclick: signOut }, t("signout"))]
      : [h("a", { href: "#/signin", id: "nav-signin" }, t("signin")), h("a", { href: "#/signup", id: "nav-signup" }, t("signup"))]),
    h("button", { type: "button", class: "link", id: "nav-language", lang: lang === "vi" ? "en" : "vi",
      onclick: () => { setLang(lang === "vi" ? "en" : "vi"); drawHeader(); route(); } }, t("language")));
}

// -- the menu: a button that opens the navigation; Escape, a tap outside or a choice in it closes it ----------

function setMenu(open, { focusButton = false } = {}) {
  const button = $("#menu-button");
  button.setAttribute("aria-expanded", String(open));
  $("#account").hidden = !open;
  if (open) { const first = $("#account a, #account button"); if (first) first.focus(); }
  if (!open && focusButton) button.focus();
}

function menuEvents() {
  const button = $("#menu-button");
  const menu = $("#account");
  button.addEventListener("click", () => setMenu(button.getAttribute("aria-expanded") !== "true"));
  // A choice in the menu closes it (after its own click handler has run: signing out, the language).
  menu.addEventListener("click", (e) => { if (e.target.closest("a, button")) setMenu(false); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !menu.hidden) { e.preventDefault(); setMenu(false, { focusButton: true }); }
  });
  document.addEventListener("click", (e) => { if (!menu.hidden && !e.target.closest(".app-top")) setMenu(false); });
  window.addEventListener("hashchange", () => setMenu(false));
}

// Officers (known from the last session seen online, so offline too) get the queue and, at intake, field intake.
async function officerLinks() {
  const user = sync.user || (sync.signedIn === false ? null : await savedUser());
  if (!user || !OFFICER_ROLES.has(user.role)) return [];
  return [h("a", { href: "#/queue", id: "nav-queue" }, t("queue")),
    user.role === "intake" ? h("a", { href: "#/intake", id: "nav-intake" }, t("field_intake")) : null].filter(Boolean);
}


let signOutArmed = false;
async function signOut() {
  const unsent = (await readAll("outbox")).sort((a, b) => a.seq - b.seq);
  if (unsent.length && !signOutArmed) {
    signOutArmed = true;
    const lost = await describeChanges(unsent); // one line per dossier
    view.prepend(h("div", { class: "error", role: "alert", id: "signout-warning" },
      h("p", {}, t("signout_unsent", { n: lost.length })),
      h("ul", {}, lost.map((text) => h("li", {}, text)))));
    return;
  }
  signOutArmed = false;
  let viaProvider = false;
  try {
    await signingOut(); // notify.js: this phone stops receiving the account's notices
    const { csrf_token: csrf, oidc } = await session();
    viaProvider = Boolean(oidc);
    const response = await fetch("/api/session", { method: "DELETE", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
  } catch (error) {
    view.prepend(h("p", { class: "error", role: "alert" }, t("signin_offline")));
    return;
  }
  // A shared phone: what was synced for this account leaves with it (the catalog stays, it is public).
  await tx(["dossiers", "outbox", "conflicts", "attachments", "meta"], "readwrite", async (s) => {
    await s.dossiers.clear(); await s.outbox.clear(); await s.conflicts.clear(); await s.attachments.clear();
    for (const key of ["device_id", "seq", "cursor", "lost", "user_id", "last_success", "session"]) await s.meta.delete(key);
    for (const key of ["officer_user", "code_blocks", "intake_draft"]) await s.meta.delete(key); // officer.js, intake.js
  });
  await clearPages();
  forgetTimelines();
  Object.assign(sync, { user: null, signedIn: false, lastSuccess: null });
  // With an identity provider, /auth/oidc/signout ends its session too (when this browser signed in through it).
  if (viaProvider) {
    location.assign("/auth/oidc/signout");
    return;
  }
  location.hash = "#/";
  drawHeader();
}

// -- routes: each screen in its module; the receipt, an officers' screen, drawn here as it redraws on sync ------

async function showReceipt(id) {
  const gen = routeGen;
  let drawing = 0; // draws overlap: only the latest may paint
  const draw = async () => {
    const mine = ++drawing;
    const nodes = await (await officerScreens()).receiptView(id);
    if (mine === drawing) paint(gen, ...nodes);
  };
  // The server's final code and appointment replace the device's once synced. Listening before the first read
  // means a sync round that ends while the receipt is being drawn is not missed.
  let pending = null;
  const onChange = () => {
    if (gen !== routeGen) { changed.removeEventListener("change", onChange); return; }
    clearTimeout(pending);
    pending = setTimeout(draw, 50);
  };
  changed.addEventListener("change", onChange);
  await draw();
}

async function route() {
  routeGen += 1;
  redrawView = null;
  signOutArmed = false; // the warning belongs to the screen it was shown on
  const [, kind, arg] = (location.hash || "#/").match(/^#\/(\w*)\/?(.*)$/) || [];
  if (kind === "p") await showProcedure(screen(), decodeURIComponent(arg));
  else if (kind === "d") await showDossier(screen(), arg);
  else if (kind === "signin") await onlineScreen(() => import("./signin.js"), (m, s) => m.showSignin(s), "signin_offline");
  else if (kind === "signup") await onlineScreen(() => import("./signin.js"), (m, s) => m.showSignup(s), "signin_offline");
  else if (kind === "claim") await onlineScreen(() => import("./claim.js"), (m, s) => m.showClaim(s), "claim_offline");
  else if (kind === "outbox") await showOutbox(screen());
  else if (kind === "inbox") { const gen = routeGen; paint(gen, ...(await inboxView(() => { if (gen === routeGen) route(); }))); }
  else if (kind === "queue") await (await officerScreens()).queueView(routeGen, paint, sync.user);
  else if (kind === "intake") {
    await (await officerScreens()).intakeView(routeGen, paint, { liveUser: sync.user, onIssued: (id) => { location.hash = `#/receipt/${id}`; sendNow(); },
      onChecked: () => { location.hash = "#/queue"; sendNow(); } });
  }
  else if (kind === "receipt") await showReceipt(arg);
  else await showHome(screen());
}

// -- sync triggers ------------------------------------------------------------------------------------------

let syncTimer = null;
// A choice the person made on purpose (a conflict resolved) goes now, whatever backoff earlier failures built up.
function sendNow() {
  resetBackoff();
  requestSync();
}

// A change made here goes in this page's next round: one request. Background Sync is asked for only when the page
// cannot send it itself: a round failed (sync.js retryLater) or the app is hidden or closed with changes waiting
// (below). Registering it at every change made the service worker send a round of its own too, and then tell the
// page to run another: three requests for one edit.
function scheduleSync() {
  clearTimeout(syncTimer);
  syncTimer = setTimeout(requestSync, 1500);
}

async function handOverToWorker() {
  if (!navigator.serviceWorker || !(await readAll("outbox")).length) return;
  navigator.serviceWorker.ready.then((r) => r.sync && r.sync.register("motcua-outbox")).catch(() => {});
}

// What officers did reaches an open app: at once on a push (notify.js), when the app comes back to the
// foreground, and every minute while it is open, visible and online (a pull with nothing new is ~300 bytes).
const PULL_EVERY_MS = 60_000;
const online = () => navigator.onLine !== false;
function pullWhileOpen() {
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) handOverToWorker();
    else if (online()) requestSync();
  });
  window.addEventListener("pagehide", handOverToWorker);
  setInterval(() => { if (!document.hidden && online()) requestSync(); }, PULL_EVERY_MS);
}

// -- service worker: install, and offer a new release -------------------------------------------------------

function offerUpdate(worker) {
  const banner = $("#update");
  banner.replaceChildren(h("button", { type: "button", class: "link", onclick: () => {
    reloading = true;
    worker.postMessage({ type: "skip-waiting" });
  } }, t("update")));
  banner.hidden = false;
}

let reloading = false;
async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  // A module worker: it imports sync.js to send the outbox by Background Sync with no page open.
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
  if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
    });
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => { if (reloading) location.reload(); });
  navigator.serviceWorker.addEventListener("message", (e) => { if (e.data && e.data.type === "sync-now") requestSync(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) registration.update().catch(() => {}); });
}

async function main() {
  document.documentElement.lang = lang;
  let pending = null;
  changed.addEventListener("change", () => {
    clearTimeout(pending);
    pending = setTimeout(() => { drawHeader(); if (redrawView) redrawView(); }, 50);
  });
  syncEvents.addEventListener("status", drawHeader);
  let pagesPending = null; // a page added or sent changes the header's count of dossiers waiting
  pagesChanged.addEventListener("change", () => { clearTimeout(pagesPending); pagesPending = setTimeout(drawHeader, 50); });
  // Pages go up after each sync round: the round may just have created their dossier on the server.
  syncEvents.addEventListener("status", () => { if (!sync.running && sync.reachable) uploadPages(); });
  // Officers: who is signed in (for offline), the working calendar and reserved dossier codes (officer.js).
  syncEvents.addEventListener("status", () => {
    if (sync.running || !sync.reachable) return;
    // While online, an officer's phone fetches its screens (kept by the service worker) before reserving codes,
    // so that once the codes are there, field intake works offline.
    const user = sync.user;
    const warm = user && OFFICER_ROLES.has(user.role) ? officerScreens().catch(() => {}) : Promise.resolve();
    warm.then(() => prepareOfficer(user));
    warmDossierScreens(); // a dossier now at the payment step or returned: its boxes' modules, kept for offline
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => { resetBackoff(); resetUploadBackoff(); requestSync(); refreshCatalog(); refreshWorkflow(); });
  window.addEventListener("offline", () => requestSync()); // a real request decides, not the event
  await loadWorkflow(); // status names and steps (workflow.js), before anything is drawn
  await restoreSession(); // who is signed in, known offline too (sync.js)
  menuEvents();
  await drawHeader();
  await route();
  registerWorker().catch(() => {});
  pullWhileOpen();
  const hadCatalog = (await readAll("procedures")).length > 0;
  // The first visit shows the catalog as soon as its list is stored, while the sync round and the forms follow.
  const showCatalog = async () => { if (!hadCatalog && (!location.hash || location.hash === "#/")) await route(); };
  await Promise.all([requestSync(), refreshCatalog({ onIndex: showCatalog })]);
  document.body.dataset.ready = "1";
}

main();
