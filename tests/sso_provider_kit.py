"""Local single sign-on providers for the tests, served by uvicorn on 127.0.0.1 in a thread.

`OidcProvider`: a small OpenID Connect provider. Discovery, an authorization page (a form: the
email to sign in as, and a "Sign in" button), a token endpoint that checks the client, the
redirect address and the PKCE verifier, ID tokens signed RS256 with a key generated per run and
served at its JWKS address, and userinfo. `tamper` changes the next ID token (a wrong nonce, an
expired token, a signature by another key) so the tests can check that each is refused.
`WorkAppFakes`: WeCom's `gettoken` + `auth/getuserinfo` and DingTalk's `userAccessToken` +
`contact/users/me`, answering the codes a test registers.
"""
from __future__ import annotations

import base64
import hashlib
import html
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "atrium-test"
CLIENT_SECRET = "test-client-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """An ASGI app under uvicorn in a daemon thread until `stop()`."""

    def __init__(self, app: Starlette):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off", access_log=False))
        self.thread = threading.Thread(target=self.server.run, name="sso-test-provider", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class OidcProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "alg": "RS256"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.people: dict[str, dict[str, Any]] = {}  # email → extra claims (name, groups ...)
        self.tamper: dict[str, Any] = {}  # nonce, exp_offset, other_key, aud, iss: for the next tokens
        self.token_requests: list[dict[str, str]] = []
        app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/authorize", self.authorize_page, methods=["GET"]),
            Route("/authorize", self.authorize, methods=["POST"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/jwks", self.jwks),
            Route("/userinfo", self.userinfo),
        ])
        self.served = Served(app)
        self.issuer = self.served.url

    def stop(self) -> None:
        self.served.stop()

    def discovery(self, request: Request) -> Response:
        base = self.issuer
        return JSONResponse({
            "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks", "userinfo_endpoint": f"{base}/userinfo",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]})

    def authorize_page(self, request: Request) -> Response:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in request.query_params.items())
        return HTMLResponse(f'<!doctype html><title>Test provider</title><form method="post" action="/authorize">'
                            f'{hidden}<label>Email <input name="login_email"></label>'
                            f'<button type="submit">Sign in at the provider</button></form>')

    async def authorize(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        return RedirectResponse(self.approve(form, form.pop("login_email")), status_code=303)

    def approve(self, query: dict[str, str], email: str) -> str:
        """The callback address the provider sends the browser back to, signed in as `email`."""
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": query["redirect_uri"], "nonce": query.get("nonce"),
                            "challenge": query["code_challenge"], "email": email}
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def claims_of(self, email: str) -> dict[str, Any]:
        return {"sub": "sub-" + hashlib.sha256(email.encode()).hexdigest()[:12], "email": email,
                **self.people.get(email, {})}

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if auth != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        now = int(time.time()) + int(self.tamper.get("exp_offset", 0))
        claims = {"iss": self.tamper.get("iss", self.issuer), "aud": self.tamper.get("aud", CLIENT_ID),
                  "iat": now, "exp": now + 300, "nonce": self.tamper.get("nonce", grant["nonce"]),
                  **self.claims_of(grant["email"])}
        key = self.other_key if self.tamper.get("other_key") else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, key)
        access = "at-" + secrets.token_urlsafe(8)
        self.codes["access:" + access] = {"email": grant["email"]}
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token})

    def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    def userinfo(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        grant = self.codes.get("access:" + token)
        if grant is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(self.claims_of(grant["email"]))


class WorkAppFakes:
    """WeCom's and DingTalk's server APIs on one local address: a test registers a code and the
    person it stands for, then the callback exchanges it here."""

    def __init__(self, corp_id: str = "ww-test-corp", secret: str = "work-app-secret") -> None:
        self.corp_id, self.secret = corp_id, secret
        self.wecom_codes: dict[str, str] = {}  # code → userid
        self.dingtalk_codes: dict[str, dict[str, Any]] = {}  # code → users/me answer
        self.tokens: dict[str, dict[str, Any]] = {}
        self.served = Served(Starlette(routes=[
            Route("/cgi-bin/gettoken", self.gettoken),
            Route("/cgi-bin/auth/getuserinfo", self.getuserinfo),
            Route("/v1.0/oauth2/userAccessToken", self.user_access_token, methods=["POST"]),
            Route("/v1.0/contact/users/me", self.users_me),
        ]))
        self.url = self.served.url

    def stop(self) -> None:
        self.served.stop()

    def gettoken(self, request: Request) -> Response:
        if request.query_params.get("corpid") != self.corp_id or request.query_params.get("corpsecret") != self.secret:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        token = "wt-" + secrets.token_urlsafe(8)
        self.tokens[token] = {}
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def getuserinfo(self, request: Request) -> Response:
        if request.query_params.get("access_token") not in self.tokens:
            return JSONResponse({"errcode": 40014, "errmsg": "invalid access_token"})
        userid = self.wecom_codes.pop(request.query_params.get("code", ""), None)
        if userid is None:
            return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "t"})

    async def user_access_token(self, request: Request) -> Response:
        body = await request.json()
        person = self.dingtalk_codes.pop(body.get("code", ""), None)
        if body.get("clientId") != self.corp_id or body.get("clientSecret") != self.secret or person is None \
                or body.get("grantType") != "authorization_code":
            return JSONResponse({"code": "invalidParameter", "message": "bad code"}, status_code=400)
        token = "dt-" + secrets.token_urlsafe(8)
        self.tokens[token] = person
        return JSONResponse({"accessToken": token, "refreshToken": "r", "expireIn": 7200, "corpId": "c"})

    def users_me(self, request: Request) -> Response:
        person = self.tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""))
        if not person:
            return JSONResponse({"code": "InvalidAuthentication", "message": "bad token"}, status_code=401)
        return JSONResponse(person)
