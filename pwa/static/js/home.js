// The home screen (#/: the person's dossiers and the catalog search) and a procedure (#/p/<code>).
// A screen draws into the view through `screen` (app.js): paint(...nodes) only while its route is the latest,
// onRedraw(fn) for redrawing after a committed write, route(), scheduleSync(), sendNow(), view.
import { formFor } from "./catalog.js";
import { read, readAll } from "./db.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { deleteDraft, startDraft } from "./outbox.js";
import { deletePagesOf } from "./attachments.js";
import { trackLink } from "./supplement.js";
import { search } from "./search.js";
import { status as syncStatus } from "./sync.js";
import { citizenStatusName, S } from "./workflow.js";

const SEARCH_SHOWN = 50;
let query = ""; // kept while the app is open
let field = ""; // the field (lĩnh vực) chosen, "" for every field

export async function showHome(screen) {
  const procedures = await readAll("procedures");
  const list = h("ul", { class: "cards", id: "results" });
  const count = h("p", { class: "count", id: "count" });
  const fields = [...new Set(procedures.map((p) => p.field).filter(Boolean))].sort((a, b) => a.localeCompare(b, "vi"));
  if (!fields.includes(field)) field = "";
  const draw = () => {
    // The best match first, as the server orders it (search.js).
    const found = search(procedures, query, { field });
    count.textContent = procedures.length ? t("count", { n: found.length }) : t("catalog_empty");
    list.replaceChildren(...found.slice(0, SEARCH_SHOWN).map((p) => h("li", { class: "card" },
      h("a", { href: `#/p/${encodeURIComponent(p.code)}` }, h("strong", {}, p.name)),
      h("span", { class: "meta" }, `${p.code} · ${p.field}`))));
    if (procedures.length && !found.length) list.replaceChildren(h("li", { class: "empty" }, t("no_results")));
  };
  const dossiers = h("div", { id: "dossiers" });
  const drawDossiers = async () => dossiers.replaceChildren(await dossierList());
  await drawDossiers();
  const warning = await storageWarning();
  // After the awaits: a query typed meanwhile into the screen this one replaces is the one listed.
  draw();
  if (!screen.paint(
    h("h1", {}, t("my_dossiers")), dossiers, warning, trackLink(), claimLink(),
    h("h2", {}, t("catalog")),
    h("form", { class: "search", role: "search", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "q" }, t("search")),
      h("input", { id: "q", type: "search", value: query, placeholder: t("search_hint"), autocomplete: "off",
        oninput: (e) => { query = e.target.value; draw(); } }),
      fields.length > 1 ? h("label", { for: "field" }, t("field")) : null,
      fields.length > 1 ? h("select", { id: "field", onchange: (e) => { field = e.target.value; draw(); } },
        h("option", { value: "" }, t("all_fields")),
        fields.map((name) => h("option", { value: name, selected: name === field }, name))) : null),
    count, list)) return;
  screen.onRedraw(drawDossiers);
}

// A signed-in citizen whose dossier was filed at the desk or in the field takes it as their own (claim.js).
function claimLink() {
  const user = syncStatus.user;
  if (!user || user.role !== "citizen") return null;
  return h("p", {}, h("a", { href: "#/claim", id: "home-claim" }, t("claim_menu")));
}

const deleteArmed = new Set(); // drafts whose Xoá was tapped once

async function dossierList() {
  const dossiers = (await readAll("dossiers")).sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || ""));
  const names = new Map((await readAll("procedures")).map((p) => [p.code, p.name]));
  const outbox = await readAll("outbox");
  if (!dossiers.length) return h("p", { class: "empty" }, t("no_dossiers"));
  return h("ul", { class: "cards" }, dossiers.map((d) => {
    const draft = d.status === S.draft && !d.pending_submit;
    // Armed on the first tap; kept outside the DOM, which any write redraws.
    const title = d.procedure_name || names.get(d.procedure_code) || d.procedure_code;
    // Every card has the same buttons: their names say which dossier (a screen reader lists them out of the card).
    const about = title + (d.input && d.input.full_name ? ", " + d.input.full_name : "");
    const remove = h("button", { type: "button", class: "button secondary", onclick: async (e) => {
      if (deleteArmed.has(d.id)) { deleteArmed.delete(d.id); await deleteDraft(d.id); await deletePagesOf(d.id); return; }
      deleteArmed.add(d.id);
      e.target.textContent = t("confirm_delete");
      e.target.setAttribute("aria-label", `${t("confirm_delete")}: ${about}`);
    } }, deleteArmed.has(d.id) ? t("confirm_delete") : t("delete"));
    remove.setAttribute("aria-label", `${remove.textContent}: ${about}`);
    return h("li", { class: "card dossier", "data-id": d.id },
      h("strong", {}, title),
      h("span", { class: "meta" }, (d.input && d.input.full_name ? d.input.full_name + " · " : "") + statusText(d, outbox)),
      h("div", { class: "actions" }, h("a", { class: "button", href: `#/d/${d.id}`, "aria-label": `${draft ? t("resume") : t("open")}: ${about}` },
        draft ? t("resume") : t("open")),
        draft ? remove : null));
  }));
}

