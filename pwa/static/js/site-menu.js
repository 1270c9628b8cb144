// The website's header menu (base.html): one row at 360 px, the rest behind "Menu", as in the app's header
// (js/app.js setMenu). The button says whether the menu is open (aria-expanded); Escape closes it and gives the
// focus back to the button, a tap outside closes it. Without JavaScript, site-nojs.css shows the links instead.
const button = document.getElementById("menu-button");
const menu = document.getElementById("site-menu");

function setMenu(open, { focusButton = false } = {}) {
  button.setAttribute("aria-expanded", String(open));
  menu.hidden = !open;
  if (open) { const first = menu.querySelector("a, button"); if (first) first.focus(); }
  if (!open && focusButton) button.focus();
}

if (button && menu) {
  button.addEventListener("click", () => setMenu(button.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !menu.hidden) { event.preventDefault(); setMenu(false, { focusButton: true }); }
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !event.target.closest("header.top")) setMenu(false);
  });
}
