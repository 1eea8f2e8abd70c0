"""Sign-in through WeCom (企业微信) and DingTalk (钉钉), by their documented OAuth flows.

WeCom: the browser goes to the web sign-in page (`qrConnect`, appid = CorpID, agentid) and
comes back with `code`; the server asks `cgi-bin/gettoken` (corpid + the application's secret)
for an access token, then `cgi-bin/auth/getuserinfo` for the member's `userid`.
DingTalk: the browser goes to `login.dingtalk.com/oauth2/auth` and comes back with `authCode`;
the server exchanges it at `v1.0/oauth2/userAccessToken`, then reads `v1.0/contact/users/me`
(unionId, openId, nick, mobile, email).
Both bind the round trip with `state`, kept in the browser's pre-sign-in session. The API and
sign-in page addresses are configurable (a private deployment, a test's local fake).
"""
from __future__ import annotations

import logging
import secrets
from typing import Any, Mapping
from urllib.parse import urlencode

import requests

from atrium.metadata.sign_in_settings import SignInProvider
from atrium.runtime.access.external_sign_in import Identity, SignInRefused
from atrium.runtime.access.oidc import TIMEOUT, secret_of

log = logging.getLogger(__name__)
WECOM_API = "https://qyapi.weixin.qq.com"
WECOM_AUTHORIZE = "https://open.work.weixin.qq.com/wwopen/sso/qrConnect"
DINGTALK_API = "https://api.dingtalk.com"
DINGTALK_AUTHORIZE = "https://login.dingtalk.com/oauth2/auth"


def begin(provider: SignInProvider, redirect_uri: str) -> tuple[str, dict[str, str]]:
    state = secrets.token_urlsafe(24)
    if provider.kind == "wecom":
        query = {"appid": provider.client_id, "agentid": provider.agent_id or "", "redirect_uri": redirect_uri,
                 "state": state}
        url = provider.authorize_url or WECOM_AUTHORIZE
    else:
        query = {"redirect_uri": redirect_uri, "response_type": "code", "client_id": provider.client_id,
                 "scope": "openid", "state": state, "prompt": "consent"}
        url = provider.authorize_url or DINGTALK_AUTHORIZE
    return f"{url}?{urlencode(query)}", {"state": state}


def finish(provider: SignInProvider, pending: Mapping[str, str], params: Mapping[str, str],
           environ: Mapping[str, str]) -> Identity:
    if not pending.get("state") or not secrets.compare_digest(str(params.get("state", "")), pending["state"]):
        raise SignInRefused("failed", "the state does not match this browser's sign-in")
    code = params.get("authCode") or params.get("code")
    if not code:
        raise SignInRefused("failed", "the provider answered without a code")
    secret = secret_of(provider, environ)
    if not secret:
        raise SignInRefused("failed", f"{provider.client_secret_env or 'client_secret_env'} is not set")
    try:
        return _wecom(provider, code, secret) if provider.kind == "wecom" else _dingtalk(provider, code, secret)
    except (requests.RequestException, ValueError, KeyError) as error:
        log.warning("sign-in provider %s: %s", provider.name, error)
        raise SignInRefused("failed", str(error)) from error


def _wecom_json(response: requests.Response) -> dict[str, Any]:
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict) or body.get("errcode", 0) != 0:
        raise ValueError(f"WeCom answered {body.get('errcode') if isinstance(body, dict) else body}: "
                         f"{body.get('errmsg', '') if isinstance(body, dict) else ''}")
    return body


def _wecom(provider: SignInProvider, code: str, secret: str) -> Identity:
    base = (provider.base_url or WECOM_API).rstrip("/")
    token = _wecom_json(requests.get(f"{base}/cgi-bin/gettoken", params={"corpid": provider.client_id,
                                                                          "corpsecret": secret}, timeout=TIMEOUT))
    info = _wecom_json(requests.get(f"{base}/cgi-bin/auth/getuserinfo",
                                    params={"access_token": token["access_token"], "code": code}, timeout=TIMEOUT))
    userid = info.get("userid") or info.get("UserId")
    if not userid:  # an openid only: someone outside the company
        raise SignInRefused("unknown", "not a member of the company")
    return Identity(subject=str(userid), claims={**info, "userid": str(userid)})


def _dingtalk(provider: SignInProvider, code: str, secret: str) -> Identity:
    base = (provider.base_url or DINGTALK_API).rstrip("/")
    answer = requests.post(f"{base}/v1.0/oauth2/userAccessToken", json={
        "clientId": provider.client_id, "clientSecret": secret, "code": code, "grantType": "authorization_code"},
        timeout=TIMEOUT)
    answer.raise_for_status()
    access = answer.json()["accessToken"]
    me = requests.get(f"{base}/v1.0/contact/users/me", headers={"x-acs-dingtalk-access-token": access},
                      timeout=TIMEOUT)
    me.raise_for_status()
    person = me.json()
    if not isinstance(person, dict) or not person.get("unionId"):
        raise ValueError("DingTalk sent no unionId")
    return Identity(subject=str(person["unionId"]), claims=person, display_name=person.get("nick"),
                    email=person.get("email"))
