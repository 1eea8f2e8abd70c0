"""Load-time checks of `owner_follows:`: the design's shape loads, and each mistake is reported at
its file, line and column with a hint."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from atrium.metadata import BlueprintError, load_blueprint

DESIGN = Path(__file__).resolve().parents[1] / "fixtures" / "design_examples"
ACCOUNT = """\
name: account
label: Account
owner: owner
fields:
  name: {type: text}
  owner: {type: user}
"""
NOTE = """\
name: note
label: Note
fields:
  text: {type: text}
"""


def write(folder: Path, contact: str, **others: str) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text("name: t\nlabel: T\nlocales: [en, zh]\n", encoding="utf-8")
    for name, text in {"account": ACCOUNT, "note": NOTE, **others, "contact": contact}.items():
        (folder / "entities" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def contact(follows: str, owner: str = "owner: owner\n") -> str:
    return f"""\
name: contact
label: Contact
{owner}fields:
  account: {{type: reference, to: account}}
  note: {{type: reference, to: note}}
  status: {{type: select, options: [open, closed]}}
  owner: {{type: user}}
{follows}"""


def problems(folder: Path) -> str:
    with pytest.raises(BlueprintError) as error:
        load_blueprint(folder)
    return str(error.value)


def test_the_design_example_loads_and_keeps_its_parts(tmp_path):
    blueprint = load_blueprint(write(tmp_path / "bp", contact("owner_follows: {field: account}\n")))
    follows = blueprint.entities["contact"].owner_follows
    assert (follows.field, follows.where, follows.on_release) == ("account", None, "keep")
    full = contact("owner_follows:\n  field: account\n  where: {status: {ne: closed}}\n  on_release: release\n")
    follows = load_blueprint(write(tmp_path / "full", full)).entities["contact"].owner_follows
    assert dict(follows.where) == {"status": {"ne": "closed"}} and follows.on_release == "release"
    assert blueprint.entities["account"].owner_follows is None


def test_the_field_must_be_a_reference_to_an_entity_with_an_owner(tmp_path):
    text = problems(write(tmp_path / "a", contact("owner_follows: {field: acount}\n")))
    assert "entities/contact.yaml:9:24: owner_follows.field: 'acount' is not a field of contact" in text
    assert "did you mean 'account'" in text
    text = problems(write(tmp_path / "b", contact("owner_follows: {field: status}\n")))
    assert ("entities/contact.yaml:9:24: owner_follows.field: 'status' is a select field; the owner follows "
            "a reference field (account, note)") in text
    text = problems(write(tmp_path / "c", contact("owner_follows: {field: note}\n")))
    assert "entities/contact.yaml:9:24: owner_follows.field: 'note' links to note, which has no owner to follow" \
        in text


def test_the_follower_needs_an_owner_and_where_names_its_fields(tmp_path):
    text = problems(write(tmp_path / "a", contact("owner_follows: {field: account}\n", owner="")))
    assert "entities/contact.yaml:8:16: owner_follows: contact has no owner" in text
    text = problems(write(tmp_path / "b", contact(
        "owner_follows:\n  field: account\n  where: {stauts: open}\n")))
    assert "entities/contact.yaml:11:11: owner_follows.where.stauts: 'stauts' is not a field of contact" in text
    assert "did you mean 'status'" in text
    wrong = problems(write(tmp_path / "c", contact("owner_follows: {field: account, on_release: drop}\n")))
    assert "entities/contact.yaml:9:45: owner_follows.on_release: 'drop' is not a valid on_release" in wrong


def test_owners_may_not_follow_each_other_in_a_cycle(tmp_path):
    main = "  owner: {type: user}\n  main: {type: reference, to: contact}\n"
    account = ACCOUNT.replace("  owner: {type: user}\n", main) + "owner_follows: {field: main}\n"
    text = problems(write(tmp_path / "a", contact("owner_follows: {field: account}\n"), account=account))
    assert "entities/account.yaml:8:24: owner_follows.field: owners follow each other in a cycle" in text
    assert "entities/contact.yaml:9:24: owner_follows.field: owners follow each other in a cycle" in text
    itself = contact("owner_follows: {field: parent}\n").replace(
        "  owner: {type: user}\n", "  owner: {type: user}\n  parent: {type: reference, to: contact}\n")
    assert "owners follow each other in a cycle: contact → contact" in problems(write(tmp_path / "b", itself))


def test_the_design_line_loads_beside_the_design_examples(tmp_path):
    """DESIGN.md's `owner_follows: {field: customer}` (entities/contact.yaml), as written there, on the
    design examples' customer."""
    folder = tmp_path / "design"
    shutil.copytree(DESIGN, folder)
    (folder / "entities" / "contact.yaml").write_text(
        "name: contact\nlabel: {en: Contact, zh: 联系人}\nowner: owner\nfields:\n"
        "  name: {type: text, required: true}\n  customer: {type: reference, to: customer, required: true}\n"
        "  owner: {type: user, default: \"current_user()\"}\n"
        "# entities/contact.yaml — the owner follows the customer on claim, release and transfer\n"
        "owner_follows: {field: customer}\n", encoding="utf-8")
    follows = load_blueprint(folder).entities["contact"].owner_follows
    assert (follows.field, follows.where, follows.on_release) == ("customer", None, "keep")
