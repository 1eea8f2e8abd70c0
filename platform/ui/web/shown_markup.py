"""The HTML of a shown value and of a list cell, written in Python for the templates.

A list page of 50 rows has some 300 cells; a Jinja macro call per cell (and another per value
inside it) cost more than the rest of the page's rendering together (docs/benchmarks.md,
bench_versus). The `show` and `cell` macros call these functions, and the list writes each
row's cells with `row_cells` (no template loop per cell), the detail page its fields with
`field_rows` and its related lists' cells with `related_cells`, so every page writes the same
markup from one place. Every text goes
through `escape` before it joins the markup; nothing is trusted as HTML.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

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
    return Markup(_cell(escape(record["id"]), escape(record["version"]), escape(path),
                        escape(path.replace(".", "--")), v, escape(entity), editable, escape(edit_title), oob, alert))


def _cell(record_id: str, version: str, path: str, path_id: str, v: Any, entity: str, editable: bool,
          edit_title: str, oob: bool = False, alert: str = "") -> str:
    """cell_html with its record's id and version, path (and the path as an id), entity and title
    already escaped: a list row escapes them once a page or once a row, not once a cell."""
    html = (f'<span class="cell{" editable" if editable else ""}" id="cell-{record_id}-{path_id}"'
            f' data-version="{version}"')
    if editable:  # what a click or Enter asks for (cells.js swaps the answer in)
        html += (f' tabindex="0" title="{edit_title}"\n'
                 f'  hx-get="/r/{entity}/{record_id}/cell/{path}?version={version}" hx-target="this"'
                 ' hx-swap="outerHTML" hx-push-url="false"\n'
                 "  hx-trigger=\"click[!event.target.closest('a')],"
                 " keydown[key=='Enter'&&!event.target.closest('a')]\"")
    if oob:
        html += ' hx-swap-oob="true"'
    html += f">{shown_html(v)}"
    if alert:
        html += f'<span class="cell-alert error" role="alert">{escape(alert)}</span>'
    return html + "</span>"


WRAPPED = ("text", "textarea", "reference")  # a list column whose long values wrap


def row_cells(columns: Sequence[Any], entity: str, bulk: Any, inline: Any, edit_title: str,
              tick: str) -> Callable[[Mapping[str, Any], Sequence[Any]], Markup]:
    """The `<td>` cells of one list row, as `row(record, values)`: what is the same for every row
    (each column's opening tag, the words) is escaped once a page, then each row writes its
    values; the first cell links to the record (and holds the bulk tick box), the others are
    `cell_html`'s. The markup is the one the list template wrote with a loop per cell."""
    openings = []
    for index, column in enumerate(columns):
        opening = f'<td data-label="{escape(column.label)}"' + (" data-extra" if index >= 5 else "")
        if column.numeric:
            opening += ' class="num"'
        elif index and column.field.type in WRAPPED:
            opening += ' class="wrap"'
        openings.append(opening + ">")
    place, word, href, title = escape(entity), escape(tick), f"/r/{escape(entity)}/", escape(edit_title)
    paths = [(escape(column.path), escape(column.path.replace(".", "--"))) for column in columns]

    def row(record: Mapping[str, Any], values: Sequence[Any]) -> Markup:
        html = []
        record_id, version = escape(record["id"]), escape(record["version"])
        for index, (opening, column, (path, path_id), v) in enumerate(zip(openings, columns, paths, values,
                                                                          strict=False)):
            if index == 0:
                text = escape(v.text or f"#{record['id']}")
                tick_box = (f'<input type="checkbox" class="bulk-pick" form="bulk-form" name="ids" value="{record_id}"'
                            f' aria-label="{word} {text}"> ') if bulk else ""
                html.append(f'{opening}{tick_box}<a href="{href}{record_id}">{text}</a></td>')
                continue
            editable = inline is not None and inline.editable(record, column.path)
            html.append(f"{opening}{_cell(record_id, version, path, path_id, v, place, editable, title)}</td>")
        return Markup("".join(html))
    return row


def closing_cell(entity: str, record: Mapping[str, Any], actions: Sequence[tuple[str, str, str]]) -> Markup:
    """A list row's quick actions: a button for each closing stage the record may move to (the
    markup list.html wrote with a loop per row)."""
    place, record_id, version = escape(entity), escape(record["id"]), escape(record["version"])
    return Markup('<td class="row-action">' + "".join(
        f'<button type="button" class="button small secondary outcome-{escape(outcome)}"\n'
        f'              hx-post="/r/{place}/{record_id}/stage" hx-vals=\'{{"stage": "{escape(stage)}", '
        f'"version": "{version}", "back": "list"}}\' hx-target="#stage-ask" hx-swap="outerHTML" '
        f'hx-push-url="false">{escape(label)}</button>' for stage, label, outcome in actions) + "</td>")


def field_rows(items: Sequence[tuple[Any, Any]]) -> Markup:
    """A detail section's fields, each `<div><dt>label</dt><dd>value or —</dd></div>` (the markup
    detail.html wrote with a loop per field)."""
    return Markup("".join(f"<div><dt>{escape(label)}</dt><dd>{shown_html(value) or '—'}</dd></div>"
                          for label, value in items))


def related_cells(columns: Sequence[Any], entity: str, record: Mapping[str, Any], values: Sequence[Any]) -> Markup:
    """One row's `<td>`s in a detail page's related list: the first links to the record, the
    others are `shown_html`'s (the markup detail.html wrote with a loop per cell)."""
    html = []
    for index, v in enumerate(values):
        opening = '<td class="num">' if columns[index].numeric else "<td>"
        if index == 0:
            text = escape(v.text or f"#{record['id']}")
            html.append(f'{opening}<a href="/r/{escape(entity)}/{escape(record["id"])}">{text}</a></td>')
        else:
            html.append(f"{opening}{shown_html(v)}</td>")
    return Markup("".join(html))
