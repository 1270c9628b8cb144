// The officers' queue (hàng đợi hồ sơ): the unit's dossiers as synced to this device, filtered by status,
// procedure, deadline and assignment, with the steps of docs/workflow.md as buttons. Every step is a sync command
// (officer.js), so the queue works from a phone offline too; the server checks each one when it arrives and a
// refused one is shown on its dossier with the server's reason.
import { changed, meta, read, readAll, tx } from "./db.js";
import { h } from "./dom.js";
import { pick, tr } from "./i18n.js";
import { savedUser, sendCommand } from "./officer.js";
import { addPage, allPages, pagesChanged } from "./attachments.js";
import { feeFor, feeText } from "./fees.js";
import { applicantName, vietnameseDateTime } from "./receipt.js";
import { dateInput, formatDateTime, parseDate } from "./dates.js";
import { requestSync, resetBackoff } from "./sync.js";
import { signaturePad } from "./signature.js";
import { uploadPages } from "./upload.js";
import { workingSecondsBetween } from "./working-time.js";
import { allows, allowsOnTheSpot, groups, S, statusCodes, statusName, step } from "./workflow.js";

// Highlighted when less than one working day is left (by the working calendar stored on the phone), or, with no
// calendar, less than two calendar days.
const DUE_SOON_MS = 2 * 24 * 3600 * 1000;
// The clock runs while received or processing (it stops for a supplement or a payment; a submitted dossier has no
// appointment yet).
const running = (status) => status === S.received || status === S.processing;
const RESULT_DOCUMENT = "Kết quả giải quyết"; // the name the server reserves for the result (server/attachments/service.py)
const RECEIVER_SIGNATURE = "Chữ ký của người nhận kết quả"; // the receiver signs the hand-over (server/attachments/service.py)
const SHOWN = 200; // cards drawn at most: a cheap phone stays responsive; the filters narrow the rest

// The steps the queue offers as buttons, in this order. Which role may take which from which status, and whether it
// needs a reason, is the server's workflow (GET /api/workflow, workflow.js); this only labels the buttons.
// `when(entry, deadline)`: a further condition the server checks too (asking again for a supplement needs the
// citizen's answer first; the apology is once, when the appointment is near).
const ACTIONS = [
  // From 5 only a dossier guided before reception (form 02); one received earlier accepts the supplement instead.
  { command: "receive", label: ["Tiếp nhận", "Receive"], when: (e) => e.status !== S.supplement || !e.received_at },
  { command: "refuse", label: ["Từ chối", "Refuse"] },
  { command: "request_supplement", label: ["Yêu cầu bổ sung", "Request a supplement"],
    when: (e) => e.status !== S.supplement || e.substatus === "sent" },
  { command: "start", label: ["Bắt đầu xử lý", "Start processing"] },
  { command: "forward", label: ["Chuyển hồ sơ", "Forward"], unit: true },
  { command: "accept_supplement", label: ["Đã nhận bổ sung", "Supplement received"], when: (e) => Boolean(e.received_at) },
  // Outside 6, only a fee fixed at a field intake and not paid yet (docs/payments.md "At a field intake").
  { command: "payment_done", label: ["Đã nộp phí", "Payment done"],
    when: (e) => e.status === S.payment || Boolean(e.fee_amount_vnd && e.fee_fixed_at && !e.paid_at) },
  { command: "finish", label: ["Đã có kết quả", "Result ready"] },
  // A leader signs the drafted result before it is returned (docs/workflow.md "Approval and return").
  { command: "approve", label: ["Ký duyệt kết quả", "Approve (sign) the result"], when: (e) => e.substatus === "drafted" },
  { command: "return", label: ["Trả kết quả", "Return the result"], returning: true, when: (e) => e.substatus !== "drafted" },
  // Văn bản xin lỗi và hẹn lại ngày trả kết quả: once, when less than a working day is left (or late).
  { command: "apologise", label: ["Xin lỗi, hẹn lại ngày trả", "Apologise, set a new date"],
    newDue: true, when: (e, deadline) => !e.apology_sent_at && Boolean(deadline) },
];
// A step's form asks for a reason when the server's workflow says the step needs one.
const needsReason = (action) => Boolean(step(action.command) && step(action.command).needs_reason);
const REASON_LABEL = {
  refuse: ["Lý do từ chối", "Reason for refusing"],
  request_supplement: ["Giấy tờ, thông tin còn thiếu", "What is missing"],
  forward: ["Lý do chuyển", "Reason for forwarding"],
  apologise: ["Lý do chậm trả kết quả", "Why the result is late"],
};
// What the officer typed into a step's form, by argument: shown again when the server refuses the step.
const ARG_LABEL = {
  reason: ["Nội dung", "Text"], unit_code: ["Đơn vị nhận", "Receiving office"], new_due_at: ["Ngày hẹn mới", "New date"],
  consignment: ["Số hiệu bưu gửi", "Consignment number"], officer_id: ["Cán bộ", "Officer"],
  received_by: ["Người nhận kết quả", "Received by"],
};
const actionLabel = (command) => {
  const action = ACTIONS.find((a) => a.command === command);
  return action ? tr(...action.label) : command;
};

