// Fees (phí, lệ phí) as rules: what a dossier costs on its channel, shown before it is sent, offline.
// The same function as server/catalog/fees.py (docs/catalog.md "Fees"); tests/data/fee_cases.json runs through both.

const VND = ["VND", "Việt Nam Đồng", "đ", "đồng", ""];

const isCount = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;

function count(source, data, pages) {
  if (source && typeof source.field === "string") {
    const value = data[source.field];
    return isCount(value) ? Math.trunc(value) : null;
  }
  if (source && typeof source.document === "string") return pages[source.document] || 0;
  return Object.values(pages).reduce((a, b) => a + b, 0);
}

function ruleFor(fee, channel) {
  for (const rule of fee.rules || []) {
    if (rule && typeof rule === "object" && (!rule.channels || !rule.channels.length || rule.channels.includes(channel))) return rule;
  }
  return null;
}

function apply(rule, data, pages) {
  const amount = Math.trunc(rule.amount_vnd || 0);
  const kind = rule.kind || "fixed";
  if (kind === "fixed") return amount;
  const copies = "copies" in rule ? count(rule.copies, data, pages) : 1;
  if (copies === null) return null;
  if (kind === "per_copy") return amount * copies;
  const n = count(rule.pages, data, pages);
  if (!n) return null;
  let first = n;
  let rest = 0;
  if (rule.from_page !== undefined && rule.from_page !== null && rule.then_vnd !== undefined && rule.then_vnd !== null) {
    first = Math.min(n, rule.from_page - 1);
    rest = n - first;
  }
  let perCopy = amount * first + Math.trunc(rule.then_vnd || 0) * rest;
  if (rule.cap_vnd !== undefined && rule.cap_vnd !== null) perCopy = Math.min(perCopy, rule.cap_vnd);
  return perCopy * copies;
}

function fromChannels(entry, channel) {
  const methods = (entry.channels || []).filter((m) => m && m.channel === channel);
  if (!methods.length) return null;
  const fees = (methods[0].fees || []).filter((f) => f && typeof f === "object");
  if (!fees.length || fees.some((f) => f.amount === null || f.amount === undefined || !VND.includes(f.currency || ""))) {
    return { unknown: true };
  }
  const texts = fees.map((f) => (f.text || "").trim());
  if (texts.every((t) => !t)) return { kind: "fixed", amount_vnd: fees.reduce((a, f) => a + Math.trunc(f.amount), 0) };
  if (fees.length === 1 && ["/trang", "đồng/trang"].includes(texts[0])) return { kind: "per_page", amount_vnd: Math.trunc(fees[0].amount) };
  if (fees.length === 1 && ["/bản", "đồng/bản"].includes(texts[0])) return { kind: "per_copy", amount_vnd: Math.trunc(fees[0].amount) };
  return { unknown: true };
}

/** The fee of a dossier: { amount_vnd (null: not computable, see note), note, exemptions }. */
export function feeFor(entry, channel, data = {}, pages = {}) {
  const fee = entry.fee && typeof entry.fee === "object" ? entry.fee : {};
  data = data || {};
  pages = pages || {};
  if (channel === "field") channel = "direct";
  let rule = ruleFor(fee, channel);
  if (rule === null) rule = fromChannels(entry, channel);
  if (rule === null && channel === "online" && fee.online_amount_vnd !== undefined && fee.online_amount_vnd !== null) {
    rule = { kind: "fixed", amount_vnd: fee.online_amount_vnd };
  }
  if (rule === null && fee.amount_vnd !== undefined && fee.amount_vnd !== null) rule = { kind: "fixed", amount_vnd: fee.amount_vnd };
  const amount = rule === null || rule.unknown ? null : apply(rule, data, pages);
  const exemptions = (fee.exemptions || []).filter((t) => typeof t === "string");
  return { amount_vnd: amount, note: String(fee.note || ""), exemptions };
}

/** As the receipt prints it (server/catalog/fees.py fee_text). */
export function feeText(quote) {
  const amount = quote.amount_vnd;
  if (amount === null || amount === undefined) return quote.note || "Theo quy định — hỏi bộ phận một cửa";
  let text = amount === 0 ? "Không thu phí, lệ phí" : String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " đ";
  if (quote.exemptions && quote.exemptions.length) text += " (miễn, giảm: " + quote.exemptions.join("; ") + ")";
  return text;
}
