// The app shell: catalog, drafting and sending dossiers, all usable offline (docs/pwa.md).
import { canonical, changed, meta, read, readAll, tx } from "./db.js";
import { todayInVietnam, validate } from "./forms.js";
import { formEditor, h } from "./formview.js";
import { lang, pick, setLang, statusName, t } from "./i18n.js";
import { deleteDraft, discardMutation, resolveConflict, saveDraft, startDraft, submitDossier } from "./outbox.js";
import { events as syncEvents, requestSync, resetBackoff, session, status as sync } from "./sync.js";
import { fold } from "./vietnamese.js";
import { clearPages, deletePagesOf, pagesEditor } from "./pages.js";
import { progress as uploadProgress, resetUploadBackoff, uploadPages } from "./upload.js";
import { OFFICER_ROLES, prepareOfficer, savedUser } from "./officer.js";
// The officers' screens are loaded on demand: a citizen's phone never downloads them (docs/pwa.md, "Officers").
const officerScreens = () => Promise.all([import("./intake.js"), import("./queue.js"), import("./receipt.js")])
  .then(([intake, queue, receipt]) => ({ ...intake, ...queue, ...receipt }));
import { inboxLink, inboxView, offerAfterSubmit, signingOut } from "./notify.js";
import { documentLinks, supplementBox, supplementOpen, supplementState, trackLink } from "./supplement.js";
import { reusePanel } from "./reuse.js";
import { ratingBox } from "./rating.js";

const view = document.getElementById("view");
const SEARCH_SHOWN = 50;
let query = "";
let redrawView = null; // the current view's own refresh after a committed write, if it has one
// route() may be called again before a slow view has drawn (a reload, then a tap): only the latest may draw.
let routeGen = 0;
const paint = (gen, ...nodes) => {
  if (gen !== routeGen) return false;
  view.replaceChildren(...nodes);
  return true;
};

// -- data from the server, kept in IndexedDB ---------------------------------------------------------------

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

const FORMS_PER_REQUEST = 100; // the server's maximum (GET /api/procedures/forms): ~2.5 KB of codes in the URL

// The catalog list (and the units) first: the person can search as soon as it is stored. Then the forms.
async function refreshCatalog({ onIndex = () => {} } = {}) {
  try {
    const { items } = await fetchJson("/api/procedures?limit=1000");
    await tx(["procedures"], "readwrite", async (s) => {
      await s.procedures.clear();
      for (const p of items) await s.procedures.put({ ...p, key: fold(`${p.code} ${p.name} ${p.field}`) });
    });
    await onIndex();
    // Communes for addresses; provinces (and districts, where a date still has them) for the receiving office.
    const communeList = await fetchJson("/api/units?level=commune&limit=1000");
    const upper = await fetchJson("/api/units?level=province,district&limit=1000");
    await tx(["units"], "readwrite", async (s) => {
      await s.units.clear();
      for (const u of [...communeList.items, ...upper.items]) {
        await s.units.put({ code: u.code, name: u.name, level: u.level, parent: u.parent, key: fold(`${u.name} ${u.code}`) });
      }
    });
    // Every procedure's form, so that any of them can be drafted offline; only those that changed, many per
    // request (one compressed answer instead of a request each).
    const have = new Map((await readAll("details")).map((d) => [d.code, d.version]));
    const stale = items.filter((p) => have.get(p.code) !== p.version).map((p) => p.code);
    for (let i = 0; i < stale.length; i += FORMS_PER_REQUEST) {
      const codes = stale.slice(i, i + FORMS_PER_REQUEST).map(encodeURIComponent).join(",");
      const { items: details } = await fetchJson(`/api/procedures/forms?codes=${codes}`);
      await tx(["details"], "readwrite", async (s) => { for (const detail of details) await s.details.put(detail); });
    }
  } catch (error) {
    // Offline or the server is away: the cached catalog stays; the sync indicator says why.
  }
}

const byName = (a, b) => a.name.localeCompare(b.name, "vi");

