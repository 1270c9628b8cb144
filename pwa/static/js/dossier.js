// A dossier (#/d/<id>): its form while a draft or a supplement is open, pages, submitting, its status, conflicts
// and the timeline of its steps.
// A screen draws into the view through `screen` (app.js): paint(...nodes) only while its route is the latest,
// onRedraw(fn) for redrawing after a committed write, route(), scheduleSync(), sendNow(), view.
import { communes, fetchJson, officeFor, receivingOffices } from "./catalog.js";
import { canonical, read, readAll } from "./db.js";
import { formatDate, formatDateTime, parseDate } from "./dates.js";
import { h } from "./dom.js";
import { todayInVietnam, validate } from "./forms.js";
import { formEditor } from "./formview.js";
import { statusText } from "./home.js";
import { pick, t, tr } from "./i18n.js";
import { offerAfterSubmit } from "./notify.js";
import { resolveConflict, saveDraft, submitDossier } from "./outbox.js";
import { pagesChanged, pagesEditor, pagesOf } from "./attachments.js";
import { feeFor, feeText } from "./fees.js";
import { documentLinks, supplementBox, supplementOpen, supplementState } from "./supplement.js";
import { requestSync, resetBackoff } from "./sync.js";
import { progress as uploadProgress, uploadPages } from "./upload.js";
import { citizenStatusName, S } from "./workflow.js";

// The dossier just submitted on this screen: its view opens at the top, on a confirmation, until the person
// goes elsewhere ("Nộp hồ sơ" sits at the bottom of a long form; the new status is at the top).
let justSubmitted = null;

// The fee box (payment.js with qr.js and vietqr.js, ~7.2 KB Brotli 11) and the rating (rating.js) concern a dossier at the payment step or
// returned: they load when such a dossier is shown, not on a first visit (docs/pwa.md, "What a first visit
// downloads"). warmDossierScreens fetches them as soon as a synced dossier reaches those steps, while online, so
// the QR code is then drawn offline too (the worker keeps what it fetched).
const needsPayment = (dossier) => {
  const data = (dossier.replica && dossier.replica.data) || {};
  // A fee fixed at a field intake is owed while the dossier is received or processed (docs/payments.md).
  return data.fee_amount_vnd !== undefined && (Boolean(data.paid_at) || dossier.status === S.payment ||
    Boolean(data.payment_qr && data.fee_fixed_at));
};
const needsRating = (dossier) => dossier.status === S.returned && Boolean(dossier.replica);

/** The on-demand modules the phone's dossiers will need, fetched now (online, after a sync round). */
export async function warmDossierScreens() {
  const dossiers = await readAll("dossiers");
  const loads = [];
  if (dossiers.some(needsPayment)) loads.push(import("./payment.js"));
  if (dossiers.some(needsRating)) loads.push(import("./rating.js"));
  await Promise.all(loads).catch(() => {}); // offline: the next round tries again
}

// "Dùng giấy tờ đã có" (reuse.js) asks the server for the citizen's verified documents, so it needs the network
// anyway: it loads when a draft's pages editor is first drawn, not on a first visit. Its place is kept and filled
// as soon as the module is there (at once once the worker has it); never fetched, offline, the place stays empty.
let reuse = null;
function reuseSlot(dossierId, document) {
  const slot = h("span", { class: "reuse-slot" });
  reuse = reuse || import("./reuse.js").catch(() => { reuse = null; return null; });
  reuse.then((module) => { if (module) slot.replaceWith(module.reusePanel(dossierId, document)); });
  return slot;
}

/** A box drawn by an on-demand module, or its offline note when the module never reached this phone. */
async function optionalBox(wanted, load, draw, offlineKey) {
  if (!wanted) return "";
  try {
    return draw(await load());
  } catch (error) {
    return offlineKey ? h("p", { class: "note", role: "status" }, t(offlineKey)) : "";
  }
}

