"""The outbox's senders for a site's messages: email and group robots, from blueprint.yaml `messages:`."""
from __future__ import annotations

from atrium.metadata.model import Blueprint
from atrium.runtime.automation.outbox import Channel
from atrium.runtime.delivery.email import EmailChannel
from atrium.runtime.delivery.robots import RobotChannel


def message_channels(blueprint: Blueprint) -> dict[str, Channel]:
    settings = blueprint.messages
    if settings is None:
        return {}
    channels: dict[str, Channel] = {}
    if settings.email is not None:
        channels["email"] = EmailChannel(settings.email)
    if settings.robots:
        channels["robot"] = RobotChannel(settings.robots)
    return channels