async function communes() {
  // Units stored before levels were kept are communes (the app asked for communes only).
  return (await readAll("units")).filter((u) => !u.level || u.level === "commune").sort(byName);
}

/**
 * The offices that may receive a procedure: the units of its level (a province-level procedure goes to the
 * province, a commune-level one to a commune); communes when this phone has no unit of that level.
 */
async function receivingOffices(level) {
  const units = await readAll("units");
  const ofLevel = units.filter((u) => (u.level || "commune") === (level || "commune")).sort(byName);
  return { offices: ofLevel.length ? ofLevel : units.filter((u) => !u.level || u.level === "commune").sort(byName), units };
}

/** The unit of `level` that contains the commune `code` (the commune itself at commune level). */
function officeFor(code, level, units) {
  const byCode = new Map(units.map((u) => [u.code, u]));
  for (let unit = byCode.get(code); unit; unit = byCode.get(unit.parent)) {
    if ((unit.level || "commune") === (level || "commune")) return unit.code;
  }
  return "";
}

// -- header: sync indicator, banners ------------------------------------------------------------------------

const timeOf = (ms) => new Date(ms).toLocaleTimeString(lang === "en" ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit" });

async function drawHeader() {
  const waiting = (await readAll("outbox")).length;
  const lastSuccess = sync.lastSuccess || (await meta("last_success"));
  const parts = [h("span", { class: "waiting", id: "waiting" }, t("sync_waiting", { n: waiting })),
    h("span", {}, lastSuccess ? t("sync_last", { t: timeOf(lastSuccess) }) : t("sync_never"))];
  if (sync.lastError) parts.push(h("span", { class: "sync-error", role: "status" }, pick(sync.lastError)));
  if (sync.signedIn === false) parts.push(h("a", { href: "#/signin" }, t("signin_needed")));
  document.getElementById("sync").replaceChildren(h("div", { class: "sync-text" }, parts),
    h("button", { type: "button", id: "send-now", disabled: sync.running,
      onclick: () => { resetBackoff(); requestSync(); } }, sync.running ? t("sending") : t("send_now")));
  document.getElementById("offline").hidden = sync.reachable !== false;
  document.getElementById("offline").textContent = t("offline");
  const account = document.getElementById("account");
  account.replaceChildren(
    sync.user ? h("button", { type: "button", class: "link", id: "signout", onclick: signOut }, t("signout"))
      : h("a", { href: "#/signin" }, t("signin")),
    h("a", { href: "#/outbox" }, t("outbox")),
    ...(sync.user ? [inboxLink()] : []), // notify.js: the inbox, with its unread count
    ...(await officerLinks()),
    h("button", { type: "button", class: "link", lang: lang === "vi" ? "en" : "vi",
      onclick: () => { setLang(lang === "vi" ? "en" : "vi"); drawHeader(); route(); } }, t("language")));
}

// Officers (known from the last session seen online, so offline too) get the queue and, at intake, field intake.
async function officerLinks() {
  const user = sync.user || (sync.signedIn === false ? null : await savedUser());
  if (!user || !OFFICER_ROLES.has(user.role)) return [];
  return [h("a", { href: "#/queue", id: "nav-queue" }, t("queue")),
    user.role === "intake" ? h("a", { href: "#/intake", id: "nav-intake" }, t("field_intake")) : null].filter(Boolean);
}

// What an outbox mutation would lose if dropped, in the person's words: the dossier and its fields or command.
async function describeChanges(mutations) {
  const dossiers = new Map((await readAll("dossiers")).map((d) => [d.id, d]));
  const details = new Map((await readAll("details")).map((d) => [d.code, d]));
  return mutations.map((m) => {
    const dossier = dossiers.get(m.entity_id);
    const detail = dossier && details.get(dossier.procedure_code);
    const label = (field) => {
      const name = field.startsWith("form.") ? field.slice(5) : field;
      const f = detail && detail.form.fields.find((x) => x.name === name);
      return f ? pick(f.label) : name;
    };
    const what = m.command === "submit" ? t("submit").toLowerCase() : m.op === "command" ? t("change_command", { c: m.command })
      : m.op === "create" ? t("change_create")
      : m.op === "resolve" ? t("change_resolve")
      : Object.keys(m.changes || {}).map(label).join(", ");
    const name = dossier ? dossier.procedure_name || dossier.procedure_code : m.entity_id;
    return `${name}: ${what}`;
  });
}

let signOutArmed = false;
async function signOut() {
  const unsent = (await readAll("outbox")).sort((a, b) => a.seq - b.seq);
  if (unsent.length && !signOutArmed) {
    signOutArmed = true;
    view.prepend(h("div", { class: "error", role: "alert", id: "signout-warning" },
      h("p", {}, t("signout_unsent", { n: unsent.length })),
      h("ul", {}, (await describeChanges(unsent)).map((text) => h("li", {}, text)))));
    return;
  }
  signOutArmed = false;
  try {
    await signingOut(); // notify.js: this phone stops receiving the account's notices
    const { csrf_token: csrf } = await session();
    const response = await fetch("/api/session", { method: "DELETE", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
  } catch (error) {
    view.prepend(h("p", { class: "error", role: "alert" }, t("signin_offline")));
    return;
  }
  // A shared phone: what was synced for this account leaves with it (the catalog stays, it is public).
  await tx(["dossiers", "outbox", "conflicts", "meta"], "readwrite", async (s) => {
    await s.dossiers.clear(); await s.outbox.clear(); await s.conflicts.clear();
    for (const key of ["device_id", "seq", "cursor", "lost", "user_id", "last_success"]) await s.meta.delete(key);
    for (const key of ["officer_user", "code_blocks", "intake_draft"]) await s.meta.delete(key); // officer.js, intake.js
  });
  await clearPages();
  forgetTimelines();
  Object.assign(sync, { user: null, signedIn: false, lastSuccess: null });
  location.hash = "#/";
  drawHeader();
}

// -- views --------------------------------------------------------------------------------------------------

async function showHome() {
  const gen = routeGen;
  const procedures = await readAll("procedures");
  const list = h("ul", { class: "cards", id: "results" });
  const count = h("p", { class: "count", id: "count" });
  const draw = () => {
    const words = fold(query).split(" ").filter(Boolean);
    const found = procedures.filter((p) => words.every((w) => p.key.includes(w)));
    count.textContent = procedures.length ? t("count", { n: found.length }) : t("catalog_empty");
    list.replaceChildren(...found.slice(0, SEARCH_SHOWN).map((p) => h("li", { class: "card" },
      h("a", { href: `#/p/${encodeURIComponent(p.code)}` }, h("strong", {}, p.name)),
      h("span", { class: "meta" }, `${p.code} · ${p.field}`))));
    if (procedures.length && !found.length) list.replaceChildren(h("li", { class: "empty" }, t("no_results")));
  };
  draw();
  const dossiers = h("div", { id: "dossiers" });
  const drawDossiers = async () => dossiers.replaceChildren(await dossierList());
  await drawDossiers();
  if (!paint(gen,
    h("h1", {}, t("my_dossiers")), dossiers, await storageWarning(), trackLink(),
    h("h2", {}, t("catalog")),
    h("form", { class: "search", role: "search", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "q" }, t("search")),
      h("input", { id: "q", type: "search", value: query, placeholder: t("search_hint"), autocomplete: "off",
        oninput: (e) => { query = e.target.value; draw(); } })),
    count, list)) return;
  redrawView = drawDossiers;
}

const deleteArmed = new Set(); // drafts whose Xoá was tapped once

async function dossierList() {
  const dossiers = (await readAll("dossiers")).sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || ""));
  const names = new Map((await readAll("procedures")).map((p) => [p.code, p.name]));
  const outbox = await readAll("outbox");
  if (!dossiers.length) return h("p", { class: "empty" }, t("no_dossiers"));
  return h("ul", { class: "cards" }, dossiers.map((d) => {
    const draft = d.status === 0 && !d.pending_submit;
    // Armed on the first tap; kept outside the DOM, which any write redraws.
    const remove = h("button", { type: "button", class: "button secondary", onclick: async (e) => {
      if (deleteArmed.has(d.id)) { deleteArmed.delete(d.id); await deleteDraft(d.id); await deletePagesOf(d.id); return; }
      deleteArmed.add(d.id);
      e.target.textContent = t("confirm_delete");
    } }, deleteArmed.has(d.id) ? t("confirm_delete") : t("delete"));
    return h("li", { class: "card dossier", "data-id": d.id },
      h("strong", {}, d.procedure_name || names.get(d.procedure_code) || d.procedure_code),
      h("span", { class: "meta" }, (d.input && d.input.full_name ? d.input.full_name + " · " : "") + statusText(d, outbox)),
      h("div", { class: "actions" }, h("a", { class: "button", href: `#/d/${d.id}` }, draft ? t("resume") : t("open")),
        draft ? remove : null));
  }));
}

