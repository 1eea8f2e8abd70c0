"""blueprint.yaml `messages:`: the SMTP server and group robots notifications also go to.

Only names of environment variables are kept for secrets (the SMTP password, a robot's webhook
address and signing secret): the values are read when a message is sent, never stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class EmailSettings:
    host: str
    sender: str
    port: int
    security: str  # starttls, tls, none
    user: str | None = None
    password_env: str | None = None
    digest_at: str = "08:00"  # HH:MM in the blueprint's time zone


@dataclass(frozen=True)
class RobotSettings:
    name: str
    kind: str  # wecom, dingtalk, feishu
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    format: str = "text"  # text, markdown
    locale: str | None = None
    rules: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def wants(self, rule: str | None, team: str | None) -> bool:
        """Whether a notification of `rule` for a person of `team` goes to this robot."""
        if self.rules and rule not in self.rules:
            return False
        return not self.teams or team in self.teams


@dataclass(frozen=True)
class MessageSettings:
    site_url: str  # required with any messages: a mail program has no page a link is relative to
    email: EmailSettings | None = None
    robots: tuple[RobotSettings, ...] = ()

    def link(self, href: str | None) -> str | None:
        """A notification's link as an address that works outside the browser's session."""
        if not href:
            return None
        return self.site_url.rstrip("/") + href if href.startswith("/") else href


def build_message_settings(spec: Mapping[str, Any] | None) -> MessageSettings | None:
    """The validated `messages:` mapping (the JSON schema has checked its shape) → MessageSettings."""
    if not spec:
        return None
    email = None
    if spec.get("email"):
        mail = spec["email"]
        security = mail.get("security", "starttls")
        email = EmailSettings(host=mail["host"], sender=mail["from"], port=mail.get("port", DEFAULT_PORTS[security]),
                              security=security, user=mail.get("user"), password_env=mail.get("password_env"),
                              digest_at=mail.get("digest_at", "08:00"))
    robots = tuple(RobotSettings(name=robot["name"], kind=robot["kind"], url=robot.get("url"),
                                 url_env=robot.get("url_env"), secret_env=robot.get("secret_env"),
                                 format=robot.get("format", "text"), locale=robot.get("locale"),
                                 rules=tuple(robot.get("rules", ())), teams=tuple(robot.get("teams", ())))
                   for robot in spec.get("robots", ()))
    return MessageSettings(site_url=spec["site_url"], email=email, robots=robots)
