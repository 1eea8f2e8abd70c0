"""blueprint.yaml `messages:`: the SMTP server and group robots, loaded with their defaults, and a
mistake in them reported with its file, line and column."""
from __future__ import annotations

import shutil
from pathlib import Path

from atrium.metadata import check_blueprint, load_blueprint

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
MESSAGES = """
messages:
  site_url: https://crm.example.com
  email:
    host: smtp.example.com
    security: tls
    user: crm@example.com
    password_env: ATRIUM_SMTP_PASSWORD
    from: Atrium CRM <crm@example.com>
  robots:
    - name: east_ding
      kind: dingtalk
      url_env: DINGTALK_EAST_URL
      secret_env: DINGTALK_EAST_SECRET
      format: markdown
      teams: [east]
"""


def with_messages(tmp_path: Path, text: str) -> Path:
    folder = Path(shutil.copytree(B2B, tmp_path / "b2b"))
    with (folder / "blueprint.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(text)
    return folder


def test_the_settings_load_with_their_defaults(tmp_path):
    messages = load_blueprint(with_messages(tmp_path, MESSAGES)).messages
    assert messages is not None and messages.email is not None
    assert (messages.email.port, messages.email.digest_at, messages.email.sender) == (465, "08:00",
                                                                                      "Atrium CRM <crm@example.com>")
    robot, = messages.robots
    assert (robot.kind, robot.format, robot.teams, robot.rules) == ("dingtalk", "markdown", ("east",), ())
    assert robot.wants("any_rule", "east") and not robot.wants("any_rule", "west")
    assert messages.link("/r/x/1") == "https://crm.example.com/r/x/1"
    assert load_blueprint(B2B).messages is None  # the shipped blueprint sends nothing by itself


def test_a_wrong_robot_kind_and_a_robot_without_an_address_are_reported_where_they_are(tmp_path):
    folder = with_messages(tmp_path, MESSAGES.replace("kind: dingtalk", "kind: slack")
                           .replace("      url_env: DINGTALK_EAST_URL\n", ""))
    blueprint, problems = check_blueprint(folder)
    assert blueprint is None
    texts = [str(problem) for problem in problems]
    lines = (folder / "blueprint.yaml").read_text(encoding="utf-8").splitlines()
    kind_line = next(i for i, line in enumerate(lines, 1) if "kind: slack" in line)
    assert any(f"blueprint.yaml:{kind_line}:" in text and "slack" in text for text in texts), texts
    assert any("messages.robots[0]: " in text and "url" in text for text in texts), texts


def test_a_secret_is_named_by_its_variable_never_written(tmp_path):
    folder = with_messages(tmp_path, MESSAGES.replace("password_env: ATRIUM_SMTP_PASSWORD", "password: hunter2"))
    blueprint, problems = check_blueprint(folder)
    assert blueprint is None and any("password" in str(problem) for problem in problems)
