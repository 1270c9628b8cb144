// The outbox screen (#/outbox): what waits to be sent, one item per dossier in the person's words (the procedure, the
// person the dossier is for, what waits: "hồ sơ mới và nộp", "3 ảnh"), each of which can be taken out (its changes
// are then never sent). The header's "Chờ gửi: N" counts the same dossiers (waitingCount).
// A screen draws into the view through `screen` (app.js): paint(...nodes) only while its route is the latest,
// onRedraw(fn) for redrawing after a committed write, route(), scheduleSync(), sendNow(), view.
import { allPages, pagesChanged } from "./attachments.js";
import { readAll } from "./db.js";
import { h } from "./dom.js";
import { lang, pick, t, tr } from "./i18n.js";
import { discardMutation } from "./outbox.js";
import { statusName, step } from "./workflow.js";

// The form fields that name the person a dossier is for, most telling first (the catalog's forms: the requester,
// the applicant, the person concerned, the owner…); else the first "…_name" field that has a value.
const PERSON_FIELDS = ["requester_name", "applicant_name", "full_name", "person_name", "owner_name", "beneficiary_name"];

function personOf(dossier) {
  const input = (dossier && (dossier.input || dossier.synced)) || {};
  const text = (v) => (typeof v === "string" && v.trim() ? v.trim() : null);
  for (const name of PERSON_FIELDS) if (text(input[name])) return text(input[name]);
  const other = Object.keys(input).find((name) => name.endsWith("_name") && text(input[name]));
  return other ? text(input[other]) : null;
}

/** "a", "a và b", "a, b và c" (English: "a and b", "a, b and c"). */
function listed(parts) {
  const and = lang === "en" ? " and " : " và ";
  return parts.length < 2 ? parts.join("") : parts.slice(0, -1).join(", ") + and + parts[parts.length - 1];
}

// A page still only on this phone (not yet on the server) waits as much as a change does.
const unsentPage = (p) => p.status === "local" || p.status === "uploading";

/**
 * The dossiers with something waiting, oldest change first: {id, title, person, waiting (words), seqs (the
 * outbox's), pages (unsent)}. `mutations`: the outbox, or part of it (sign-out lists only these).
 */
export async function waitingDossiers(mutations = null, { withPages = true } = {}) {
  const outbox = (mutations || (await readAll("outbox"))).slice().sort((a, b) => a.seq - b.seq);
  const dossiers = new Map((await readAll("dossiers")).map((d) => [d.id, d]));
  const details = new Map((await readAll("details")).map((d) => [d.code, d]));
  const conflicts = new Map((await readAll("conflicts")).map((c) => [c.id, c]));
  const byDossier = new Map();
  const entry = (id) => {
    if (!byDossier.has(id)) byDossier.set(id, { id, mutations: [], pages: [] });
    return byDossier.get(id);
  };
  for (const m of outbox) {
    // A conflict's choice belongs to the dossier the conflict is about.
    const id = m.entity === "conflict" ? (conflicts.get(m.entity_id) || {}).entity_id || m.entity_id : m.entity_id;
    entry(id).mutations.push(m);
  }
  if (withPages) {
    let pages = [];
    try { pages = await allPages(); } catch (error) { /* no pages database: nothing waits there */ }
    // Pages of a field intake not issued yet have no dossier: they are not waiting to be sent.
    for (const p of pages) if (unsentPage(p) && dossiers.has(p.dossier_id)) entry(p.dossier_id).pages.push(p);
  }
  return [...byDossier.values()].map((item) => {
    const dossier = dossiers.get(item.id);
    const detail = dossier && details.get(dossier.procedure_code);
    return { ...item, seqs: item.mutations.map((m) => m.seq),
      title: dossier ? dossier.procedure_name || (detail && detail.name) || dossier.procedure_code : tr("Hồ sơ", "Dossier"),
      person: personOf(dossier), waiting: describe(item, detail) };
  });
}

/** How many dossiers have something waiting to be sent: the header's "Chờ gửi: N". */
export async function waitingCount() {
  return (await waitingDossiers()).length;
}

