"""Line grids in views (`form.lines`): the shipped quote form edits its lines; a grid the form
could not save is refused at load, at the line and column that wrote it, with a suggestion."""
from __future__ import annotations

import shutil
from pathlib import Path

from atrium.metadata import check_blueprint

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
GRID = "      columns: [product, description, quantity, unit_price, discount, amount]"


def test_the_quote_form_edits_its_lines(b2b):
    (grid,) = b2b.view("quote").lines
    assert (grid.entity, grid.via, grid.key) == ("quote_line", "quote", "quote_line.quote")
    assert grid.columns == ("product", "description", "quantity", "unit_price", "discount", "amount")
    assert grid.label.text("zh") == "报价明细"
    assert "quote_line.quote" not in b2b.view("quote").related  # the grid shows them on the detail page


def broken(tmp_path: Path, old: str, new: str) -> list[str]:
    folder = tmp_path / "b2b"
    shutil.copytree(B2B, folder)
    path = folder / "views" / "quote.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    blueprint, problems = check_blueprint(folder)
    assert blueprint is None
    return [str(p) for p in problems]


def line_of(needle: str) -> int:
    lines = (B2B / "views" / "quote.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_a_misspelt_column_is_named_at_its_line_with_a_suggestion(tmp_path):
    (problem,) = broken(tmp_path, GRID, GRID.replace("description", "descripton"))
    assert f"views/quote.yaml:{line_of(GRID)}:" in problem
    assert ("form.lines[0].columns[1]: 'descripton' is not a field of quote_line"
            " (did you mean 'description'?)") in problem


def test_a_required_field_the_grid_cannot_fill_is_named(tmp_path):
    # unit_price is required, and its default copies the product's price: the grid may leave it out
    folder = tmp_path / "b2b"
    shutil.copytree(B2B, folder)
    view = folder / "views" / "quote.yaml"
    view.write_text(view.read_text(encoding="utf-8").replace(GRID, GRID.replace(" unit_price,", ""), 1), "utf-8")
    blueprint, problems = check_blueprint(folder)
    assert blueprint is not None and not problems
    # without that default nothing fills it, and the grid must show it
    line = folder / "entities" / "quote_line.yaml"
    text = line.read_text(encoding="utf-8")
    default = '    default: "product.unit_price"   # the product\'s list price, copied when the line is made\n'
    assert default in text
    line.write_text(text.replace(default, ""), encoding="utf-8")
    blueprint, problems = check_blueprint(folder)
    assert blueprint is None
    assert any("'unit_price' is required on quote_line and has no default: the grid needs it as a column" in str(p)
               for p in problems)


def test_the_link_must_point_to_the_parent(tmp_path):
    problems = broken(tmp_path, "from: quote_line.quote", "from: quote_line.product")
    assert any("'quote_line.product' must name a reference field of another entity that points to quote"
               " (did you mean 'quote_line.quote'?)" in p for p in problems)
    problems = broken(tmp_path / "2", "from: quote_line.quote", "from: quote_lines.quote")
    assert any("'quote_lines' is not an entity (did you mean 'quote_line'?)" in p for p in problems)
    problems = broken(tmp_path / "3", GRID, GRID.replace("product,", "quote, product,"))
    assert any("'quote' is the link to the parent" in p for p in problems)
