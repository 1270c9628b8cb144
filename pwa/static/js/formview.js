// Drawing a form definition (docs/forms.md) as inputs, and the errors of forms.js next to their fields.
// The view edits `input` in place and calls onChange(); the caller validates and saves.
import { dateInput } from "./dates.js";
import { h } from "./dom.js";
import { visibleFields } from "./forms.js";
import { pick, t } from "./i18n.js";
import { fold } from "./vietnamese.js";

const idOf = (path) => "f-" + path.replace(/[[\].]+/g, "-").replace(/-$/, "");
const TEXT_INPUTS = { text: ["text", null], phone: ["tel", "tel"], cccd: ["text", "numeric"], email: ["email", "email"] };

export function formEditor(form, input, { communes = [], onChange, disabled = false }) {
  const root = h("div", { class: "form" });
  let shown = "";

  function draw() {
    const active = document.activeElement;
    const focus = active && root.contains(active) ? [active.dataset.path, active.selectionStart, active.selectionEnd] : null;
    shown = visibleFields(form, input).join("|");
    const visible = new Set(shown.split("|"));
    root.replaceChildren(h("fieldset", { class: "plain", disabled }, fields(form.fields, input, "", visible)));
    if (focus && focus[0]) {
      const again = root.querySelector(`[data-path="${CSS.escape(focus[0])}"]`);
      if (again) {
        again.focus();
        try { if (focus[1] !== null && focus[1] !== undefined) again.setSelectionRange(focus[1], focus[2]); } catch (e) { /* not text */ }
      }
    }
  }

  function changed(structural = false) {
    if (structural || visibleFields(form, input).join("|") !== shown) draw();
    onChange();
  }

  function set(object, name, value) {
    const empty = value === "" || value === null || value === undefined || (Array.isArray(value) && !value.length);
    if (empty) delete object[name]; else object[name] = value;
  }

  function fields(list, object, prefix, visible) {
    return list.filter((f) => visible.has(prefix + f.name)).map((f) => field(f, object, prefix + f.name, visible));
  }

  // A list or a set of boxes has no control that takes aria-required: its legend says "bắt buộc" in words instead.
  function requiredNote(f) {
    return f.required ? [h("span", { class: "required", "aria-hidden": "true" }, " *"),
      h("span", { class: "visually-hidden" }, ` (${t("required_field")})`)] : null;
  }

  function labelFor(f, id) {
    return h("label", { for: id }, pick(f.label), f.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null);
  }

  function box(f, path, ...content) {
    const id = idOf(path);
    return h("div", { class: "field", "data-field": path },
      ...content,
      f.help ? h("small", { class: "help" }, pick(f.help)) : null,
      h("p", { class: "field-error", id: id + "-error", "data-error-for": path, hidden: true, "aria-live": "polite" }));
  }

  function field(f, object, path, visible) {
    const id = idOf(path);
    const value = object[f.name];
    // Required is said to screen readers (aria-required), not to the browser (`required` would stop nothing here and
    // style untouched fields as invalid): forms.js checks it, and the "*" beside the label is hidden from them.
    const common = { id, "data-path": path, "aria-describedby": id + "-error", "aria-required": f.required ? "true" : null };
    if (f.type === "date") { // dd/mm/yyyy whatever the browser's language (dates.js); the value stays YYYY-MM-DD
      return box(f, path, labelFor(f, id), dateInput({ ...common, value: value ?? "",
        onValue: (v) => { set(object, f.name, v); changed(); } }));
    }
    if (f.type in TEXT_INPUTS || f.type === "number") {
      const [type, inputmode] = TEXT_INPUTS[f.type] || ["text", "decimal"];
      return box(f, path, labelFor(f, id), h("input", { ...common, type, inputmode, value: value ?? "",
        autocomplete: f.type === "phone" ? "tel" : f.type === "email" ? "email" : "off",
        oninput: (e) => {
          let v = e.target.value;
          if (f.type === "number" && /^-?[0-9]+(\.[0-9]+)?$/.test(v.trim())) v = Number(v.trim());
          set(object, f.name, v);
          changed();
        } }));
    }
    if (f.type === "textarea") {
      return box(f, path, labelFor(f, id), h("textarea", { ...common, rows: 4, value: value ?? "",
        oninput: (e) => { set(object, f.name, e.target.value); changed(); } }));
    }
    if (f.type === "choice" && f.options.length <= 5) {
      // A radio group is required as a whole (role radiogroup takes aria-required; a plain fieldset does not).
      return box(f, path, h("fieldset", { class: "choices", id, role: "radiogroup", "aria-required": f.required ? "true" : null,
        "aria-describedby": id + "-error" },
        h("legend", {}, pick(f.label), f.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
        f.options.map((o, i) => h("label", { class: "choice" },
          h("input", { type: "radio", name: id, value: o.value, checked: value === o.value, "data-path": i ? null : path,
            onchange: () => { set(object, f.name, o.value); changed(); } }), " ", pick(o.label)))));
    }
    if (f.type === "choice") {
      return box(f, path, labelFor(f, id), h("select", { ...common,
        onchange: (e) => { set(object, f.name, e.target.value); changed(); } },
      h("option", { value: "" }, t("choose")),
      f.options.map((o) => h("option", { value: o.value, selected: value === o.value }, pick(o.label)))));
    }
    if (f.type === "multichoice") {
      const chosen = new Set(Array.isArray(value) ? value : []);
      return box(f, path, h("fieldset", { class: "choices", id, "aria-describedby": id + "-error" }, h("legend", {}, pick(f.label), requiredNote(f)),
        f.options.map((o) => h("label", { class: "choice" },
          h("input", { type: "checkbox", value: o.value, checked: chosen.has(o.value), onchange: (e) => {
            if (e.target.checked) chosen.add(o.value); else chosen.delete(o.value);
            set(object, f.name, f.options.map((x) => x.value).filter((v) => chosen.has(v)));
            changed();
          } }), " ", pick(o.label)))));
    }
    if (f.type === "address") return address(f, object, path);
    if (f.type === "group") return group(f, object, path, visible);
    return box(f, path, h("p", {}, pick(f.label)));
  }

  function address(f, object, path) {
    const id = idOf(path);
    const value = object[f.name] && typeof object[f.name] === "object" ? object[f.name] : {};
    const update = (key, v) => {
      const next = { ...(object[f.name] || {}) };
      if (v) next[key] = v; else delete next[key];
      set(object, f.name, Object.keys(next).length ? next : null);
      changed();
    };
    // A required address needs its commune (forms.js); the street and house number may stay empty.
    const select = h("select", { id: id + "-commune", "data-path": path + ".commune_code", "aria-required": f.required ? "true" : null,
      onchange: (e) => update("commune_code", e.target.value) });
    const fill = (filter) => {
      const words = fold(filter).split(" ").filter(Boolean);
      const list = communes.filter((c) => c.code === value.commune_code || words.every((w) => c.key.includes(w)));
      select.replaceChildren(h("option", { value: "" }, t("choose")),
        ...list.map((c) => h("option", { value: c.code, selected: c.code === value.commune_code }, `${c.name} (${c.code})`)));
    };
    fill("");
    return box(f, path, h("fieldset", { class: "address" },
      h("legend", {}, pick(f.label), f.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
      h("label", { for: id + "-filter", class: "sub" }, t("commune_filter")),
      h("input", { id: id + "-filter", type: "search", autocomplete: "off", oninput: (e) => fill(e.target.value) }),
      h("label", { for: id + "-commune", class: "sub" }, t("commune")), select,
      h("label", { for: id + "-detail", class: "sub" }, t("detail")),
      h("input", { id: id + "-detail", type: "text", "data-path": path + ".detail", value: value.detail ?? "",
        oninput: (e) => update("detail", e.target.value) })));
  }

  function group(f, object, path, visible) {
    const items = Array.isArray(object[f.name]) ? object[f.name] : [];
    const label = pick(f.label);
    return box(f, path, h("fieldset", { class: "group", id: idOf(path) },
      h("legend", {}, label, requiredNote(f)),
      items.map((item, i) => h("fieldset", { class: "item" }, h("legend", {}, t("item", { n: i + 1 })),
        fields(f.fields, item, `${path}[${i}].`, visible),
        h("button", { type: "button", class: "button secondary", "aria-label": t("remove_item_named", { n: i + 1, label }),
          onclick: () => {
          items.splice(i, 1);
          set(object, f.name, items);
          changed(true);
        } }, t("remove_item")))),
      h("button", { type: "button", class: "button secondary add", disabled: items.length >= (f.max_items || 100),
        onclick: () => { object[f.name] = [...items, {}]; changed(true); } },
      t("add_item", { label: label.charAt(0).toLowerCase() + label.slice(1) }))));
  }

  /** Show each error under the deepest drawn field its path falls in; `required` only once the person submits. */
  function showErrors(errors, { required = false } = {}) {
    const targets = [...root.querySelectorAll("[data-error-for]")];
    for (const target of targets) { target.hidden = true; target.textContent = ""; target.parentElement.classList.remove("invalid"); }
    for (const error of errors) {
      if (error.code === "required" && !required) continue;
      let best = null;
      for (const target of targets) {
        const p = target.dataset.errorFor;
        if ((error.path === p || error.path.startsWith(p + ".") || error.path.startsWith(p + "[")) &&
            (!best || p.length > best.dataset.errorFor.length)) best = target;
      }
      if (!best) continue;
      best.hidden = false;
      best.textContent = best.textContent ? best.textContent + " " + pick(error.message) : pick(error.message);
      best.parentElement.classList.add("invalid");
    }
  }

  draw();
  return { element: root, showErrors, redraw: draw };
}