// What waits for one dossier, in plain words: "hồ sơ mới và nộp", "sửa Họ và tên", "gửi bổ sung", "3 ảnh"…
function describe({ mutations, pages }, detail) {
  const label = (field) => {
    const name = field.startsWith("form.") ? field.slice(5) : field;
    const f = detail && detail.form.fields.find((x) => x.name === name);
    return f ? pick(f.label) : tr("thông tin khác", "other details");
  };
  const parts = [];
  const add = (part) => { if (!parts.includes(part)) parts.push(part); };
  const created = mutations.some((m) => m.op === "create");
  if (created) add(tr("hồ sơ mới", "new dossier"));
  // The fields edited after the dossier reached the server; a new dossier's fields travel with it.
  const edited = created ? [] : [...new Set(mutations.filter((m) => m.op === "update")
    .flatMap((m) => Object.keys(m.changes || {}).map(label)))];
  if (edited.length) add(tr("sửa ", "changes to ") + listed(edited));
  for (const m of mutations) {
    if (m.op === "resolve") add(tr("lựa chọn khi thông tin bị sửa ở hai nơi", "a choice between two edits"));
    else if (m.op === "command") add(commandWords(m.command));
  }
  if (pages.length) {
    const images = pages.every((p) => (p.content_type || "").startsWith("image/"));
    add(images ? tr(`${pages.length} ảnh`, `${pages.length} photo${pages.length > 1 ? "s" : ""}`)
      : tr(`${pages.length} trang giấy tờ`, `${pages.length} document page${pages.length > 1 ? "s" : ""}`));
  }
  return listed(parts);
}

// The citizen's own steps by name; an officer's step by the status it leads to (workflow.js), never its code name.
function commandWords(command) {
  if (command === "submit") return tr("nộp", "submission");
  if (command === "send_supplement") return tr("gửi bổ sung", "the supplement");
  const s = step(command);
  return s && !s.keeps_status && s.to !== null ? tr(`chuyển sang “${statusName(s.to)}”`, `moving to “${statusName(s.to)}”`)
    : tr("một bước xử lý", "a processing step");
}

/** One line per dossier: "<procedure> — <person>: <what waits>" (the sign-out warning lists what would be lost). */
export async function describeChanges(mutations) {
  return (await waitingDossiers(mutations, { withPages: false }))
    .map((d) => `${d.title}${d.person ? " — " + d.person : ""}: ${d.waiting}`);
}

export async function showOutbox(screen) {
  // Taking a dossier's changes out: the first tap says what is lost, the second removes them. The warning is kept
  // here, not in the DOM, because any write (a sync round, the catalog refreshing) redraws the list.
  const armed = new Set(); // dossier ids
  const draw = async () => {
    const items = await waitingDossiers();
    return items.length ? h("ul", { class: "cards", id: "outbox" }, items.map((d) => h("li", { class: "card", "data-dossier": d.id },
      h("strong", {}, d.title),
      d.person ? h("span", { class: "meta person" }, d.person) : null,
      h("p", { class: "waiting-what" }, tr("Chờ gửi: ", "Waiting: ") + d.waiting),
      armed.has(d.id) ? h("p", { class: "error", role: "alert" }, t("discard_warning")) : null,
      // Pages alone are sent by the uploader when it can: there is nothing to take out of the outbox.
      d.seqs.length ? h("button", { type: "button", class: "button secondary", "data-dossier": d.id,
        "aria-label": `${armed.has(d.id) ? t("confirm_discard") : t("discard")}: ${d.title}${d.person ? " — " + d.person : ""}`,
        onclick: () => discard(d) }, armed.has(d.id) ? t("confirm_discard") : t("discard")) : null)))
      : h("p", { class: "empty" }, t("outbox_empty"));
  };
  const discard = async (d) => {
    if (armed.has(d.id)) {
      armed.delete(d.id);
      for (const seq of d.seqs) await discardMutation(seq);
      return;
    }
    armed.add(d.id);
    box.replaceChildren(await draw());
  };
  const box = h("div", {}, await draw());
  if (!screen.paint(h("p", {}, h("a", { href: "#/" }, t("back"))), h("h1", {}, t("outbox")), box)) return;
  const redraw = async () => box.replaceChildren(await draw());
  screen.onRedraw(redraw);
  // A page sent (or added) changes the list too; the listener goes with the screen.
  const onPages = () => { if (!box.isConnected) pagesChanged.removeEventListener("change", onPages); else redraw(); };
  pagesChanged.addEventListener("change", onPages);
}
