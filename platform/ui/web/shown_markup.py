"""The HTML of a shown value and of a list cell, written in Python for the templates.

A list page of 50 rows has some 300 cells; a Jinja macro call per cell (and another per value
inside it) cost more than the rest of the page's rendering together (docs/benchmarks.md,
bench_versus). The `show` and `cell` macros call these functions, and the list row calls
`cell_html` directly, so every page writes the same markup from one place. Every text goes
through `escape` before it joins the markup; nothing is trusted as HTML.
"""
from __future__ import annotations

from typing import Any, Mapping

from markupsafe import Markup, escape


def shown_html(v: Any) -> Markup:
    """A `present.Shown` as HTML: its badges, its links, one link, a colour badge, muted or plain text."""
    if v.badges:
        return Markup('<span class="badges">' + "".join(_badge(b.color or "default", b.text) for b in v.badges)
                      + "</span>")
    if v.links:
        return Markup(", ".join(_link(link.href, link.text) for link in v.links))
    if v.href:
        return Markup(_link(v.href, v.text))
    if v.color:
        return Markup(_badge(v.color, v.text))
    if v.muted:
        return Markup(f'<span class="muted">{escape(v.text)}</span>')
    return escape(v.text)


def _badge(color: Any, text: Any) -> str:
    return f'<span class="badge badge-{escape(color)}">{escape(text)}</span>'


def _link(href: Any, text: Any) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def cell_id(record_id: Any, path: str) -> Markup:
    """The element id of one list cell (cell_edit.py swaps the cell by it)."""
    return Markup(f'cell-{escape(record_id)}-{escape(path.replace(".", "--"))}')


def cell_html(record: Mapping[str, Any], path: str, v: Any, entity: str, editable: bool,
              edit_title: str, oob: bool = False, alert: str = "") -> Markup:
    """One list cell: the value, and when the reader may edit it the attributes that open its
    input; `oob` for a cell an HTMX answer swaps in beside another, `alert` a message under it."""
    record_id, version = escape(record["id"]), escape(record["version"])
    html = (f'<span class="cell{" editable" if editable else ""}" id="{cell_id(record["id"], path)}"'
            f' data-version="{version}"')
    if editable:  # what a click or Enter asks for (cells.js swaps the answer in)
        html += (f' tabindex="0" title="{escape(edit_title)}"\n'
                 f'  hx-get="/r/{escape(entity)}/{record_id}/cell/{escape(path)}?version={version}" hx-target="this"'
                 ' hx-swap="outerHTML" hx-push-url="false"\n'
                 "  hx-trigger=\"click[!event.target.closest('a')],"
                 " keydown[key=='Enter'&&!event.target.closest('a')]\"")
    if oob:
        html += ' hx-swap-oob="true"'
    html += f">{shown_html(v)}"
    if alert:
        html += f'<span class="cell-alert error" role="alert">{escape(alert)}</span>'
    return Markup(html + "</span>")