export async function showDossier(screen, id) {
  if (justSubmitted && justSubmitted.id !== id) justSubmitted = null;
  const dossier = await read("dossiers", id);
  if (!dossier) { location.hash = "#/"; return; }
  const detail = await read("details", dossier.procedure_code);
  if (!detail) { screen.paint(h("p", { class: "empty" }, t("not_offline"))); return; }
  const units = await communes();
  const { offices, units: allUnits } = await receivingOffices(detail.level);
  const codes = new Set(units.map((u) => u.code));
  const options = { communeExists: codes.size ? (code) => codes.has(code) : null, today: todayInVietnam() };
  const input = dossier.input || {};
  const draft = dossier.status === S.draft && !dossier.pending_submit;
  // A supplement requested (yêu cầu bổ sung): the owner corrects the form and sends the missing pages until they
  // tap "Gửi bổ sung" (supplement.js); the server takes them then.
  const supplement = await supplementOpen(dossier);
  const editable = draft || supplement;
  const askedFor = await supplementBox(dossier, { onSent: () => { screen.route(); resetBackoff(); requestSync(); },
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
      showFee();
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
      screen.scheduleSync();
    },
  });
  // The receiving office follows the address (its commune, or the province containing it for a province-level
  // procedure) until the person picks another one.
  let unitTouched = Boolean(dossier.unit_code);
  const unit = h("select", { id: "unit", "aria-required": "true", onchange: () => { unitTouched = true; } },
    h("option", { value: "" }, t("choose")), offices.map((u) => h("option", { value: u.code }, `${u.name} (${u.code})`)));
  const chooseUnit = () => {
    const address = Object.values(input).find((v) => v && typeof v === "object" && !Array.isArray(v) && v.commune_code);
    const near = address ? officeFor(address.commune_code, offices[0] && offices[0].level, allUnits) : "";
    if (!unitTouched) unit.value = dossier.unit_code || near || "";
  };
  // The office chosen before (a send the server refused reopens the form) stays chosen.
  if (dossier.unit_code) unit.value = dossier.unit_code;
  chooseUnit();
  // What it will cost (phí, lệ phí), computed on the phone with the procedure's rule (fees.js, the server's twin):
  // filed from the app, the dossier goes by the online channel; page counts come from the pages on this phone.
  const fee = h("p", { class: "fee", id: "fee" });
  const showFee = async () => {
    const pages = {};
    for (const page of await pagesOf(id)) pages[page.document] = (pages[page.document] || 0) + 1;
    fee.textContent = tr("Phí, lệ phí: ", "Fee: ") + feeText(feeFor(detail, "online", input, pages));
    if (fee.isConnected) fee.dataset.shown = "1";
  };
  showFee();
  const onPages = () => { if (!fee.isConnected && fee.dataset.shown) pagesChanged.removeEventListener("change", onPages); else showFee(); };
  pagesChanged.addEventListener("change", onPages);
  const submitBox = draft ? h("div", { class: "submit" },
    h("label", { for: "unit" }, t("receiving_unit")), unit, fee, summary,
    h("button", { type: "button", id: "submit", onclick: async () => {
      submitted = true;
      const { clean, errors } = check();
      editor.showErrors(errors, { required: true });
      if (errors.length || !unit.value) {
        summary.textContent = errors.length ? t("fix_errors", { n: errors.length }) : t("unit_needed");
        summary.hidden = false;
        const first = screen.view.querySelector(".invalid input, .invalid select, .invalid textarea");
        if (first) first.focus();
        return;
      }
      await saveDraft(id, input, clean);
      await submitDossier(id, unit.value);
      justSubmitted = { id, shown: false };
      offerAfterSubmit(); // notify.js: now hearing back matters, so notifications are offered
      screen.route();
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
      conflicts.length ? conflictView(conflicts, detail.form, screen.sendNow) : "");
    // The fields on screen must follow the server's values once they arrive (a resolved conflict, another
    // device's edit): otherwise the next keystroke would send the old value back over them.
    const serverMoved = !saving && canonical(current.input) !== canonical(input) &&
      (current.replica && current.replica.version) !== (dossier.replica && dossier.replica.version);
    if ((serverMoved || current.status !== dossier.status || current.pending_submit !== dossier.pending_submit ||
      supplementState(current, outbox) !== askedFor.state) &&
        location.hash === `#/d/${id}`) screen.route();
  };
  await drawStatus();
  // A submit the server refused reopens the draft: the confirmation goes.
  if (justSubmitted && dossier.status === S.draft && !dossier.pending_submit) justSubmitted = null;
  const confirmation = justSubmitted ? h("p", { class: "confirm", id: "submitted", role: "status", tabindex: "-1" },
    t("submitted_note")) : null;
  const payment = await optionalBox(needsPayment(dossier), () => import("./payment.js"), (m) => m.paymentBox(dossier), "payment_offline");
  const rating = await optionalBox(needsRating(dossier), () => import("./rating.js"), (m) => m.ratingBox(dossier), "rate_offline");
  if (!screen.paint(h("p", {}, h("a", { href: "#/" }, t("back"))), h("h1", {}, detail.name), confirmation || "", header, askedFor.element, payment, saved, editor.element,
    pagesEditor(id, detail.documents || [], { editable: editable || supplement, progress: uploadProgress,
      onAdded: () => { screen.scheduleSync(); uploadPages(); }, extra: (document) => reuseSlot(id, document),
      formsAt: detail.verify_url || "" }),
    submitBox || "", rating, documentLinks(dossier), timelineView(id, Boolean(dossier.replica), askedFor.showReason))) return;
  if (Object.keys(input).length) editor.showErrors(check().errors);
  if (confirmation) {
    // Shown where the person is looking: the view's top, focused, so a screen reader reads it and the status. A
    // redraw (the submit has reached the server) keeps the place and gives the focus back if it took it away.
    const first = !justSubmitted.shown;
    justSubmitted.shown = true;
    if (first) window.scrollTo(0, 0);
    if (first || !document.activeElement || document.activeElement === document.body) confirmation.focus({ preventScroll: true });
  }
  screen.onRedraw(drawStatus);
}

// The dossier's steps as the server records them (GET /api/dossiers/{id}/events). The last copy is kept on the
// phone, under one key per dossier, so the timeline still shows offline; signing out removes them.
const TIMELINE_PREFIX = "motcua_timeline:";

// The kinds of notice that tell the dossier's citizen (server/notify/channels.py CITIZEN_KINDS); other notices of a
// step tell officers, and are not what "báo công dân" means.
const CITIZEN_KINDS = new Set(["received", "supplement", "refused", "payment", "paid", "stopped", "result_ready", "apology"]);

/** For officers (the server sends `notices` to them only): which channels carried a step's notice to the citizen, so
 * the officer knows whether to phone them. Push, Zalo and SMS as they went: sent, or delivered when a receipt said so. */
function toldLine(notice) {
  const reached = (notice.channels || []).filter((c) => c.status === "sent" || c.status === "delivered");
  const name = (c) => t(`channel_name_${c.channel}`);
  const text = reached.length ? t("told_by", { c: reached.map((c) => c.status === "delivered"
    ? t("told_delivered", { c: name(c) }) : name(c)).join(", ") })
    : (notice.channels || []).some((c) => c.status === "queued") ? t("told_pending") : t("told_none");
  return h("p", { class: "note told", "data-kind": notice.kind, "data-reached": notice.reached_by.join(",") }, text);
}

function timelineView(id, onServer, onItems = () => {}) {
  const box = h("section", { id: "timeline" }, h("h2", {}, t("timeline")));
  const draw = (items, saved) => box.replaceChildren(h("h2", {}, t("timeline")),
    saved ? h("p", { class: "note" }, t("timeline_offline")) : "",
    h("ol", { class: "timeline" }, items.map((e) => h("li", {},
      h("time", { datetime: e.at }, formatDateTime(e.at)), " — ",
      // The citizen's supplement keeps the status "supplement requested": named by its step, not twice "Yêu cầu bổ sung".
      h("strong", {}, e.action === "send_supplement" ? t("supplement_sent_step") : citizenStatusName(e.to_status ?? S.draft)), e.to_unit ? ` · ${e.to_unit}` : "", e.note ? ` · ${e.note}` : "",
      ...(e.notices || []).filter((n) => CITIZEN_KINDS.has(n.kind)).map(toldLine)))));
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

export function forgetTimelines() {
  for (const key of Object.keys(localStorage)) if (key.startsWith(TIMELINE_PREFIX)) localStorage.removeItem(key);
}

// Side by side: the server's value and this phone's; the choice is a resolve mutation (docs/sync.md R4).
function conflictView(conflicts, form, sendNow) {
  const label = (field) => {
    const f = form.fields.find((x) => "form." + x.name === field);
    return f ? pick(f.label) : field;
  };
  // A date field's value (YYYY-MM-DD) reads dd/mm/yyyy, as in its input (dates.js).
  const isDate = (field) => form.fields.some((x) => "form." + x.name === field && x.type === "date");
  const show = (v, field) => (v === null || v === undefined ? t("empty") : typeof v === "object" ? JSON.stringify(v)
    : isDate(field) && parseDate(v) === v ? formatDate(v) : String(v));
  return h("section", { class: "conflicts" }, h("h2", {}, t("conflicts")), conflicts.map((c) => {
    // The base of the choice is the server value shown beside it: if the server moved on since, the server refuses
    // the resolution as stale instead of overwriting a value the person never saw (docs/sync.md R4).
    const seen = c.server_value;
    return h("div", { class: "conflict" }, h("h3", {}, label(c.field)),
      h("div", { class: "sides" },
        h("div", {}, h("small", {}, t("conflict_server")), h("p", {}, show(c.server_value, c.field))),
        h("div", {}, h("small", {}, t("conflict_device")), h("p", {}, show(c.device_value, c.field)))),
      c.resolving ? h("p", {}, t("resolving")) : h("div", { class: "actions" },
        // One pair per field in conflict: each button's name says which field.
        h("button", { type: "button", class: "button secondary", "aria-label": `${t("keep_server")}: ${label(c.field)}`,
          onclick: () => resolveConflict(c, c.server_value, seen).then(sendNow) }, t("keep_server")),
        h("button", { type: "button", "aria-label": `${t("keep_device")}: ${label(c.field)}`,
          onclick: () => resolveConflict(c, c.device_value, seen).then(sendNow) }, t("keep_device"))));
  }));
}
