"""PDF from the same markup as the printable page (fpdf2, pure Python, with an embedded Unicode font).

The document templates use a small vocabulary (see pwa/templates/documents/_layout.html); this module reads the
<article> of a rendered page into blocks and lays them out on A4. One template, two outputs that cannot drift.

Font: Liberation Serif 2.1 (SIL Open Font License 1.1, server/data/fonts/OFL.txt), shipped with the package so a
fresh machine needs nothing from the system. It is metric-compatible with Times New Roman, the face Decree
30/2020/NĐ-CP prescribes for administrative documents, and covers every Vietnamese letter and tone mark.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from fpdf import FPDF
from fpdf.fonts import FontFace
from server.resources import DATA_DIR

FONTS = DATA_DIR / "fonts"
FAMILY = "LiberationSerif"
BODY_SIZE = 12.5


@dataclass
class Paragraph:
    text: str  # fpdf2 markdown: **bold**, __italic__
    align: str = "J"
    size: float = BODY_SIZE
    bold: bool = False


@dataclass
class Table:
    kind: str  # "head" | "grid" | "sign" (split into "sign-titles" and "sign-names" when drawn)
    widths: list[float] = field(default_factory=list)
    rows: list[list[tuple[str, bool]]] = field(default_factory=list)  # (text, is_heading)
    scale: float = 1.0  # font size factor (A5)


@dataclass
class QrBlock:
    caption: str


Block = Paragraph | Table | QrBlock

_INLINE = {"b": "**", "strong": "**", "i": "__", "em": "__"}


class _Reader(HTMLParser):
    """Blocks from the <article> of a document page; everything outside it (toolbar, head) is ignored."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.depth = 0  # inside <article> when > 0
        self.text: list[str] | None = None  # the paragraph or cell being read
        self.kind = ""  # tag of the current text container
        self.classes: set[str] = set()
        self.table: Table | None = None
        self.row: list[tuple[str, bool]] | None = None
        self.skip = 0  # inside <svg>: not text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "article":
            self.depth += 1
            return
        if not self.depth:
            return
        if tag == "svg":
            self.skip += 1
        elif self.skip:
            return
        elif tag in ("p", "h1", "h2", "footer", "figcaption"):
            self.text, self.kind = [], tag
            self.classes = set((attributes.get("class") or "").split())
        elif tag == "table":
            kind = (attributes.get("class") or "grid").split()[0]
            widths = [float(w) for w in (attributes.get("data-widths") or "").split()]
            self.table = Table(kind, widths)
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.text, self.kind = [], tag
        elif tag in _INLINE and self.text is not None:
            self.text.append(_INLINE[tag])
        elif tag == "br" and self.text is not None:
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.depth -= 1
            return
        if not self.depth:
            return
        if tag == "svg":
            self.skip -= 1
            return
        if self.skip:
            return
        if tag in _INLINE and self.text is not None:
            self.text.append(_INLINE[tag])
        elif tag in ("td", "th") and self.row is not None and self.text is not None:
            self.row.append((_squash("".join(self.text)), tag == "th"))
            self.text = None
        elif tag == "tr" and self.table is not None and self.row is not None:
            self.table.rows.append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            self.blocks.append(self.table)
            self.table = None
        elif tag == self.kind and self.text is not None and tag in ("p", "h1", "h2", "footer", "figcaption"):
            text = _squash("".join(self.text))
            if tag == "figcaption":
                self.blocks.append(QrBlock(text))
            elif tag == "h1":
                self.blocks.append(Paragraph(text, "C", 14, bold=True))
            elif tag == "h2":
                self.blocks.append(Paragraph(text, "L", 13, bold=True))
            elif tag == "footer":
                self.blocks.append(Paragraph(text, "L", 8.5))
            else:
                align = "C" if "center" in self.classes else "R" if "right" in self.classes else "J"
                self.blocks.append(Paragraph(f"__{text}__" if "note" in self.classes else text, align))
            self.text = None

    def handle_data(self, data: str) -> None:
        if self.depth and not self.skip and self.text is not None:
            self.text.append(literal(data))


def literal(data: str) -> str:
    """Text from the page, citizens' names included, as fpdf2 markdown that prints every character as written:
    its escape character doubled, each emphasis marker escaped. Links are off altogether (_Document)."""
    text = data.replace(FPDF.MARKDOWN_ESCAPE_CHARACTER, FPDF.MARKDOWN_ESCAPE_CHARACTER * 2)
    for marker in FPDF.MARKDOWN_MARKERS:
        text = text.replace(marker, FPDF.MARKDOWN_ESCAPE_CHARACTER + marker)
    return text


class _Document(FPDF):
    """fpdf2 with markdown for our own bold and italics only: `[text](url)` is never a link, whoever wrote it."""

    MARKDOWN_LINK_REGEX = re.compile(r"(?!)")


