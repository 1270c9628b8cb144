"""Rendering a document: its versioned template with the gathered context, as a page and as a PDF."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from server.documents.context import DocumentContext
from server.documents.pdf import render_pdf
from server.documents.qr import qr_png, qr_svg
from server.documents.templates import DocumentTemplate
from server.documents.tracking import TIMELINESS_NAMES, timeliness
from server.resources import TEMPLATES_DIR

# Autoescaped like the app's pages: a citizen's name or a reason can hold anything.
environment = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(default=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


UNIT_WORDS = {"working_days": "ngày làm việc", "days": "ngày", "hours": "giờ làm việc"}


def _days_text(amount: Any, unit: str) -> str:
    if amount is None:
        return "chưa công bố"
    number = float(amount)
    return "trong ngày" if number == 0 else f"{number:g} {UNIT_WORDS.get(unit, 'ngày làm việc')}".replace(".", ",")


def document_html(template: DocumentTemplate, ctx: DocumentContext, *, pdf_url: str,
                  back_url: str | None = None, extra: dict[str, Any] | None = None) -> str:
    receive = ctx.last_event("receive") or ctx.last_event("create")
    kind = timeliness(ctx.dossier)
    values = {**ctx.as_dict(), "template": template, "pdf_url": pdf_url, "back_url": back_url,
              "qr_svg": qr_svg(ctx.tracking_url) if ctx.tracking_url else "",
              "receiver_name": receive.actor if receive else "",
              "procedure_days_text": _days_text(*ctx.procedure_time),
              "timeliness_name": TIMELINESS_NAMES[kind][0] if kind else "", **(extra or {})}
    return environment.get_template(template.file).render(**values)


def page_html(template: DocumentTemplate, values: dict[str, Any]) -> str:
    """A template without a dossier (the register)."""
    return environment.get_template(template.file).render(template=template, **values)


def document_pdf(template: DocumentTemplate, html: str, tracking_url: str = "") -> bytes:
    return render_pdf(html, title=template.title, qr_png=qr_png(tracking_url) if tracking_url else None,
                      landscape=template.landscape, paper=template.paper,
                      subject=f"{template.legal_source} · {template.label}")
