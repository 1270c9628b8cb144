// The toolbar of a printable document (pwa/templates/documents/_layout*.html), a server page rather than part of
// the app: "In" prints it (a phone has no Ctrl+P), and "Chia sẻ" hands its PDF to another app (Zalo, e-mail…)
// through the Web Share API where the browser has one; without it the button stays hidden.
const toolbar = document.querySelector("nav.toolbar");
const printButton = toolbar && toolbar.querySelector("[data-action=print]");
const shareButton = toolbar && toolbar.querySelector("[data-action=share]");
const note = toolbar && toolbar.querySelector("[role=status]");

if (printButton) {
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
}

let file = null; // the PDF once fetched: a second tap shares it at once
async function pdfFile() {
  if (file) return file;
  const response = await fetch(shareButton.dataset.pdf, { credentials: "same-origin" });
  if (!response.ok) throw new Error(String(response.status));
  const named = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "");
  file = new File([await response.blob()], named ? named[1] : "giay-to.pdf", { type: "application/pdf" });
  return file;
}

if (shareButton && navigator.share) {
  shareButton.hidden = false;
  shareButton.addEventListener("click", async () => {
    note.textContent = "";
    const title = document.title;
    try {
      const pdf = await pdfFile();
      if (navigator.canShare && navigator.canShare({ files: [pdf] })) {
        await navigator.share({ files: [pdf], title });
      } else {
        // A browser that shares links only: the public tracking link when the page has one, else this page.
        await navigator.share({ title, url: shareButton.dataset.link || location.href });
      }
    } catch (error) {
      if (error && error.name === "AbortError") return; // the person closed the share sheet
      // The browser allows sharing only right after a tap: on a slow line the PDF may arrive too late for it.
      note.textContent = error && error.name === "NotAllowedError" && file
        ? "Đã tải xong bản PDF. Hãy nhấn “Chia sẻ” lần nữa."
        : "Chưa chia sẻ được. Hãy thử lại, hoặc tải bản PDF.";
    }
  });
}
