"""What a notification says outside the browser: an email's subject and text, a robot's message,
a digest of several - in the reader's language, with an address of the record that works from
a mail program or a chat."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from atrium.metadata.model import Blueprint, Label
from atrium.translation import word

SUBJECT_LENGTH = 80
DIGEST_ITEMS = 50  # a digest lists this many and counts the rest


def notification_href(row: Mapping[str, Any]) -> str | None:
    """Where an inbox row points: its own link, else its record's page (like Notification.href)."""
    if row.get("link"):
        return str(row["link"])
    if row.get("entity") and row.get("record_id") is not None:
        return f"/r/{row['entity']}/{row['record_id']}"
    return None


class Composer:
    def __init__(self, blueprint: Blueprint):
        self.blueprint = blueprint
        assert blueprint.messages is not None  # composed only for a site that sends messages
        self.settings = blueprint.messages

    def locale(self, locale: str | None) -> str:
        return locale if locale in self.blueprint.locales else self.blueprint.default_locale

    def text(self, message: Any, locale: str) -> str:
        return Label.of(message).text(locale, self.blueprint.default_locale)

    def site_name(self, locale: str) -> str:
        return self.blueprint.label.text(locale, self.blueprint.default_locale)

    def email(self, row: Mapping[str, Any], locale: str) -> dict[str, str]:
        """{subject, text} of one notification's email."""
        text = self.text(row["message"], locale)
        first = text.splitlines()[0] if text else ""
        subject = first if len(first) <= SUBJECT_LENGTH else first[:SUBJECT_LENGTH - 1] + "…"
        parts = [text]
        link = self.settings.link(notification_href(row))
        if link:
            parts.append(word("Open it: {link}", locale, link=link))
        parts.append(self._footer(locale))
        return {"subject": f"[{self.site_name(locale)}] {subject}", "text": "\n\n".join(parts)}

    def digest(self, rows: Sequence[Mapping[str, Any]], locale: str) -> dict[str, str]:
        """{subject, text} of a daily digest of `rows` (oldest first)."""
        lines = []
        for row in rows[:DIGEST_ITEMS]:
            link = self.settings.link(notification_href(row))
            lines.append(f"- {self.text(row['message'], locale)}" + (f"\n  {link}" if link else ""))
        if len(rows) > DIGEST_ITEMS:
            lines.append(word("… and {count} more in your inbox", locale, count=len(rows) - DIGEST_ITEMS))
        subject = word("[{site}] {count} new notifications", locale, site=self.site_name(locale), count=len(rows))
        return {"subject": subject, "text": "\n".join(lines) + "\n\n" + self._footer(locale)}

    def robot(self, row: Mapping[str, Any], names: Sequence[str], locale: str) -> dict[str, Any]:
        """{title, text, link} of a robot message for a notification to the people `names`."""
        text = self.text(row["message"], locale)
        if names:
            text = word("For {names}: {text}", locale, names=", ".join(names), text=text)
        return {"title": self.site_name(locale), "text": text, "link": self.settings.link(notification_href(row))}

    def _footer(self, locale: str) -> str:
        account = self.settings.link("/account")
        return "-- \n" + word("Choose which emails you get on your account page: {link}", locale,
                              link=account or "/account")