def _squash(text: str) -> str:
    """Whitespace as a browser shows it, keeping explicit line breaks; empty emphasis of our own tags removed
    (an escaped marker from the text itself is left alone)."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    joined = "\n".join(line for line in lines).strip()
    joined = re.sub(r"(?<!\\)(\*\*\*\*|____)", "", joined)
    return re.sub(r"(?<!\\)(\*\*|__) (\*\*|__)", " ", joined)


def read_blocks(html: str, scale: float = 1.0) -> list[Block]:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    if scale != 1.0:
        for block in reader.blocks:
            if isinstance(block, Paragraph):
                block.size = round(block.size * scale, 2)
            elif isinstance(block, Table):
                block.scale = scale
    return reader.blocks


def render_pdf(html: str, *, title: str, qr_png: bytes | None = None, landscape: bool = False,
               paper: str = "A4", subject: str = "") -> bytes:
    """The page's <article> as a PDF on A4 or A5 (the forms of Circular 03/2025/TT-VPCP are A5, the register A4
    landscape); the QR image goes where the page shows its figure. `subject` (the template and its version) is
    metadata, never printed."""
    pdf = _Document(orientation="L" if landscape else "P", unit="mm", format=paper)
    for style, name in (("", "Regular"), ("B", "Bold"), ("I", "Italic"), ("BI", "Bold")):
        pdf.add_font(FAMILY, style, str(FONTS / f"LiberationSerif-{name}.ttf"))
    pdf.set_title(title)
    if subject:
        pdf.set_subject(subject)
    if paper == "A5":  # a half sheet: narrower margins and a smaller face so a form keeps to one page
        pdf.set_margins(15, 10, 10)
        pdf.set_auto_page_break(True, margin=10)
    else:
        pdf.set_margins(20 if not landscape else 15, 15, 15)  # Decree 30/2020: left margin 30–35 mm on paper to bind;
        pdf.set_auto_page_break(True, margin=15)                # 20 mm keeps more per page and still binds.
    scale = 0.84 if paper == "A5" else 1.0
    pdf.add_page()
    pdf.set_font(FAMILY, size=BODY_SIZE)
    for block in read_blocks(html, scale):
        if isinstance(block, Paragraph):
            _paragraph(pdf, block)
        elif isinstance(block, Table):
            _table(pdf, block)
        elif isinstance(block, QrBlock) and qr_png:
            _qr(pdf, block, qr_png)
    return bytes(pdf.output())


def _paragraph(pdf: FPDF, block: Paragraph) -> None:
    pdf.set_font(FAMILY, "B" if block.bold else "", block.size)
    if block.bold:
        pdf.ln(2)
    pdf.multi_cell(0, block.size * 0.5, block.text, align=block.align, markdown=True,
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1 if not block.bold else 3)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def _table(pdf: FPDF, block: Table) -> None:
    if not block.rows:
        return
    if block.kind == "sign" and len(block.rows) > 1:
        # Room to sign (and stamp) between the titles and the printed names, as on the page.
        if pdf.get_y() + 45 > pdf.h - pdf.b_margin:
            pdf.add_page()
        _table(pdf, Table("sign-titles", block.widths, block.rows[:-1], block.scale))
        pdf.ln(18 * block.scale)
        _table(pdf, Table("sign-names", block.widths, block.rows[-1:], block.scale))
        return
    columns = max(len(row) for row in block.rows)
    widths = block.widths if len(block.widths) == columns else [1.0] * columns
    grid = block.kind == "grid"
    size = (11 if grid else 12 if block.kind == "head" else BODY_SIZE) * block.scale
    if block.kind == "sign-titles":
        pdf.ln(4)
    pdf.set_font(FAMILY, "", size)
    with pdf.table(col_widths=tuple(widths), borders_layout="ALL" if grid else "NONE", markdown=True,
                   first_row_as_headings=grid and all(heading for _, heading in block.rows[0]),
                   headings_style=FontFace(emphasis="BOLD"), text_align="LEFT" if grid else "CENTER",
                   line_height=size * 0.5, padding=1 if grid else 0.5) as table:
        for cells in block.rows:
            row = table.row()
            for text, _ in cells:
                row.cell(text)
            for _ in range(columns - len(cells)):
                row.cell("")
    pdf.ln(2)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def _qr(pdf: FPDF, block: QrBlock, png: bytes) -> None:
    size = 28
    if pdf.get_y() + size > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y() + 2
    pdf.image(io.BytesIO(png), x=pdf.l_margin, y=top, w=size, h=size)
    pdf.set_xy(pdf.l_margin + size + 4, top + 8)
    pdf.set_font(FAMILY, "I", 9.5)
    pdf.multi_cell(0, 4.5, block.caption, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + size + 2)
    pdf.set_font(FAMILY, "", BODY_SIZE)
