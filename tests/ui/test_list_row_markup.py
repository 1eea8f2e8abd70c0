"""A list row's quick actions (shown_markup.closing_cell) and its cells (row_cells) are written in
Python with the bytes list.html's loops wrote, every text escaped."""
from __future__ import annotations

from types import SimpleNamespace

from atrium.ui.web.present import Shown
from atrium.ui.web.shown_markup import cell_html, closing_cell, row_cells
from atrium.ui.web.templating import environment

HOSTILE = '<script>alert("x")</script> & \'q\''

# what list.html wrote before, loop for loop
OLD_CLOSING = ('<td class="row-action">{% for stage, label, outcome in actions %}<button type="button" '
               'class="button small secondary outcome-{{ outcome }}"\n'
               '              hx-post="/r/{{ entity_name }}/{{ record.id }}/stage" hx-vals=\'{"stage": "{{ stage }}", '
               '"version": "{{ record.version }}", "back": "list"}\' hx-target="#stage-ask" hx-swap="outerHTML" '
               'hx-push-url="false">{{ label }}</button>{% endfor %}</td>')


def test_closing_cell_writes_what_the_template_loop_wrote():
    record = {"id": 7, "version": 3}
    for actions in ([], [("won", "Won", "won"), (HOSTILE, HOSTILE, 'lost"><i')]):
        expected = environment.from_string(OLD_CLOSING).render(actions=actions, entity_name="some<entity>",
                                                               record=record)
        assert str(closing_cell("some<entity>", record, actions)) == expected
    assert "<script>" not in expected and "&lt;script&gt;" in expected


def test_row_cells_write_each_cell_as_cell_html_does():
    """The row escapes each column's path and the edit title once a page; each cell is still
    cell_html's, editable or not, for hostile paths, titles and values."""
    columns = [SimpleNamespace(label=HOSTILE, numeric=False, path=path, field=SimpleNamespace(type="text"))
               for path in ("name", 'a.b<"c', HOSTILE)]
    values = [Shown("first"), Shown(HOSTILE, href="/r/x/<1>"), Shown(HOSTILE, muted=True)]
    record = {"id": 5, "version": '2"'}
    for editable in (False, True):
        inline = SimpleNamespace(editable=lambda _record, _path, editable=editable: editable)
        row = str(row_cells(columns, "some<entity>", False, inline, HOSTILE, "Tick")(record, values))
        for column, value in zip(columns[1:], values[1:], strict=True):
            assert str(cell_html(record, column.path, value, "some<entity>", editable, HOSTILE)) in row
        assert "<script>" not in row
