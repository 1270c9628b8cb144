// The app's DOM helpers, one copy for every screen: building elements and finding them.

/** A DOM element; text children are text nodes (never HTML), so data can never inject markup. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "value") element.value = value;
    else if (name === "checked") element.checked = Boolean(value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      element.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
    }
  }
  return element;
}

/** The first element matching `selector` (in `root`, the document by default), or null. */
export const $ = (selector, root = document) => root.querySelector(selector);
