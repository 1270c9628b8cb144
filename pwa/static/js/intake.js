// Field intake (tiếp nhận tại chỗ) by a commune officer, with no network: procedure → citizen (by phone or
// CCCD) → form → document photos → signature → receipt. The work in progress is kept in IndexedDB (meta
// "intake_draft") so that a reload or a flat battery loses nothing; the dossier itself, its code and its create
// mutation are written in one transaction when the receipt is issued (officer.js).
import { meta, read, readAll, setMeta, tx } from "./db.js";
import { todayInVietnam, validate } from "./forms.js";
import { h } from "./dom.js";
import { formEditor } from "./formview.js";
import { tr } from "./i18n.js";
import { feeFor, feeText } from "./fees.js";
import { fileCheckedDossier, intakeFee, issueFieldDossier, savedUser, SIGNATURE_DOCUMENT } from "./officer.js";
import { uuid7 } from "./outbox.js";
import { pagesEditor, pagesOf, deletePagesOf } from "./attachments.js";
import { citizenOf } from "./receipt.js";
import { signaturePad } from "./signature.js";
import { progress as uploadProgress } from "./upload.js";
import { search as ranked } from "./search.js";
import { normalizePhone } from "./vietnamese.js";
import { dueAt, processingTime } from "./working-time.js";
import { allows, S } from "./workflow.js";

const STEPS = ["procedure", "citizen", "form", "documents", "signature", "issue"];
const STEP_NAMES = {
  procedure: ["Thủ tục", "Procedure"], citizen: ["Người nộp", "Applicant"], form: ["Tờ khai", "Form"],
  documents: ["Giấy tờ", "Documents"], signature: ["Chữ ký", "Signature"], issue: ["Kiểm tra, quyết định", "Check and decide"],
};
const COPIED_TYPES = new Set(["text", "date", "choice", "phone", "cccd", "email", "address"]);

const saveDraft = (draft) => setMeta("intake_draft", draft);

/**
 * A dossier filed for a citizen carries their phone number and personal identification number (số định danh cá
 * nhân), even where the form makes them optional; the server checks it too (contact_required). Null when both are there.
 */
export function missingContact(form, input) {
  for (const [type, vi, en] of [["phone", "số điện thoại", "phone number"], ["cccd", "số định danh cá nhân", "personal identification number"]]) {
    const names = form.fields.filter((f) => f.type === type).map((f) => f.name);
    if (names.length && !names.some((n) => input[n])) return tr(`Hãy ghi ${vi} của người nộp.`, `Record the applicant's ${en}.`);
  }
  return null;
}

/**
 * The appointment (ngày hẹn trả) from the working calendar stored while online; null when it cannot be known.
 * The processing time is the one for the channel (a walk-in or field dossier: "direct"), in its unit, with the
 * procedure's own cut-off (docs/workflow.md "Deadlines").
 */
export function appointment(receivedAt, calendar, procedure, channel = "direct", caseValue = null) {
  const { amount, unit } = processingTime(procedure, channel, caseValue);
  if (amount === null || !calendar) return null;
  try {
    return dueAt(receivedAt, amount, calendar, { unit, cutoff: procedure.cutoff || undefined }) || null; // "…+07:00", as the server writes it
  } catch (error) {
    return null;
  }
}

/** The person filing, found among dossiers on this device by phone number or CCCD. */
async function findCitizens(query) {
  const digits = query.replace(/\D/g, "");
  if (digits.length < 9) return [];
  const phone = normalizePhone(query);
  const seen = new Map();
  for (const d of await readAll("dossiers")) {
    const input = d.input || {};
    const values = Object.values(input).filter((v) => typeof v === "string");
    const match = values.some((v) => v.replace(/\D/g, "") === digits || (phone && normalizePhone(v) === phone));
    if (!match) continue;
    const key = JSON.stringify(values); // the same person filing twice shows once; namesakes of one phone each show
    if (!seen.has(key) || (seen.get(key).updated_at || "") < (d.updated_at || "")) seen.set(key, d);
  }
  return [...seen.values()].sort((a, b) => (b.updated_at || "").localeCompare(a.updated_at || "")).slice(0, 10);
}