export function statusText(dossier, outbox) {
  if (dossier.pending_submit) return t("waiting");
  const unsent = outbox.filter((m) => m.entity_id === dossier.id).length;
  return citizenStatusName(dossier.status ?? S.draft) + (unsent ? " · " + t("unsent", { n: unsent }) : "");
}

async function storageWarning() {
  if (!navigator.storage || !navigator.storage.estimate) return "";
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  if (!quota || usage / quota < 0.8) return "";
  return h("p", { class: "error" }, t("storage_low", { p: Math.round((usage / quota) * 100) }));
}

function daysText(days, unit, cutoff) {
  if (days === null || days === undefined) return t("days_unknown");
  if (Number(days) === 0) {
    const [hour, minute] = (cutoff || "15:00").split(":").map(Number);
    return t("same_day", { h: String(hour), m: minute ? ` ${String(minute).padStart(2, "0")}` : "",
      mm: String(minute).padStart(2, "0") });
  }
  const key = unit === "days" ? "calendar_days" : unit === "hours" ? "working_hours" : "days";
  return t(key, { n: String(days).replace(".", ",") });
}

const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 30_000;

export async function showProcedure(screen, code) {
  // The form is fetched when the procedure is first opened, and kept on the phone (catalog.js). Until it is here the
  // screen says so ("Đang tải…"), tries again by itself while the network fails, and draws the form as soon as it
  // is stored, whether by this fetch or by the download of every form running meanwhile (onRedraw).
  const listed = await read("procedures", code);
  let detail = await read("details", code);
  let waitMs = RETRY_FIRST_MS;
  let timer = null;
  let current = true;
  const draw = (state) => {
    const item = detail || listed;
    const shown = screen.paint(
      h("p", {}, h("a", { href: "#/" }, t("back"))),
      h("h1", {}, (item && item.name) || code),
      ...(detail ? procedureFacts(screen, detail) : [h("p", { class: state === "loading" ? "note" : "empty",
        id: "procedure-state", role: "status" }, t(state === "loading" ? "procedure_loading" : state === "retrying"
        ? "procedure_retrying" : "not_offline"))]));
    if (!shown) current = false;
    return shown;
  };
  const attempt = async () => {
    timer = null;
    if (!current || detail) return;
    detail = await formFor(code);
    if (detail) { draw(); return; }
    // No network at all: the app says the form is not on the phone; the "online" event tries again.
    if (navigator.onLine === false) { draw("offline"); return; }
    if (!draw("retrying")) return;
    timer = setTimeout(attempt, waitMs);
    waitMs = Math.min(RETRY_MAX_MS, waitMs * 2);
  };
  if (detail) { draw(); return; }
  if (!draw(navigator.onLine === false ? "offline" : "loading")) return;
  const again = () => { if (!current) { window.removeEventListener("online", again); return; } clearTimeout(timer); waitMs = RETRY_FIRST_MS; attempt(); };
  window.addEventListener("online", again);
  screen.onRedraw(async () => {
    if (!current) return;
    if (!detail && (detail = await read("details", code))) { clearTimeout(timer); draw(); }
  });
  await attempt();
}

function procedureFacts(screen, detail) {
  return [
    // The index on the phone has no processing time: it is shown with the form.
    h("dl", { class: "facts" }, h("dt", {}, t("processing_time")), h("dd", {}, daysText(detail.processing_days, detail.processing_unit, detail.cutoff))),
    h("h2", {}, t("documents")),
    h("ol", { class: "documents" }, detail.documents.map((d) => h("li", {}, d.name))),
    h("button", { type: "button", id: "start", onclick: async () => {
      navigator.storage && navigator.storage.persist && navigator.storage.persist();
      location.hash = `#/d/${await startDraft(detail)}`;
      screen.scheduleSync();
    } }, t("start"))];
}
