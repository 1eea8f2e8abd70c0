"""The detail page's field rows and related-list cells are written in Python (shown_markup's
`field_rows` and `related_cells`) with the bytes the template's loops wrote, every text escaped."""
from __future__ import annotations

from types import SimpleNamespace

from atrium.ui.web.present import Shown
from atrium.ui.web.shown_markup import field_rows, related_cells
from atrium.ui.web.templating import environment

HOSTILE = '<script>alert("x")</script> & \'q\''
VALUES = [Shown(HOSTILE), Shown(""), Shown(HOSTILE, href=f"/r/x/1?a=<b>&c={HOSTILE}"), Shown("ok", color='red"><i'),
          Shown(HOSTILE, muted=True), Shown("b", badges=(Shown(HOSTILE, color="blue"), Shown("c", color=None))),
          Shown("f", links=(Shown(HOSTILE, href="/files/1"), Shown("g", href="/files/<2>")))]

# what detail.html wrote before, loop for loop
OLD_FIELDS = ('{% for label, value in items %}<div><dt>{{ label }}</dt><dd>{{ shown_html(value) or "—" }}</dd></div>'
              '{% endfor %}')
OLD_CELLS = ('{% for v in values %}<td{% if rel.columns[loop.index0].numeric %} class="num"{% endif %}>'
             '{% if loop.first %}<a href="/r/{{ rel.entity }}/{{ child.id }}">{{ v.text or (\'#\' ~ child.id) }}</a>'
             '{% else %}{{ shown_html(v) }}{% endif %}</td>{% endfor %}')


def test_field_rows_write_what_the_template_loop_wrote():
    items = [(f"{HOSTILE} {i}", value) for i, value in enumerate(VALUES)]
    expected = environment.from_string(OLD_FIELDS).render(items=items)
    assert str(field_rows(items)) == expected
    assert "<script>" not in expected and "&lt;script&gt;" in expected


def test_related_cells_write_what_the_template_loop_wrote():
    columns = [SimpleNamespace(numeric=i % 2 == 1) for i in range(len(VALUES))]
    for first in (Shown(HOSTILE), Shown("")):  # the first cell links; without a text it shows the id
        values = [first, *VALUES[1:]]
        rel = SimpleNamespace(columns=columns, entity="some<entity>")
        child = {"id": 12}
        expected = environment.from_string(OLD_CELLS).render(values=values, rel=rel, child=child)
        assert str(related_cells(columns, rel.entity, child, values)) == expected
    assert "<script>" not in expected