function statusText(dossier, outbox) {
  if (dossier.pending_submit) return t("waiting");
  const unsent = outbox.filter((m) => m.entity_id === dossier.id).length;
  return statusName(dossier.status ?? 0) + (unsent ? " · " + t("unsent", { n: unsent }) : "");
}

async function storageWarning() {
  if (!navigator.storage || !navigator.storage.estimate) return "";
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  if (!quota || usage / quota < 0.8) return "";
  return h("p", { class: "error" }, t("storage_low", { p: Math.round((usage / quota) * 100) }));
}

function daysText(days) {
  if (days === null || days === undefined) return t("days_unknown");
  return Number(days) === 0 ? t("same_day") : t("days", { n: String(days).replace(".", ",") });
}

async function showProcedure(code) {
  const gen = routeGen;
  const detail = await read("details", code);
  const item = detail || (await read("procedures", code));
  if (!item) { paint(gen, h("p", { class: "empty" }, t("not_offline"))); return; }
  if (!paint(gen,
    h("p", {}, h("a", { href: "#/" }, t("back"))),
    h("h1", {}, item.name),
    h("dl", { class: "facts" }, h("dt", {}, t("processing_time")), h("dd", {}, daysText(item.processing_days))),
    detail ? h("h2", {}, t("documents")) : null,
    detail ? h("ol", { class: "documents" }, detail.documents.map((d) => h("li", {}, d.name))) : null,
    detail ? h("button", { type: "button", id: "start", onclick: async () => {
      navigator.storage && navigator.storage.persist && navigator.storage.persist();
      location.hash = `#/d/${await startDraft(detail)}`;
      scheduleSync();
    } }, t("start")) : h("p", { class: "empty" }, t("not_offline")))) return;
}

