// The website's offer of the app (base.html): every page links to /app ("Mở ứng dụng"); where the browser can
// install it (beforeinstallprompt, Chromium-based browsers) the "Cài ứng dụng" buttons appear and open its prompt.
// Other browsers keep the link alone (Safari: Share, then Add to Home Screen). docs/pwa.md "Front door".
let offered = null;

const buttons = () => document.querySelectorAll("[data-install-app]");

function show(visible) {
  for (const button of buttons()) button.hidden = !visible;
}

window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault(); // the browser's own mini bar would come at a moment of its choosing
  offered = event;
  show(true);
});

window.addEventListener("appinstalled", () => { offered = null; show(false); });

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-install-app]");
  if (!button || !offered) return;
  const prompt = offered;
  offered = null; // a prompt can be shown once
  show(false);
  await prompt.prompt();
  const choice = await prompt.userChoice;
  if (choice && choice.outcome === "accepted") document.documentElement.dataset.appInstalled = "1";
});
