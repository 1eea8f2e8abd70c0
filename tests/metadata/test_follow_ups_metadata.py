"""Load-time checks of `follow_up:` and `check_in:`: a correct declaration loads into the model,
and each mistake is reported at its file, line and column with a hint."""
from __future__ import annotations

from pathlib import Path

import pytest

from atrium.metadata import BlueprintError, load_blueprint

ACCOUNT = """\
name: account
label: Account
fields:
  name: {type: text}
  last_touch: {type: datetime}
  touched_on: {type: date}
  score: {type: integer, formula: "1"}
"""


def activity(extra: str) -> str:
    return f"""\
name: activity
label: Activity
fields:
  account: {{type: reference, to: account}}
  done: {{type: boolean}}
  at: {{type: datetime}}
  kind: {{type: select, options: [call, meeting]}}
  note: {{type: textarea}}
  place: {{type: location}}
{extra}"""


def write(folder: Path, extra: str) -> Path:
    (folder / "entities").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text("name: t\nlabel: T\nlocales: [en, zh]\n", encoding="utf-8")
    (folder / "entities" / "account.yaml").write_text(ACCOUNT, encoding="utf-8")
    (folder / "entities" / "activity.yaml").write_text(activity(extra), encoding="utf-8")
    return folder


def problems(folder: Path) -> str:
    with pytest.raises(BlueprintError) as error:
        load_blueprint(folder)
    return str(error.value)


def test_a_follow_up_with_its_quick_log_and_a_check_in_load(tmp_path):
    extra = """\
follow_up:
  of: account
  when: "done"
  at: at
  sets: last_touch
  log: {label: {en: Log, zh: 记录}, pick: kind, note: note, values: {done: "True", at: "now()"}}
check_in: {at: at, location: place, set: {done: "True"}}
"""
    entity = load_blueprint(write(tmp_path / "bp", extra)).entities["activity"]
    follow_up, check_in = entity.follow_up, entity.check_in
    assert (follow_up.of, follow_up.parent, follow_up.at, follow_up.sets) == ("account", "account", "at", "last_touch")
    assert follow_up.when.source == "done"
    assert follow_up.log.pick == "kind" and follow_up.log.note == "note" and set(follow_up.log.values) == {"done", "at"}
    assert follow_up.log.label.text("zh") == "记录"
    assert (check_in.at, check_in.location, set(check_in.set)) == ("at", "place", {"done"})
    assert check_in.label is None          # the page says "Check in" in the reader's language


@pytest.mark.parametrize("extra, expected", [
    ("follow_up: {of: kind, at: at, sets: last_touch}\n",
     "activity.yaml:10:17: follow_up.of: 'kind' is a select field; a follow-up counts for the record a "
     "reference field links to (account)"),
    ("follow_up: {of: account, at: note, sets: last_touch}\n",
     "activity.yaml:10:30: follow_up.at: 'note' is not a date or datetime field of activity"),
    ("follow_up: {of: account, at: at, sets: last_tuch}\n",
     "activity.yaml:10:40: follow_up.sets: 'last_tuch' is not a date or datetime field of account "
     "(did you mean 'last_touch'?)"),
    ("follow_up: {of: account, at: at, sets: touched_on}\n",
     "follow_up.sets: account.touched_on is a date field and activity.at a datetime: they must be of one type"),
    ("follow_up: {of: account, at: at, sets: score}\n",
     "follow_up.sets: account.score is computed"),
    ("follow_up: {of: account, at: at, sets: last_touch, when: \"stauts == 1\"}\n",
     "uses unknown name 'stauts'"),
    ("follow_up: {of: account, at: at, sets: last_touch, log: {pick: note}}\n",
     "activity.yaml:10:64: follow_up.log.pick: 'note' is not a select field of activity"),
    ("follow_up: {of: account, at: at, sets: last_touch, log: {values: {nam: \"name\"}}}\n",
     "follow_up.log.values.nam: 'nam' is not a field of activity that may be set"),
    ("check_in: {at: at, location: note}\n",
     "activity.yaml:10:30: check_in.location: 'note' is not a location field of activity"),
    ("check_in: {at: at, set: {done: \"maybe\"}}\n",
     "check_in.set.done: expression 'maybe' uses unknown name 'maybe'"),
    ("check_in: {at: at, location: place, when: done}\n",
     "activity.yaml:10:37: check_in.when: 'when' is not a known property"),
])
def test_each_mistake_is_named_at_its_place(tmp_path, extra, expected):
    assert expected in problems(write(tmp_path / "bp", extra))
