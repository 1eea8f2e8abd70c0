"""Group robots: the webhook formats of WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书).

The outbox row keeps the message (title, text, link) and the robot's name, never its address or
secret: both are read from the environment when the message is sent, and DingTalk's and Feishu's
signatures are made then, because each robot refuses a timestamp more than an hour old.

- WeCom: `{"msgtype": "text", "text": {"content"}}` or `{"msgtype": "markdown", "markdown": {"content"}}`;
  no signature (the key in the address is the secret).
- DingTalk: `{"msgtype": "text", "text": {"content"}}` or `{"msgtype": "markdown", "markdown":
  {"title", "text"}}`; signed by adding `timestamp` (ms) and `sign` = urlencode(base64(HMAC-SHA256
  key=secret, message="{timestamp}\\n{secret}")) to the address.
- Feishu: `{"msg_type": "text", "content": {"text"}}` or a `post` with a title and a link; signed by
  adding `timestamp` (s) and `sign` = base64(HMAC-SHA256 key="{timestamp}\\n{secret}", empty message)
  to the body.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Mapping

from atrium.metadata.message_settings import RobotSettings
from atrium.runtime.automation.outbox import TIMEOUT_SECONDS, Answer, Sender

ROBOT_PREFIX = "robot:"  # the outbox row's url: robot:<name>, resolved when sent


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def payload(robot: RobotSettings, message: Mapping[str, Any]) -> dict[str, Any]:
    """The robot's JSON for a message {title, text, link}: its documented text or markdown form."""
    title, text, link = message["title"], message["text"], message.get("link")
    plain = f"{text}\n{link}" if link else text
    markdown = f"**{title}**\n\n{text}" + (f"\n\n[{link}]({link})" if link else "")
    if robot.kind == "feishu":
        if robot.format == "markdown":
            line: list[dict[str, Any]] = [{"tag": "text", "text": text}]
            if link:
                line.append({"tag": "a", "text": link, "href": link})
            return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": title, "content": [line]}}}}
        return {"msg_type": "text", "content": {"text": plain}}
    if robot.format == "markdown":
        if robot.kind == "dingtalk":
            return {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
        return {"msgtype": "markdown", "markdown": {"content": markdown}}
    return {"msgtype": "text", "text": {"content": plain}}


class RobotChannel:
    """Sends an outbox row of channel `robot` to the robot it names."""

    def __init__(self, robots: tuple[RobotSettings, ...], send: Sender | None = None,
                 clock: Callable[[], float] = time.time):
        self.robots = {robot.name: robot for robot in robots}
        self.send, self.clock = send or post_to_robot, clock

    def __call__(self, row: Mapping[str, Any]) -> Answer:
        name = str(row["url"]).removeprefix(ROBOT_PREFIX)
        robot = self.robots.get(name)
        if robot is None:
            return Answer(None, f"robot {name} is no longer configured")
        url = robot.url or os.environ.get(robot.url_env or "")
        if not url:
            return Answer(None, f"environment variable {robot.url_env} is not set")
        body = payload(robot, json.loads(row["body"]))
        if robot.secret_env and robot.kind in ("dingtalk", "feishu"):
            secret = os.environ.get(robot.secret_env)
            if not secret:  # the robot refuses unsigned messages when it has a secret
                return Answer(None, f"environment variable {robot.secret_env} is not set")
            if robot.kind == "dingtalk":
                stamp = int(self.clock() * 1000)
                url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={dingtalk_sign(secret, stamp)}"
            else:
                stamp = int(self.clock())
                body = {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp), **body}
        data = json.dumps(body, ensure_ascii=False).encode()
        return self.send(url, data, {"Content-Type": "application/json; charset=utf-8"})


def post_to_robot(url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
    """POST a robot message. The robots answer a refused message (a bad signature, a blocked
    keyword, too many messages) with HTTP 200 and a non-zero `errcode` (WeCom, DingTalk) or
    `code` (Feishu) in the body: that is a failure to retry, not a delivery."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            text = response.read(65536).decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as error:
        return Answer(error.code, f"HTTP {error.code}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Answer(None, str(getattr(error, "reason", error)) or type(error).__name__)
    try:
        answer = json.loads(text) if text.strip() else {}
    except ValueError:
        answer = {}
    code = answer.get("errcode", answer.get("code", 0)) if isinstance(answer, dict) else 0
    if code:
        message = answer.get("errmsg") or answer.get("msg") or ""
        return Answer(None, f"robot refused the message: {code} {message}".strip())
    return Answer(status)
