"""blueprint.yaml `sign_in:`: whether local passwords are accepted, and the single sign-on
providers (OpenID Connect, WeCom, DingTalk) shown on the login page.

Like `messages:`, only names of environment variables are kept for secrets (a client secret):
the value is read when a sign-in needs it, never stored in the model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.model import Label, Role
from atrium.metadata.sources import Report, Source

KINDS = ("oidc", "wecom", "dingtalk")
USER_COLUMNS = ("name", "email")  # the user columns a provider's claim can be matched against
DEFAULT_CLAIMS = {"oidc": "email", "wecom": "userid", "dingtalk": "unionId"}


@dataclass(frozen=True)
class RoleMapping:
    claim: str | None = None  # the claim holding the person's groups (a string or a list)
    map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # group → role
    default: str | None = None  # the role when no group maps; None: an administrator gives one


@dataclass(frozen=True)
class SignInProvider:
    name: str
    kind: str  # oidc, wecom, dingtalk
    label: Label
    client_id: str
    client_secret_env: str | None = None
    issuer: str | None = None  # oidc: discovery at {issuer}/.well-known/openid-configuration
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    base_url: str | None = None  # wecom, dingtalk: the API's address (default: the vendor's own)
    authorize_url: str | None = None  # wecom, dingtalk: the sign-in page's address
    agent_id: str | None = None  # wecom: the application's AgentID
    match_claim: str = "email"
    match_field: str = "email"  # a column of the users table: name or email
    provision: bool = False
    roles: RoleMapping = RoleMapping()


@dataclass(frozen=True)
class SignInSettings:
    passwords: bool = True
    providers: tuple[SignInProvider, ...] = ()

    def provider(self, name: str) -> SignInProvider | None:
        return next((p for p in self.providers if p.name == name), None)


def build_sign_in_settings(spec: Mapping[str, Any] | None) -> SignInSettings:
    """The validated `sign_in:` mapping (the JSON schema has checked its shape) → SignInSettings."""
    if not spec:
        return SignInSettings()
    providers = []
    for item in spec.get("providers", ()):
        kind = item["kind"]
        match = item.get("match") or {}
        roles = item.get("roles") or {}
        providers.append(SignInProvider(
            name=item["name"], kind=kind, label=Label.of(item.get("label"), item["name"]),
            client_id=str(item["client_id"]), client_secret_env=item.get("client_secret_env"),
            issuer=item.get("issuer"), scopes=tuple(item.get("scopes", ("openid", "email", "profile"))),
            base_url=item.get("base_url"), authorize_url=item.get("authorize_url"),
            agent_id=str(item["agent_id"]) if item.get("agent_id") is not None else None,
            match_claim=match.get("claim", DEFAULT_CLAIMS[kind]), match_field=match.get("field", "email"),
            provision=bool(item.get("provision", False)),
            roles=RoleMapping(claim=roles.get("claim"), map=MappingProxyType(dict(roles.get("map") or {})),
                              default=roles.get("default"))))
    return SignInSettings(passwords=spec.get("passwords", True), providers=tuple(providers))


def check_sign_in(source: Source, roles: Mapping[str, Role], report: Report) -> None:
    """What the schema cannot see: provider names are unique, the roles a mapping names exist, an
    OpenID Connect provider names its issuer, and a site without passwords has a way in."""
    spec = source.data.get("sign_in") or {}
    providers = spec.get("providers") or []
    seen: set[str] = set()
    for i, item in enumerate(providers):
        path: list[str | int] = ["sign_in", "providers", i]
        if item.get("name") in seen:
            report.add(source, path + ["name"], f"provider '{item['name']}' is declared twice")
        seen.add(item.get("name"))
        if item.get("kind") == "oidc" and not item.get("issuer"):
            report.add(source, path, "an oidc provider needs 'issuer' (its discovery document is read from there)")
        if item.get("kind") == "wecom" and item.get("agent_id") is None:
            report.add(source, path, "a wecom provider needs 'agent_id' (the application's AgentID)")
        mapping = item.get("roles") or {}
        for group, role in (mapping.get("map") or {}).items():
            if role not in roles:
                report.unknown(source, path + ["roles", "map", group], "a role", role, roles)
        if mapping.get("default") is not None and mapping["default"] not in roles:
            report.unknown(source, path + ["roles", "default"], "a role", mapping["default"], roles)
    if spec.get("passwords") is False and not providers:
        report.add(source, ["sign_in", "passwords"], "passwords are off and no provider is declared: no one "
                   "could sign in", hint="declare a provider under sign_in.providers, or keep passwords on")