async function showDossier(id) {
  const gen = routeGen;
  const dossier = await read("dossiers", id);
  if (!dossier) { location.hash = "#/"; return; }
  const detail = await read("details", dossier.procedure_code);
  if (!detail) { paint(gen, h("p", { class: "empty" }, t("not_offline"))); return; }
  const units = await communes();
  const { offices, units: allUnits } = await receivingOffices(detail.level);
  const codes = new Set(units.map((u) => u.code));
  const options = { communeExists: codes.size ? (code) => codes.has(code) : null, today: todayInVietnam() };
  const input = dossier.input || {};
  const draft = dossier.status === 0 && !dossier.pending_submit;
  // A supplement requested (yêu cầu bổ sung): the owner corrects the form and sends the missing pages until they
  // tap "Gửi bổ sung" (supplement.js); the server takes them then.
  const supplement = await supplementOpen(dossier);
  const editable = draft || supplement;
  const askedFor = await supplementBox(dossier, { onSent: () => { route(); resetBackoff(); requestSync(); },
    validate: () => { const { errors } = check(); editor.showErrors(errors, { required: true }); return errors.length; } });
  let submitted = false;
  const header = h("div", { id: "dossier-status" });
  const summary = h("p", { class: "error", id: "summary", hidden: true, role: "alert" });
  const saved = h("p", { class: "saved", id: "saved", "aria-live": "polite" }, t("saved"));
  let saving = 0;

  const check = () => validate(detail.form, input, options);
  const editor = formEditor(detail.form, input, {
    communes: units, disabled: !editable,
    onChange: async () => {
      const { clean, errors } = check();
      chooseUnit();
      editor.showErrors(errors, { required: submitted });
      if (submitted) summary.hidden = !errors.length;
      saving += 1;
      saved.textContent = t("saving");
      try {
        await saveDraft(id, input, clean);
      } finally {
        saving -= 1;
        if (!saving) saved.textContent = t("saved");
      }
      scheduleSync();
    },
  });
  // The receiving office follows the address (its commune, or the province containing it for a province-level
  // procedure) until the person picks another one.
  let unitTouched = Boolean(dossier.unit_code);
  const unit = h("select", { id: "unit", onchange: () => { unitTouched = true; } },
    h("option", { value: "" }, t("choose")), offices.map((u) => h("option", { value: u.code }, `${u.name} (${u.code})`)));
  const chooseUnit = () => {
    const address = Object.values(input).find((v) => v && typeof v === "object" && !Array.isArray(v) && v.commune_code);
    const near = address ? officeFor(address.commune_code, offices[0] && offices[0].level, allUnits) : "";
    if (!unitTouched) unit.value = dossier.unit_code || near || "";
  };
  chooseUnit();
  const submitBox = draft ? h("div", { class: "submit" },
    h("label", { for: "unit" }, t("receiving_unit")), unit, summary,
    h("button", { type: "button", id: "submit", onclick: async () => {
      submitted = true;
      const { clean, errors } = check();
      editor.showErrors(errors, { required: true });
      if (errors.length || !unit.value) {
        summary.textContent = errors.length ? t("fix_errors", { n: errors.length }) : t("unit_needed");
        summary.hidden = false;
        const first = view.querySelector(".invalid input, .invalid select, .invalid textarea");
        if (first) first.focus();
        return;
      }
      await saveDraft(id, input, clean);
      await submitDossier(id, unit.value);
      offerAfterSubmit(); // notify.js: now hearing back matters, so notifications are offered
      route();
      resetBackoff();
      requestSync();
    } }, t("submit"))) : null;

  const drawStatus = async () => {
    const current = await read("dossiers", id);
    if (!current) return;
    const outbox = await readAll("outbox");
    const conflicts = (await readAll("conflicts")).filter((c) => c.entity_id === id && c.status === "open");
    header.replaceChildren(
      h("p", { class: "status-line" }, t("status") + ": ", h("strong", { class: "status", id: "status" }, statusText(current, outbox)),
        current.code ? ` · ${current.code}` : ""),
      ...(current.problems || []).map((p) => h("p", { class: "error problem" }, t("problem", { m: pick(p.reason) || p.code }))),
      conflicts.length ? conflictView(conflicts, detail.form) : "");
    // The fields on screen must follow the server's values once they arrive (a resolved conflict, another
    // device's edit): otherwise the next keystroke would send the old value back over them.
    const serverMoved = !saving && canonical(current.input) !== canonical(input) &&
      (current.replica && current.replica.version) !== (dossier.replica && dossier.replica.version);
    if ((serverMoved || current.status !== dossier.status || current.pending_submit !== dossier.pending_submit ||
      supplementState(current, outbox) !== askedFor.state) &&
        location.hash === `#/d/${id}`) route();
  };
  await drawStatus();
  if (!paint(gen, h("p", {}, h("a", { href: "#/" }, t("back"))), h("h1", {}, detail.name), header, askedFor.element, saved, editor.element,
    pagesEditor(id, detail.documents || [], { editable: editable || supplement, progress: uploadProgress,
      onAdded: () => { scheduleSync(); uploadPages(); }, extra: (document) => reusePanel(id, document) }),
    submitBox || "", ratingBox(dossier), documentLinks(dossier), timelineView(id, Boolean(dossier.replica), askedFor.showReason))) return;
  if (Object.keys(input).length) editor.showErrors(check().errors);
  redrawView = drawStatus;
}