// Values of an earlier dossier that fit the new form: same field name and type, simple fields only.
function copyCitizen(form, from, fromForm) {
  const input = {};
  for (const f of form.fields) {
    if (!COPIED_TYPES.has(f.type) || !(f.name in from)) continue;
    const before = fromForm && fromForm.fields.find((x) => x.name === f.name);
    if (!fromForm || (before && before.type === f.type)) input[f.name] = from[f.name];
  }
  return input;
}

export async function intakeView(gen, paint, { onIssued, onChecked = () => { location.hash = "#/queue"; }, liveUser = null }) {
  // The session's user when online (the stored copy may not be written yet right after signing in).
  const user = liveUser || (await savedUser());
  if (!user || user.role !== "intake" || !user.unit) {
    paint(gen, h("h1", {}, tr("Tiếp nhận lưu động", "Field intake")),
      h("p", { class: "empty" }, tr("Chỉ cán bộ tiếp nhận (bộ phận một cửa) mới tiếp nhận hồ sơ lưu động. Hãy đăng nhập khi có mạng.",
        "Only intake officers take dossiers in the field. Sign in while online.")));
    return;
  }
  let draft = (await meta("intake_draft")) || { id: uuid7(), step: "procedure", procedure_code: null, input: {} };
  const detail = draft.procedure_code ? await read("details", draft.procedure_code) : null;
  const units = (await readAll("units")).sort((a, b) => a.name.localeCompare(b.name, "vi"));
  // The commune chosen in the address and the units above it ("Phường Vĩnh Yên, Tỉnh Phú Thọ"), as the server's
  // documents print it: a ward's name alone is no address (many provinces have a "Phường 1").
  const byCode = new Map(units.map((u) => [u.code, u]));
  const communeName = (code) => {
    const names = [];
    for (let unit = byCode.get(code); unit && names.length < 3; unit = unit.parent ? byCode.get(unit.parent) : null) names.push(unit.name);
    return names.join(", ") || code || "";
  };
  const go = async (step) => { draft = { ...draft, step }; await saveDraft(draft); intakeView(gen, paint, { onIssued, onChecked, liveUser }); };
  const steps = h("ol", { class: "steps", "aria-label": tr("Các bước", "Steps") }, STEPS.map((s) =>
    h("li", { class: s === draft.step ? "current" : "", "aria-current": s === draft.step ? "step" : null }, tr(...STEP_NAMES[s]))));
  const heading = [h("p", {}, h("a", { href: "#/queue" }, tr("‹ Hàng đợi hồ sơ", "‹ Dossier queue"))),
    h("h1", {}, tr("Tiếp nhận lưu động", "Field intake")), steps];
  const cancel = h("button", { type: "button", class: "button secondary", id: "intake-cancel", onclick: async (e) => {
    if (e.target.dataset.armed !== "1") { e.target.dataset.armed = "1"; e.target.textContent = tr("Bấm lần nữa để huỷ", "Tap again to cancel"); return; }
    await deletePagesOf(draft.id);
    await tx(["meta"], "readwrite", (s) => s.meta.delete("intake_draft"));
    intakeView(gen, paint, { onIssued, onChecked, liveUser });
  } }, tr("Huỷ hồ sơ đang nhập", "Cancel this intake"));
  const nav = (...buttons) => h("div", { class: "actions intake-nav" }, ...buttons);
  const back = (step) => h("button", { type: "button", class: "button secondary", onclick: () => go(step) }, tr("Quay lại", "Back"));

  if (draft.step === "procedure" || !detail) {
    const procedures = await readAll("procedures");
    const cached = new Set((await readAll("details")).map((d) => d.code));
    const list = h("ul", { class: "cards", id: "intake-procedures" });
    const search = (text) => {
      const found = ranked(procedures.filter((p) => cached.has(p.code)), text).slice(0, 30); // best first (search.js)
      list.replaceChildren(...found.map((p) => h("li", { class: "card" },
        h("button", { type: "button", class: "link choose-procedure", onclick: async () => {
          draft = { ...draft, procedure_code: p.code, input: {}, step: "citizen" };
          await saveDraft(draft);
          intakeView(gen, paint, { onIssued, onChecked, liveUser });
        } }, p.name), h("span", { class: "meta" }, `${p.code} · ${p.field}`))));
    };
    search("");
    paint(gen, ...heading, h("label", { for: "intake-q" }, tr("Tìm thủ tục", "Find a procedure")),
      h("input", { id: "intake-q", type: "search", autocomplete: "off", oninput: (e) => search(e.target.value) }), list);
    return;
  }

  const form = detail.form;
  if (draft.step === "citizen") {
    const results = h("div", { id: "citizen-results" });
    const query = h("input", { id: "citizen-q", type: "search", inputmode: "numeric", autocomplete: "off", value: draft.lookup || "" });
    const pick = async (input) => {
      draft = { ...draft, input, lookup: query.value, step: "form" };
      await saveDraft(draft);
      intakeView(gen, paint, { onIssued, onChecked, liveUser });
    };
    const fresh = () => {
      // A new person: what was typed goes into the matching field, phone or CCCD.
      const digits = query.value.replace(/\D/g, "");
      const input = {};
      const target = form.fields.find((f) => f.type === (digits.length === 12 ? "cccd" : "phone"));
      if (target && digits) input[target.name] = query.value.trim();
      return input;
    };
    const lookup = async () => {
      const found = await findCitizens(query.value);
      const details = new Map((await readAll("details")).map((d) => [d.code, d]));
      results.replaceChildren(found.length
        ? h("ul", { class: "cards" }, found.map((d) => {
          const person = citizenOf(form, d.input || {}, communeName);
          return h("li", { class: "card citizen" }, h("strong", {}, person.full_name || "?"),
            h("span", { class: "meta" }, [person.phone, person.cccd, person.address].filter(Boolean).join(" · ")),
            h("button", { type: "button", onclick: () => pick({ ...fresh(), ...copyCitizen(form, d.input || {}, (details.get(d.procedure_code) || {}).form) }) },
              tr("Dùng thông tin này", "Use these details")));
        }))
        : h("p", { class: "empty" }, query.value.replace(/\D/g, "").length >= 9
          ? tr("Chưa có người này trên máy: ghi mới.", "Not on this device yet: record a new person.")
          : tr("Nhập số điện thoại hoặc số định danh cá nhân.", "Enter a phone or personal identification number.")));
    };
    query.addEventListener("input", lookup);
    await lookup();
    paint(gen, ...heading, h("h2", {}, detail.name),
      h("label", { for: "citizen-q" }, tr("Số điện thoại hoặc số định danh cá nhân của người nộp", "Applicant's phone or personal identification number")), query,
      results, nav(back("procedure"), h("button", { type: "button", id: "citizen-new", onclick: () => pick(fresh()) },
        tr("Ghi người nộp mới", "Record a new applicant"))), cancel);
    return;
  }

  const codes = new Set(units.map((u) => u.code));
  const options = { communeExists: codes.size ? (code) => codes.has(code) : null, today: todayInVietnam() };
  const input = draft.input || {};
  if (draft.step === "form") {
    const summary = h("p", { class: "error", id: "summary", hidden: true, role: "alert" });
    const editor = formEditor(form, input, { communes: units, onChange: async () => {
      editor.showErrors(validate(form, input, options).errors);
      draft = { ...draft, input };
      await saveDraft(draft);
    } });
    paint(gen, ...heading, h("h2", {}, detail.name), editor.element, summary,
      nav(back("citizen"), h("button", { type: "button", id: "form-next", onclick: async () => {
        const { errors } = validate(form, input, options);
        editor.showErrors(errors, { required: true });
        const contact = missingContact(form, input);
        if (!errors.length && contact) {
          summary.textContent = contact;
          summary.hidden = false;
          return;
        }
        if (errors.length) {
          summary.textContent = tr(`Tờ khai còn ${errors.length} lỗi. Hãy sửa các mục được đánh dấu.`,
            `The form has ${errors.length} errors. Fix the marked fields.`);
          summary.hidden = false;
          return;
        }
        go("documents");
      } }, tr("Tiếp tục", "Next"))), cancel);
    if (Object.keys(input).length) editor.showErrors(validate(form, input, options).errors);
    return;
  }

  if (draft.step === "documents") {
    paint(gen, ...heading, h("h2", {}, detail.name),
      pagesEditor(draft.id, detail.documents || [], { editable: true, progress: uploadProgress, onAdded: () => {} }),
      nav(back("form"), h("button", { type: "button", id: "documents-next", onclick: () => go("signature") }, tr("Tiếp tục", "Next"))),
      cancel);
    return;
  }

  if (draft.step === "signature") {
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const pad = signaturePad(draft.id, SIGNATURE_DOCUMENT);
    paint(gen, ...heading, pad, error,
      nav(back("documents"), h("button", { type: "button", id: "signature-next", onclick: () => {
        if (!pad.hasSignature()) {
          error.textContent = tr("Người nộp cần ký và bấm “Lưu chữ ký” trước.", "The applicant must sign and save first.");
          error.hidden = false;
          return;
        }
        go("issue");
      } }, tr("Tiếp tục", "Next"))), cancel);
    return;
  }

  // Issue: the summary, then one tap writes the dossier, its code and the receipt.
  const { clean, errors } = validate(form, input, options);
  const pages = await pagesOf(draft.id);
  const documents = (detail.documents || []).map((d) => ({ name: d.name, pages: pages.filter((p) => p.document === d.name).length }));
  const person = citizenOf(form, input, communeName);
  const calendar = await meta("calendar");
  // The fee for a dossier received in person (Decree 61/2018: collected at reception), from the procedure's rule and
  // the pages on this phone (fees.js, the server's twin): with the unit's account on the phone, the receipt shows a
  // VietQR code to pay it now, offline too (docs/payments.md "At a field intake").
  const pageCounts = {};
  for (const page of pages) pageCounts[page.document] = (pageCounts[page.document] || 0) + 1;
  const quote = feeFor(detail, "direct", clean, pageCounts);
  const fee = await intakeFee(quote.amount_vnd, user.unit.code);
  const problem = h("p", { class: "error", role: "alert", id: "issue-error", hidden: !errors.length },
    errors.length ? tr("Tờ khai chưa đủ: hãy quay lại bước Tờ khai.", "The form is incomplete: go back to the Form step.") : "");
  // The officer's decision after checking (Decree 61/2018 Art. 19, Decree 118/2025; Circular 03/2025 forms 01–03):
  // receive a complete dossier (code, receipt, appointment), or, before reception, guide on form 02 or refuse on
  // form 03 with what is missing or why. Which of them this officer may take is the server's workflow (workflow.js).
  const reason = h("textarea", { id: "intake-reason", rows: 3 });
  const reasonError = h("p", { class: "error", role: "alert", id: "intake-reason-error", hidden: true });
  const decide = (command) => async (e) => {
    const text = reason.value.trim();
    if (!text) {
      reasonError.textContent = command === "refuse"
        ? tr("Hãy ghi lý do từ chối.", "Give the reason for refusing.")
        : tr("Hãy ghi giấy tờ, thông tin còn thiếu.", "Write what is missing.");
      reasonError.hidden = false;
      return;
    }
    e.target.disabled = true;
    await fileCheckedDossier({ id: draft.id, procedure: detail, unitCode: user.unit.code, input, clean,
      at: new Date().toISOString(), command, reason: text });
    await tx(["meta"], "readwrite", (st) => st.meta.delete("intake_draft"));
    onChecked(draft.id, command);
  };
  const choices = [];
  if (allows("request_supplement", S.submitted, user.role)) {
    choices.push(h("button", { type: "button", class: "button secondary", id: "intake-guide", onclick: decide("request_supplement") },
      tr("Hướng dẫn bổ sung (mẫu 02)", "Guide to complete it (form 02)")));
  }
  if (allows("refuse", S.submitted, user.role)) {
    choices.push(h("button", { type: "button", class: "button secondary", id: "intake-refuse", onclick: decide("refuse") },
      tr("Từ chối tiếp nhận (mẫu 03)", "Refuse (form 03)")));
  }
  const canReceive = allows("receive", S.submitted, user.role);
  paint(gen, ...heading, h("h2", {}, tr("Kiểm tra trước khi cấp giấy tiếp nhận", "Check before issuing the receipt")),
    h("dl", { class: "facts" },
      h("dt", {}, tr("Thủ tục", "Procedure")), h("dd", {}, detail.name),
      h("dt", {}, tr("Người nộp", "Applicant")), h("dd", {}, person.full_name),
      h("dt", {}, tr("Giấy tờ", "Documents")), h("dd", {}, documents.map((d) => `${d.name}: ${d.pages}`).join("; ")),
      h("dt", {}, tr("Chữ ký", "Signature")), h("dd", {}, pages.some((p) => p.document === SIGNATURE_DOCUMENT) ? "✓" : "—"),
      h("dt", {}, tr("Phí, lệ phí", "Fees")), h("dd", { id: "intake-fee" }, feeText(quote) + (fee
        ? tr(" — nộp bằng mã VietQR trên giấy tiếp nhận", " — paid with the VietQR code shown with the receipt") : ""))),
    calendar ? null : h("p", { class: "error" }, tr("Máy chưa có lịch làm việc: ngày hẹn sẽ có sau khi đồng bộ.",
      "No working calendar on this device: the appointment date comes after syncing.")),
    problem,
    h("p", { class: "hint" }, tr("Hồ sơ đầy đủ: tiếp nhận và cấp giấy tiếp nhận, hẹn trả kết quả. Chưa đầy đủ: hướng dẫn bổ sung một lần bằng "
      + "phiếu (mẫu 02). Không đủ điều kiện: từ chối (mẫu 03). Hai trường hợp sau chưa tiếp nhận nên không có mã hồ sơ.",
    "Complete: receive it and issue the receipt with the appointment. Incomplete: guide once in writing (form 02). Not "
      + "acceptable: refuse (form 03). Neither of the last two is received, so neither gets a code.")),
    nav(back("signature"), canReceive ? h("button", { type: "button", id: "issue", disabled: errors.length > 0 || Boolean(missingContact(form, input)), onclick: async (e) => {
      e.target.disabled = true;
      const receivedAt = new Date().toISOString();
      const due = appointment(receivedAt, calendar, detail, "direct", input.case);
      await issueFieldDossier({ id: draft.id, procedure: detail, unitCode: user.unit.code, input, clean, receivedAt, fee,
        receipt: (code, provisional) => ({
          code, provisional, procedure_code: detail.code, procedure_name: detail.name, citizen: person, documents,
          received_at: receivedAt, due_at: due, processing_days: detail.processing_days, officer_name: user.full_name,
          unit_code: user.unit.code, unit_name: user.unit.name, signature_document: SIGNATURE_DOCUMENT,
        }) });
      await tx(["meta"], "readwrite", (s) => s.meta.delete("intake_draft"));
      onIssued(draft.id);
    } }, tr("Cấp giấy tiếp nhận", "Issue the receipt")) : null),
    choices.length ? h("div", { class: "intake-check" },
      h("label", { for: "intake-reason" }, tr("Giấy tờ, thông tin còn thiếu hoặc lý do từ chối", "What is missing, or why it is refused")),
      reason, reasonError, h("div", { class: "actions" }, ...choices)) : null,
    cancel);
}
