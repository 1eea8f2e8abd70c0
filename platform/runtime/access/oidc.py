"""OpenID Connect sign-in (authorization code flow with PKCE) through Authlib's OAuth 2 client.

`begin` gives the provider's authorization address and what the browser's pre-sign-in session
must keep (state, nonce, PKCE verifier); `finish` takes the callback's parameters, checks the
state, exchanges the code (with the verifier) at the token endpoint and verifies the ID token
against the provider's JWKS: signature, `iss`, `aud`, `exp` and the `nonce` of this sign-in.
The provider's endpoints come from its discovery document, cached for a while like its keys.
Every call here blocks on the network: the web layer runs them in the threadpool.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any, Mapping

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from atrium.metadata.sign_in_settings import SignInProvider
from atrium.runtime.access.external_sign_in import Identity, SignInRefused

log = logging.getLogger(__name__)
TIMEOUT = 10  # seconds for each call to the provider
CACHE_SECONDS = 3600
LEEWAY = 60  # seconds of clock difference allowed on exp / iat
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")  # never "none" nor HS*

_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def secret_of(provider: SignInProvider, environ: Mapping[str, str]) -> str | None:
    return environ.get(provider.client_secret_env) if provider.client_secret_env else None


def _get_json(url: str, refresh: bool = False) -> Any:
    with _lock:
        cached = _cache.get(url)
    if cached is not None and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    response = requests.get(url, timeout=TIMEOUT)
    response.raise_for_status()
    value = response.json()
    with _lock:
        _cache[url] = (time.monotonic(), value)
    return value


def discovery(provider: SignInProvider) -> dict[str, Any]:
    """The provider's discovery document; its `issuer` must be the configured one."""
    issuer = (provider.issuer or "").rstrip("/")
    document = _get_json(issuer + "/.well-known/openid-configuration")
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise SignInRefused("failed", f"the discovery document of {issuer} names another issuer")
    return document


def begin(provider: SignInProvider, redirect_uri: str, environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The authorization address to send the browser to, and what to keep until the callback."""
    try:
        document = discovery(provider)
    except (requests.RequestException, ValueError) as error:
        log.warning("sign-in provider %s: discovery failed: %s", provider.name, error)
        raise SignInRefused("failed", "the provider cannot be reached") from error
    pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
               "verifier": secrets.token_urlsafe(48)}
    client = OAuth2Session(provider.client_id, secret_of(provider, environ), scope=" ".join(provider.scopes),
                           redirect_uri=redirect_uri, code_challenge_method="S256")
    url, _ = client.create_authorization_url(document["authorization_endpoint"], state=pending["state"],
                                             code_verifier=pending["verifier"], nonce=pending["nonce"])
    return url, pending


def finish(provider: SignInProvider, redirect_uri: str, pending: Mapping[str, str], params: Mapping[str, str],
           environ: Mapping[str, str]) -> Identity:
    """The person the callback's code stands for; SignInRefused("failed") when anything does not hold."""
    if not pending.get("state") or not secrets.compare_digest(str(params.get("state", "")), pending["state"]):
        raise SignInRefused("failed", "the state does not match this browser's sign-in")
    if params.get("error") or not params.get("code"):
        raise SignInRefused("failed", f"the provider answered {params.get('error') or 'without a code'}")
    try:
        document = discovery(provider)
        client = OAuth2Session(provider.client_id, secret_of(provider, environ), scope=" ".join(provider.scopes),
                               redirect_uri=redirect_uri, code_challenge_method="S256")
        token = client.fetch_token(document["token_endpoint"], code=params["code"],
                                   code_verifier=pending["verifier"], timeout=TIMEOUT)
        claims = verify_id_token(provider, document, str(token.get("id_token") or ""), pending["nonce"])
        if document.get("userinfo_endpoint") and provider.match_claim not in claims:
            info = client.get(document["userinfo_endpoint"], timeout=TIMEOUT)
            info.raise_for_status()
            extra = info.json()
            if isinstance(extra, dict) and extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
    except (requests.RequestException, AuthlibBaseError, JoseError, ValueError, KeyError) as error:
        log.warning("sign-in provider %s: %s", provider.name, error)
        raise SignInRefused("failed", str(error)) from error
    return Identity(subject=str(claims["sub"]), claims=claims, display_name=claims.get("name"),
                    email=claims.get("email"))


def verify_id_token(provider: SignInProvider, document: Mapping[str, Any], id_token: str,
                    nonce: str) -> dict[str, Any]:
    """The ID token's claims, once its signature (by a key of the JWKS), issuer, audience, expiry
    and nonce hold. An unknown key id reads the JWKS again once (the provider rotated its keys)."""
    if not id_token:
        raise SignInRefused("failed", "the token endpoint sent no ID token")
    keys = KeySet.import_key_set(_get_json(document["jwks_uri"]))
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except JoseError:
        keys = KeySet.import_key_set(_get_json(document["jwks_uri"], refresh=True))
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY, iss={"essential": True, "value": document["issuer"]},
        aud={"essential": True, "value": provider.client_id}, exp={"essential": True},
        sub={"essential": True}, nonce={"essential": True, "value": nonce})
    registry.validate(token.claims)
    audiences = token.claims["aud"] if isinstance(token.claims["aud"], list) else [token.claims["aud"]]
    if len(audiences) > 1 and token.claims.get("azp") != provider.client_id:
        raise SignInRefused("failed", "the ID token was issued to another client")
    return dict(token.claims)