// The dossier's steps as the server records them (GET /api/dossiers/{id}/events). The last copy is kept on the
// phone, under one key per dossier, so the timeline still shows offline; signing out removes them.
const TIMELINE_PREFIX = "motcua_timeline:";

function timelineView(id, onServer, onItems = () => {}) {
  const box = h("section", { id: "timeline" }, h("h2", {}, t("timeline")));
  const draw = (items, saved) => box.replaceChildren(h("h2", {}, t("timeline")),
    saved ? h("p", { class: "note" }, t("timeline_offline")) : "",
    h("ol", { class: "timeline" }, items.map((e) => h("li", {},
      h("time", { datetime: e.at }, new Date(e.at).toLocaleString(lang === "en" ? "en-GB" : "vi-VN")), " — ",
      // The citizen's supplement keeps status 5: named by its step, not twice "Yêu cầu bổ sung".
      h("strong", {}, e.action === "send_supplement" ? t("supplement_sent_step") : statusName(e.to_status ?? 0)), e.to_unit ? ` · ${e.to_unit}` : "", e.note ? ` · ${e.note}` : ""))));
  const saved = localStorage.getItem(TIMELINE_PREFIX + id);
  if (saved) { draw(JSON.parse(saved), true); onItems(JSON.parse(saved)); }
  if (onServer) {
    fetchJson(`/api/dossiers/${encodeURIComponent(id)}/events`).then(({ items }) => {
      localStorage.setItem(TIMELINE_PREFIX + id, JSON.stringify(items));
      draw(items, false);
      onItems(items); // e.g. the supplement's reason (supplement.js)
    }).catch(() => {});  // offline or not yet on the server: the saved copy stays
  }
  return box;
}