/** A queue entry: the server's fields when synced, else what this device wrote (a field intake not yet sent). */
function entryOf(d) {
  const data = d.replica ? d.replica.data : {};
  return {
    id: d.id, status: d.replica ? data.status : d.status, code: data.code || d.code || "",
    procedure_code: data.procedure_code || d.procedure_code, unit_code: data.unit_code || d.unit_code,
    handling_unit_code: data.handling_unit_code || null, assigned_to: data.assigned_to ?? null,
    due_at: data.due_at || (d.receipt && d.receipt.due_at) || null, received_at: data.received_at || (d.receipt && d.receipt.received_at) || null,
    submitted_at: data.submitted_at || null, problems: d.problems || [],
    receipt: Boolean(d.receipt), postal_return: Boolean(data.postal_return), substatus: data.substatus || null,
    apology_sent_at: data.apology_sent_at || null, postal_consignment: data.postal_consignment || null,
    channel: data.channel || (d.receipt ? "field" : "online"),
    // The fee fixed on the dossier (at request_payment, or at a field intake) and its payment (docs/payments.md).
    fee_amount_vnd: data.fee_amount_vnd, fee_fixed_at: data.fee_fixed_at || null, paid_at: data.paid_at || null,
  };
}

export function deadlineOf(entry, now = Date.now(), calendar = null) {
  if (!entry.due_at || !running(entry.status)) return "";
  const left = new Date(entry.due_at).getTime() - now;
  if (left < 0) return "overdue";
  if (calendar) {
    const day = calendar.working_hours.reduce((sum, [a, b]) => sum + minutes(b) - minutes(a), 0) * 60;
    try {
      return workingSecondsBetween(new Date(now), entry.due_at, calendar) < day ? "due-soon" : "";
    } catch (error) { /* a calendar this version cannot read: the plain rule below */ }
  }
  return left < DUE_SOON_MS ? "due-soon" : "";
}

// The day (YYYY-MM-DD) of a moment in Vietnam (UTC+7 all year), the day after, the end of the working day.
const vietnamDay = (iso) => new Date(Date.parse(iso) + 7 * 3600 * 1000).toISOString().slice(0, 10);
const nextDay = (day) => new Date(Date.parse(`${day}T00:00:00Z`) + 24 * 3600 * 1000).toISOString().slice(0, 10);
const closingTime = (calendar) => (calendar && calendar.working_hours && calendar.working_hours.length
  ? calendar.working_hours[calendar.working_hours.length - 1][1] : "17:00");

