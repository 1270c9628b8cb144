"""axe-core (npm, package.json) run in the browser tests: every screen the suite reaches is checked once per test
session against WCAG 2 A and AA, and serious or critical violations fail the test that reached it.

`watch(context)` is called by every browser fixture that opens the app or the website (tests/test_pwa.py
`new_phone`, tests/test_pages_browser.py, …). A small init script tells Python, through a binding, when a screen has
settled (no DOM change for a moment after a load or a hash change); the first time a screen is seen in the session,
axe is evaluated in the page (through the DevTools protocol, so the app's CSP does not stop it) and run once. A
screen is the app's hash route with its ids left out (`/app#/d/:id`) or a website page's path (`/procedures/:id`).
The fixture's teardown checks the screen still on show, then calls `assert_clean(context)`.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa"]
IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    screen: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.screen}: {self.rule} ({self.impact}) {self.help} — {', '.join(self.targets)}"


_lock = threading.Lock()
_axe_source: str | None = None
checked: set[str] = set()  # screens checked in this test session (whatever the test)
unasserted: list[Violation] = []  # found by a watch whose context was never checked (conftest's session end reports them)


def axe_source() -> str:
    """axe.min.js from node_modules, installed with `npm ci` (package-lock.json) like ESLint when it is missing."""
    global _axe_source
    with _lock:
        if _axe_source is None:
            if not AXE.exists():
                npm = shutil.which("npm")
                assert npm, "npm is not installed: the accessibility checks need axe-core (sudo apt-get install npm)"
                installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, capture_output=True,
                                           text=True, timeout=600)
                assert installed.returncode == 0 and AXE.exists(), installed.stdout + installed.stderr
            _axe_source = AXE.read_text()
        return _axe_source


# The screen's name: the app's route without ids (a segment with a digit is an id or a procedure code), or a page's
# path likewise. Reported once per page load and screen, after 300 ms without DOM changes in the app (at most 3 s of
# them), at once on the website's pages.
WATCH = r"""(() => {
  if (window.top !== window || !window.__a11yScreen || !location.protocol.startsWith("http")) return;
  const strip = (part) => part.split("/").map((s) => /\d/.test(s) ? ":id" : s).join("/");
  const app = location.pathname === "/app";
  const screen = () => strip(location.pathname) + (app ? strip((location.hash || "#/").split("?")[0]) : "");
  // The website's pages are whole when they load: checked at once, before a quick test moves on (the app's screens
  // draw after the load and on each hash change, so they wait for the DOM to settle).
  const quiet = app ? 300 : 20;
  const reported = new Set();
  const running = new Set();
  let timer = null;
  let since = 0;
  const report = () => {
    timer = null;
    const name = screen();
    if (reported.has(name)) return;
    reported.add(name);
    const check = window.__a11yScreen(name).then((done) => { if (!done) reported.delete(name); }, () => reported.delete(name));
    running.add(check);
    check.finally(() => running.delete(check));
  };
  const settle = () => {
    const now = Date.now();
    if (!timer) since = now;
    clearTimeout(timer);
    timer = setTimeout(report, now - since > 3000 ? 0 : quiet);
  };
  // The test is over: the screen on show now is checked too, and every check still running is waited for.
  window.__a11yFlush = () => { clearTimeout(timer); report(); return Promise.all([...running]); };
  const start = () => {
    new MutationObserver(settle).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
    settle();
  };
  addEventListener("hashchange", settle);
  if (document.readyState === "loading") addEventListener("DOMContentLoaded", start); else start();
})();"""

RUN = """async ([tags, impacts]) => {
  const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, restoreScroll: true,
    resultTypes: ["violations"] });
  return result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({ rule: v.id, impact: v.impact,
    help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }));
}"""


def check(page, screen: str) -> list[Violation]:
    """Run axe on the page as it is now; violations are kept under `screen`."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return [Violation(screen, v["rule"], v["impact"], v["help"], tuple(v["targets"]))
            for v in page.evaluate(RUN, [TAGS, list(IMPACTS)])]


def watch(context) -> list[Violation]:
    """Check each new screen this context's pages reach; returns the list its violations are added to."""
    mine: list[Violation] = []

    def on_screen(source, screen: str) -> bool:
        with _lock:
            if screen in checked:
                return True
            checked.add(screen)
        try:
            violations = check(source["page"], screen)
            mine.extend(violations)
            unasserted.extend(violations)
            return True
        except Exception:  # the page navigated or closed while axe ran: the next visit checks the screen
            with _lock:
                checked.discard(screen)
            return False

    axe_source()
    context.expose_binding("__a11yScreen", on_screen)
    context.add_init_script(WATCH)
    context.a11y_violations = mine
    return mine


def assert_clean(context) -> None:
    """The fixture's teardown: the screens still open are checked too, then nothing serious may have been found."""
    for page in context.pages:
        try:
            page.evaluate("() => window.__a11yFlush && window.__a11yFlush()")
        except Exception:  # a closed or navigating page: its earlier screens were checked when they settled
            pass
    violations = getattr(context, "a11y_violations", [])
    for violation in violations:
        if violation in unasserted:
            unasserted.remove(violation)
    assert not violations, "accessibility (axe-core, WCAG 2 A/AA, serious or critical):\n" + "\n".join(
        str(v) for v in violations)