function forgetTimelines() {
  for (const key of Object.keys(localStorage)) if (key.startsWith(TIMELINE_PREFIX)) localStorage.removeItem(key);
}

// Side by side: the server's value and this phone's; the choice is a resolve mutation (docs/sync.md R4).
function conflictView(conflicts, form) {
  const label = (field) => {
    const f = form.fields.find((x) => "form." + x.name === field);
    return f ? pick(f.label) : field;
  };
  const show = (v) => (v === null || v === undefined ? t("empty") : typeof v === "object" ? JSON.stringify(v) : String(v));
  return h("section", { class: "conflicts" }, h("h2", {}, t("conflicts")), conflicts.map((c) => {
    // The base of the choice is the server value shown beside it: if the server moved on since, the server refuses
    // the resolution as stale instead of overwriting a value the person never saw (docs/sync.md R4).
    const seen = c.server_value;
    return h("div", { class: "conflict" }, h("h3", {}, label(c.field)),
      h("div", { class: "sides" },
        h("div", {}, h("small", {}, t("conflict_server")), h("p", {}, show(c.server_value))),
        h("div", {}, h("small", {}, t("conflict_device")), h("p", {}, show(c.device_value)))),
      c.resolving ? h("p", {}, t("resolving")) : h("div", { class: "actions" },
        h("button", { type: "button", class: "button secondary", onclick: () => resolveConflict(c, c.server_value, seen).then(sendNow) }, t("keep_server")),
        h("button", { type: "button", onclick: () => resolveConflict(c, c.device_value, seen).then(sendNow) }, t("keep_device"))));
  }));
}

async function showOutbox() {
  const gen = routeGen;
  // A change taken out is never sent: the first tap says what is lost, the second removes it. The warning is
  // kept here, not in the DOM, because any write (a sync round, the catalog refreshing) redraws the list.
  const armed = new Map(); // seq -> what would be lost
  const draw = async () => {
    const outbox = (await readAll("outbox")).sort((a, b) => a.seq - b.seq);
    return outbox.length ? h("ul", { class: "cards" }, outbox.map((m) => h("li", { class: "card" },
      h("strong", {}, `#${m.seq} ${m.op}${m.command ? " " + m.command : ""}`),
      h("span", { class: "meta" }, Object.keys(m.changes || {}).join(", ") || m.entity_id),
      armed.has(m.seq) ? h("p", { class: "error", role: "alert" }, t("discard_warning", { what: armed.get(m.seq) })) : null,
      h("button", { type: "button", class: "button secondary", "data-seq": m.seq, onclick: () => discard(m) },
        armed.has(m.seq) ? t("confirm_discard") : t("discard")))))
      : h("p", { class: "empty" }, t("outbox_empty"));
  };
  const discard = async (m) => {
    if (armed.has(m.seq)) { armed.delete(m.seq); await discardMutation(m.seq); return; }
    const [what] = await describeChanges([m]);
    armed.set(m.seq, what);
    box.replaceChildren(await draw());
  };
  const box = h("div", {}, await draw());
  if (!paint(gen, h("p", {}, h("a", { href: "#/" }, t("back"))), h("h1", {}, t("outbox")), box)) return;
  redrawView = async () => box.replaceChildren(await draw());
}