/** The queue's order: overdue first, then due soon, then new dossiers (submitted, waiting for reception: the longest
 * waiting first), then the rest by appointment (none last); ties by arrival. */
export function byUrgency(now, calendar) {
  const rank = (e) => {
    const deadline = deadlineOf(e, now, calendar);
    return deadline === "overdue" ? 0 : deadline === "due-soon" ? 1 : e.status === S.submitted ? 2 : 3;
  };
  const arrived = (e) => e.submitted_at || e.received_at || "";
  const time = (iso) => (iso ? Date.parse(iso) : Infinity);
  return (a, b) => rank(a) - rank(b) || time(a.due_at) - time(b.due_at) || time(arrived(a)) - time(arrived(b));
}

const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

const filters = { status: "", procedure: "", deadline: "", mine: false }; // kept while the app is open

/** Draws the queue into the view (route number `gen`); it redraws itself after any committed write. `liveUser`:
 * who /api/session says is signed in, when known. */
export async function queueView(gen, paint, liveUser = null) {
  // The session's user when online (the stored copy may not be written yet right after signing in).
  const user = liveUser || (await savedUser());
  if (!user || !user.unit || !["intake", "specialist", "leader"].includes(user.role)) {
    paint(gen, h("h1", {}, tr("Hàng đợi hồ sơ", "Dossier queue")),
      h("p", { class: "empty" }, tr("Hàng đợi dành cho cán bộ của đơn vị. Hãy đăng nhập khi có mạng.",
        "The queue is for the unit's officers. Sign in while online.")));
    return;
  }
  // dossier id -> {action, values} of the small form open on it: kept across redraws (a sync round redraws the
  // list), with what was typed so far.
  const open = new Map();
  const copied = new Map(); // problem -> "copied" note, kept across redraws
  const list = h("ul", { class: "cards queue", id: "queue" });
  const count = h("p", { class: "count", id: "queue-count" });
  const procedureFilter = h("select", { id: "filter-procedure", onchange: (e) => { filters.procedure = e.target.value; draw(); } });

  let onTheSpotCodes = new Set(); // "4 tại chỗ" procedures: the intake officer also appraises and approves
  let drawing = 0; // draws overlap (each reads IndexedDB first): only the latest may replace the list
  async function draw() {
    const mine = ++drawing;
    const procedures = await readAll("procedures");
    const names = new Map(procedures.map((p) => [p.code, p.name]));
    onTheSpotCodes = new Set(procedures.filter((p) => p.on_the_spot).map((p) => p.code));
    const outbox = await readAll("outbox");
    const units = await readAll("units");
    const serverPages = new Map(); // dossier id -> {document: count of pages not refused}
    for (const a of await readAll("attachments")) {
      if (a.status === "rejected") continue;
      const counts = serverPages.get(a.dossier_id) || {};
      counts[a.document] = (counts[a.document] || 0) + 1;
      serverPages.set(a.dossier_id, counts);
    }
    const results = new Map(); // dossier id -> its result pages on this phone
    for (const p of await allPages()) {
      if (p.document === RESULT_DOCUMENT) results.set(p.dossier_id, [...(results.get(p.dossier_id) || []), p]);
    }
    const ours = (await readAll("dossiers")).map((d) => [d, entryOf(d)])
      .filter(([, e]) => groups.sent.has(e.status) && (e.unit_code === user.unit.code || e.handling_unit_code === user.unit.code));
    if (mine !== drawing) return;
    const codes = [...new Set(ours.map(([, e]) => e.procedure_code))].sort();
    // The fee as the procedure's rule gives it for the dossier's channel, form and pages on the server (fees.js).
    // Only the procedures in the queue are read: an intake officer's phone keeps every form, and this runs on each redraw.
    const details = new Map();
    for (const code of codes) {
      const detail = await read("details", code);
      if (detail) details.set(code, detail);
    }
    const feeOf = (d, e) => {
      // Once payment was requested the amount is the one fixed on the dossier (docs/payments.md), paid or not.
      if (e.fee_amount_vnd !== undefined) {
        const fixed = feeText({ amount_vnd: e.fee_amount_vnd, note: "", exemptions: [] });
        return fixed + (e.paid_at ? tr(" (đã nộp)", " (paid)") : tr(" (chờ nộp)", " (to pay)"));
      }
      const detail = details.get(e.procedure_code);
      return detail ? feeText(feeFor(detail, e.channel, d.input || {}, serverPages.get(d.id) || {})) : null;
    };
    procedureFilter.replaceChildren(h("option", { value: "" }, tr("Mọi thủ tục", "All procedures")),
      ...codes.map((c) => h("option", { value: c, selected: c === filters.procedure }, names.get(c) || c)));
    const now = Date.now();
    const calendar = (await meta("calendar")) || null;
    if (mine !== drawing) return;
    const urgency = byUrgency(now, calendar);
    // The applicant as the dossier's form names them (the form read above; a field name's rule without it).
    const applicantOf = (d, e) => applicantName((details.get(e.procedure_code) || {}).form || null, d.input || {});
    const shown = ours.filter(([, e]) => (!filters.status || e.status === Number(filters.status)) &&
      (!filters.procedure || e.procedure_code === filters.procedure) &&
      (!filters.deadline || deadlineOf(e, now, calendar) === filters.deadline || (filters.deadline === "due-soon" && deadlineOf(e, now, calendar) === "overdue")) &&
      (!filters.mine || String(e.assigned_to) === String(user.id)))
      .sort(([, a], [, b]) => urgency(a, b));
    count.textContent = tr(`${shown.length} hồ sơ`, `${shown.length} dossiers`) +
      (shown.length > SHOWN ? tr(` (hiển thị ${SHOWN} hồ sơ đầu; hãy lọc để xem các hồ sơ khác)`, ` (the first ${SHOWN} shown; filter to see others)`) : "");
    const focused = list.contains(document.activeElement) && document.activeElement.id ? document.activeElement.id : null;
    list.replaceChildren(...(shown.length ? shown.slice(0, SHOWN).map(([d, e]) => card(d, e, names, outbox, units, now, results.get(d.id) || [], calendar, feeOf(d, e), applicantOf(d, e)))
      : [h("li", { class: "empty" }, tr("Không có hồ sơ nào khớp bộ lọc.", "No dossier matches the filters."))]));
    // A redraw (a sync round) while a reason is being typed keeps the cursor where it was.
    const again = focused && document.getElementById(focused);
    if (again) again.focus();
  }

  function card(d, e, names, outbox, units, now, resultPages, calendar, fee, applicant) {
    const deadline = deadlineOf(e, now, calendar);
    const waiting = outbox.filter((m) => m.entity_id === d.id);
    const actions = ACTIONS.filter((a) => (allows(a.command, e.status, user.role) ||
        (onTheSpotCodes.has(e.procedure_code) && allowsOnTheSpot(a.command, e.status, user.role))) &&
      (!a.when || a.when(e, deadline)) &&
      // After a transfer only the handling unit processes; the receiving desk may still return the result.
      (!e.handling_unit_code || e.handling_unit_code === user.unit.code || a.command === "return"));
    const handling = e.handling_unit_code && units.find((u) => u.code === e.handling_unit_code);
    const busy = waiting.some((m) => m.op === "command");
    return h("li", { class: `card queue-item ${deadline}`.trim(), "data-id": d.id, "data-status": e.status, "data-deadline": deadline },
      h("strong", {}, names.get(e.procedure_code) || d.procedure_name || e.procedure_code),
      applicant ? h("span", { class: "applicant" }, tr("Người nộp: ", "Applicant: "), applicant) : null,
      e.code ? h("span", { class: "meta" }, e.code) : null,
      // When it reached the office: submitted online, or received at the desk or in the field.
      e.submitted_at || e.received_at ? h("span", { class: "arrived" }, tr("Ngày nộp: ", "Arrived: "),
        formatDateTime(e.submitted_at || e.received_at)) : null,
      h("span", { class: "queue-status" }, statusName(e.status),
        e.due_at ? h("span", { class: "due" }, ` · ${tr("Hẹn trả", "Due")}: ${formatDateTime(e.due_at)}`) : "",
        deadline === "overdue" ? h("strong", { class: "deadline-flag" }, ` · ${tr("Quá hạn", "Overdue")}`)
          : deadline === "due-soon" ? h("strong", { class: "deadline-flag" }, ` · ${tr("Sắp đến hạn", "Due soon")}`) : ""),
      e.status === S.supplement ? h("span", { class: "supplement-state", "data-substatus": e.substatus || "" }, e.substatus === "sent"
        ? tr("Công dân đã gửi bổ sung", "The citizen has sent the supplement")
        : tr("Đang chờ công dân bổ sung", "Waiting for the citizen's supplement")) : null,
      e.apology_sent_at ? h("span", { class: "apology-sent" }, tr("Đã xin lỗi, hẹn lại ngày trả", "Apologised, new date set")) : null,
      e.handling_unit_code ? h("span", { class: "handling-unit" }, tr("Đơn vị xử lý: ", "Handled by: "),
        handling ? `${handling.name} (${handling.code})` : e.handling_unit_code) : null,
      e.postal_consignment ? h("span", { class: "consignment" }, tr("Số hiệu bưu gửi: ", "Consignment: "), e.postal_consignment) : null,
      fee ? h("span", { class: "fee" }, tr("Phí, lệ phí: ", "Fee: "), fee) : null,
      resultPages.length ? h("p", { class: "result-pages" }, tr("Kết quả: ", "Result: "), resultPages.map((p) =>
        p.status === "verified" ? tr("đã gửi", "sent") : p.status === "rejected" ? tr(`bị từ chối (${p.reject_reason})`, `refused (${p.reject_reason})`)
          : tr("chờ gửi", "waiting")).join(", ")) : null,
      ...waiting.map((m) => h("p", { class: "pending" }, tr("Chờ gửi: ", "Waiting to send: "),
        m.op === "command" ? actionLabel(m.command) : tr("tạo hồ sơ", "creating the dossier"))),
      ...e.problems.map((p, i) => problem(d, p, i, units)),
      h("div", { class: "actions" },
        e.receipt ? h("a", { class: "button secondary", href: `#/receipt/${d.id}` }, tr("Giấy tiếp nhận", "Receipt"))
          // Received elsewhere (at the desk, online): the server's printable receipt, when online.
          : d.replica && groups.sent.has(e.status) && ![S.submitted, S.refused].includes(e.status) ? h("a", { class: "button secondary", target: "_blank", rel: "noopener",
            href: `/dossiers/${encodeURIComponent(d.id)}/documents/receipt` }, tr("Giấy tiếp nhận", "Receipt")) : null,
        h("a", { class: "button secondary", href: `#/d/${d.id}` }, tr("Xem", "Open")),
        ...actions.map((a) => h("button", { type: "button", class: "action", "data-command": a.command, disabled: busy,
          onclick: () => act(d, a) }, tr(...a.label))),
        [S.processing, S.result_ready].includes(e.status) && ["intake", "specialist", "leader"].includes(user.role) ? resultInput(d) : null),
      open.has(d.id) ? dialog(d, e, open.get(d.id), units, calendar) : null);
  }

  // A step the server refused (sync.js keeps the command and its args with the reason): the reason, and what the
  // officer typed, to copy before discarding it, so nothing typed is lost silently.
  function problem(d, p, index, units) {
    const key = `${d.id}|${p.at}|${index}`;
    const text = typedText(p, units);
    const box = text ? h("textarea", { class: "typed", id: `typed-${d.id}-${index}`, readonly: true,
      rows: Math.min(6, text.split("\n").length + 1), value: text }) : null;
    const note = h("span", { class: "copy-note", role: "status" }, copied.get(key) || "");
    const copy = async () => {
      let done = false;
      try {
        if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); done = true; }
      } catch (error) { /* no permission (an old WebView, a page without focus): select it instead */ }
      if (!done) { box.focus(); box.select(); try { done = document.execCommand("copy"); } catch (error) { done = false; } }
      copied.set(key, done ? tr("Đã sao chép vào bộ nhớ tạm.", "Copied to the clipboard.")
        : tr("Đã chọn nội dung: hãy nhấn giữ để sao chép.", "The text is selected: press and hold to copy it."));
      note.textContent = copied.get(key);
      if (!done) { box.focus(); box.select(); }
    };
    return h("div", { class: "error problem", role: "alert", "data-code": p.code || "" },
      h("p", {}, tr(`Máy chủ không thực hiện «${actionLabel(p.command || p.op)}»: `, `The server did not do "${actionLabel(p.command || p.op)}": `),
        pick(p.reason) || p.code),
      box ? h("label", { for: box.id }, tr("Nội dung đã nhập", "What you entered")) : null, box,
      h("div", { class: "actions" },
        box ? h("button", { type: "button", class: "button secondary", onclick: copy }, tr("Sao chép", "Copy")) : null,
        h("button", { type: "button", class: "link", onclick: () => { copied.delete(key); dismiss(d.id, index); } },
          box ? tr("Bỏ qua", "Discard") : tr("Đã hiểu", "Dismiss"))),
      note);
  }

  function typedText(p, units) {
    const lines = Object.entries(p.args || {}).filter(([, v]) => typeof v === "string" || typeof v === "number")
      .filter(([, v]) => String(v).trim() !== "").map(([name, v]) => {
        const unit = name === "unit_code" && units.find((u) => u.code === v);
        const value = name === "new_due_at" ? vietnameseDateTime(v, { time: false }) : unit ? `${unit.name} (${unit.code})` : v;
        return `${ARG_LABEL[name] ? tr(...ARG_LABEL[name]) : name}: ${value}`;
      });
    return lines.length ? [`${tr("Thao tác", "Step")}: ${actionLabel(p.command || p.op)}`, ...lines].join("\n") : "";
  }

  function resultInput(d) {
    const id = `result-${d.id}`;
    return h("span", {}, h("label", { class: "button secondary", for: id }, tr("Đính kèm kết quả", "Attach the result")),
      h("input", { id, type: "file", class: "visually-hidden", accept: "image/*,application/pdf", onchange: async (e) => {
        for (const file of [...e.target.files]) await addPage(d.id, RESULT_DOCUMENT, file);
        e.target.value = "";
        uploadPages();
      } }));
  }

  async function act(d, action) {
    if (needsReason(action) || action.returning) { open.set(d.id, { action, values: {} }); draw(); return; }
    await send(d.id, action.command, {});
  }

  // A step the officer chose goes now (or at the next connection), whatever backoff earlier failures built up.
  async function send(id, command, args) {
    await sendCommand(id, command, args);
    resetBackoff();
    requestSync();
  }

  // The small form of a step that needs words: a reason, a unit, or how the result is returned.
  function dialog(d, e, { action, values }, units, calendar) {
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const reasonId = `reason-${d.id}`;
    const keep = (name) => (ev) => { values[name] = ev.target.type === "checkbox" ? ev.target.checked : ev.target.value; };
    const reason = needsReason(action) ? h("textarea", { id: reasonId, rows: 3, maxlength: 2000, value: values.reason || "",
      oninput: keep("reason") }) : null;
    const unit = action.unit ? h("select", { id: `unit-${d.id}`, onchange: keep("unit") },
      h("option", { value: "" }, tr("— Chọn —", "— Choose —")),
      units.filter((u) => u.code !== user.unit.code).sort((a, b) => a.name.localeCompare(b.name, "vi"))
        .map((u) => h("option", { value: u.code, selected: u.code === values.unit }, `${u.name} (${u.code})`))) : null;
    const byPost = action.returning ? h("input", { type: "checkbox", id: `post-${d.id}`,
      checked: values.byPost ?? e.postal_return, onchange: (ev) => { keep("byPost")(ev); draw(); } }) : null;
    const atDesk = action.returning && !(values.byPost ?? e.postal_return);
    const dueDay = e.due_at ? vietnamDay(e.due_at) : null;
    // dd/mm/yyyy whatever the browser's language (dates.js); data-date holds the day typed, as YYYY-MM-DD.
    const newDue = action.newDue ? dateInput({ id: `new-due-${d.id}`, "data-min": dueDay ? nextDay(dueDay) : null,
      value: values.newDue || "", onValue: (v) => keep("newDue")({ target: { value: v } }) }) : null;
    const consignment = action.returning ? h("input", { id: `consignment-${d.id}`, type: "text", autocomplete: "off",
      value: values.consignment || "", oninput: keep("consignment") }) : null;
    // At the desk the person collecting the result gives their name and signs (the hand-over record).
    const receiver = atDesk ? h("input", { id: `received-by-${d.id}`, type: "text", autocomplete: "off", maxlength: 200,
      value: values.receivedBy || "", oninput: keep("receivedBy") }) : null;
    const pad = atDesk ? signaturePad(d.id, RECEIVER_SIGNATURE, { onSaved: () => uploadPages(),
      title: ["Chữ ký của người nhận kết quả", "Signature of the person receiving the result"],
      help: ["Mời người nhận kết quả ký vào khung dưới đây.", "Ask the person receiving the result to sign below."] }) : null;
    const confirm = async () => {
      const args = {};
      if (reason) {
        if (!reason.value.trim()) { error.textContent = tr("Hãy ghi rõ lý do.", "Give the reason."); error.hidden = false; return; }
        args.reason = reason.value.trim();
      }
      if (newDue) {
        // The new appointment: that day at the end of working hours, Vietnam time (the server wants an offset).
        const day = parseDate(newDue.value);
        const at = day ? `${day}T${closingTime(calendar)}:00+07:00` : "";
        if (!at || (e.due_at && Date.parse(at) <= Date.parse(e.due_at))) {
          error.textContent = tr("Hãy chọn ngày hẹn mới, sau ngày hẹn hiện tại.", "Choose a new date, later than the current one.");
          error.hidden = false;
          return;
        }
        args.new_due_at = at;
      }
      if (unit) {
        if (!unit.value) { error.textContent = tr("Hãy chọn đơn vị nhận.", "Choose the office."); error.hidden = false; return; }
        args.unit_code = unit.value;
      }
      if (byPost && byPost.checked) {
        if (!consignment.value.trim()) { error.textContent = tr("Hãy ghi số hiệu bưu gửi.", "Enter the consignment number."); error.hidden = false; return; }
        Object.assign(args, { by_post: true, consignment: consignment.value.trim() });
      } else if (receiver) {
        if (!receiver.value.trim()) { error.textContent = tr("Hãy ghi họ tên người nhận kết quả.", "Write who receives the result."); error.hidden = false; return; }
        if (!pad.hasSignature()) { error.textContent = tr("Người nhận cần ký và bấm “Lưu chữ ký”.", "The receiver must sign and save."); error.hidden = false; return; }
        args.received_by = receiver.value.trim();
      }
      open.delete(d.id);
      await send(d.id, action.command, args);
    };
    return h("form", { class: "step-form", "data-for": action.command, novalidate: true, onsubmit: (ev) => { ev.preventDefault(); confirm(); } },
      h("h3", {}, tr(...action.label)),
      newDue ? h("label", { for: newDue.id }, tr("Ngày hẹn trả mới", "New appointment date")) : null, newDue,
      reason ? h("label", { for: reasonId }, tr(...REASON_LABEL[action.command])) : null, reason,
      unit ? h("label", { for: `unit-${d.id}` }, tr("Đơn vị nhận", "Receiving office")) : null, unit,
      byPost ? h("label", { class: "choice" }, byPost, " ", tr("Trả qua bưu chính công ích", "By public postal service")) : null,
      consignment ? h("label", { for: `consignment-${d.id}` }, tr("Số hiệu bưu gửi (nếu gửi qua bưu điện)", "Consignment number (by post)")) : null,
      consignment,
      receiver ? h("label", { for: receiver.id }, tr("Họ tên người nhận kết quả (tại bộ phận một cửa)", "Name of the person receiving the result (at the desk)")) : null,
      receiver, pad, error,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "button secondary", onclick: () => { open.delete(d.id); draw(); } }, tr("Huỷ", "Cancel")),
        h("button", { type: "submit", class: "confirm" }, tr("Xác nhận", "Confirm"))));
  }

  async function dismiss(id, index) {
    await tx(["dossiers"], "readwrite", async (s) => {
      const dossier = await s.dossiers.get(id);
      if (!dossier) return;
      dossier.problems = (dossier.problems || []).filter((_, i) => i !== index);
      await s.dossiers.put(dossier);
    });
  }

  const statusFilter = h("select", { id: "filter-status", onchange: (e) => { filters.status = e.target.value; draw(); } },
    h("option", { value: "" }, tr("Mọi trạng thái", "All statuses")),
    statusCodes().filter((s) => groups.sent.has(s)).map((s) => h("option", { value: String(s), selected: String(s) === filters.status }, statusName(s))));
  const deadlineFilter = h("select", { id: "filter-deadline", onchange: (e) => { filters.deadline = e.target.value; draw(); } },
    h("option", { value: "" }, tr("Mọi thời hạn", "Any deadline")),
    h("option", { value: "due-soon", selected: filters.deadline === "due-soon" }, tr("Sắp đến hạn", "Due soon")),
    h("option", { value: "overdue", selected: filters.deadline === "overdue" }, tr("Quá hạn", "Overdue")));
  const mineFilter = h("input", { type: "checkbox", id: "filter-mine", checked: filters.mine,
    onchange: (e) => { filters.mine = e.target.checked; draw(); } });
  // Listening before the first read: a sync round that ends while the queue is being drawn is not missed. Once
  // another view replaced this one, the listener removes itself.
  let pending = null;
  let painted = false;
  const onChange = () => {
    if (painted && !list.isConnected) { stopListening(); return; }
    clearTimeout(pending);
    pending = setTimeout(draw, 50);
  };
  const stopListening = () => {
    changed.removeEventListener("change", onChange);
    pagesChanged.removeEventListener("change", onChange); // a result page's upload state
  };
  changed.addEventListener("change", onChange);
  pagesChanged.addEventListener("change", onChange);
  await draw();
  painted = paint(gen, h("h1", {}, tr("Hàng đợi hồ sơ", "Dossier queue")),
    h("p", { class: "meta" }, `${user.full_name} · ${user.unit.name}`),
    user.role === "intake" ? h("p", {}, h("a", { class: "button", href: "#/intake", id: "start-intake" }, tr("Tiếp nhận lưu động", "Field intake"))) : null,
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "filter-status" }, tr("Trạng thái", "Status")), statusFilter,
      h("label", { for: "filter-procedure" }, tr("Thủ tục", "Procedure")), procedureFilter,
      h("label", { for: "filter-deadline" }, tr("Thời hạn", "Deadline")), deadlineFilter,
      h("label", { class: "choice" }, mineFilter, " ", tr("Giao cho tôi", "Assigned to me"))),
    count, list);
  if (!painted) stopListening();
}