function showSignin() {
  const gen = routeGen;
  const error = h("p", { class: "error", hidden: true, role: "alert" });
  if (!paint(gen, h("h1", {}, t("signin")), h("form", { class: "stack", onsubmit: async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    try {
      const { csrf_token: csrf } = await session();
      const response = await fetch("/api/session", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ phone: form.get("phone"), password: form.get("password") }) });
      const body = await response.json();
      if (!response.ok) throw new Error(lang === "en" ? body.error.message_en : body.error.message);
      location.hash = "#/";
      resetBackoff();
      requestSync();
    } catch (problem) {
      error.textContent = problem instanceof TypeError ? t("signin_offline") : t("signin_failed", { m: problem.message });
      error.hidden = false;
    }
  } }, error,
  h("label", { for: "phone" }, t("phone")), h("input", { id: "phone", name: "phone", type: "tel", autocomplete: "tel", required: true }),
  h("label", { for: "password" }, t("password")),
  h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
  h("button", { type: "submit" }, t("signin"))))) return;
}

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
  if (kind === "p") await showProcedure(decodeURIComponent(arg));
  else if (kind === "d") await showDossier(arg);
  else if (kind === "signin") showSignin();
  else if (kind === "outbox") await showOutbox();
  else if (kind === "inbox") { const gen = routeGen; paint(gen, ...(await inboxView(() => { if (gen === routeGen) route(); }))); }
  else if (kind === "queue") await (await officerScreens()).queueView(routeGen, paint, sync.user);
  else if (kind === "intake") {
    await (await officerScreens()).intakeView(routeGen, paint, { liveUser: sync.user, onIssued: (id) => { location.hash = `#/receipt/${id}`; sendNow(); } });
  }
  else if (kind === "receipt") await showReceipt(arg);
  else await showHome();
}

// -- sync triggers ------------------------------------------------------------------------------------------

let syncTimer = null;
// A choice the person made on purpose (a conflict resolved) goes now, whatever backoff earlier failures built up.
function sendNow() {
  resetBackoff();
  requestSync();
}

function scheduleSync() {
  clearTimeout(syncTimer);
  syncTimer = setTimeout(requestSync, 1500);
  if (navigator.serviceWorker) {
    navigator.serviceWorker.ready.then((r) => r.sync && r.sync.register("motcua-outbox")).catch(() => {});
  }
}

// -- service worker: install, and offer a new release -------------------------------------------------------

function offerUpdate(worker) {
  const banner = document.getElementById("update");
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
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => { resetBackoff(); resetUploadBackoff(); requestSync(); refreshCatalog(); });
  window.addEventListener("offline", () => requestSync()); // a real request decides, not the event
  await drawHeader();
  await route();
  registerWorker().catch(() => {});
  const hadCatalog = (await readAll("procedures")).length > 0;
  // The first visit shows the catalog as soon as its list is stored, while the sync round and the forms follow.
  const showCatalog = async () => { if (!hadCatalog && (!location.hash || location.hash === "#/")) await route(); };
  await Promise.all([requestSync(), refreshCatalog({ onIndex: showCatalog })]);
  setInterval(() => { if (!document.hidden) requestSync(); }, 5 * 60_000); // pull what officers changed
  document.body.dataset.ready = "1";
}

main();
