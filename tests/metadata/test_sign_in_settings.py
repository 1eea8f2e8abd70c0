"""blueprint.yaml `sign_in:`: providers loaded with their defaults, and a mistake in them
reported with its file, line and column (a role that does not exist, a provider twice, an
OpenID Connect provider without its issuer, passwords off with no way in)."""
from __future__ import annotations

import shutil
from pathlib import Path

from atrium.metadata import check_blueprint, load_blueprint

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
SIGN_IN = """
sign_in:
  passwords: false
  providers:
    - name: corp
      kind: oidc
      label: {en: Company account, zh: 公司账号}
      issuer: https://sso.example.com/realms/crm
      client_id: atrium-crm
      client_secret_env: ATRIUM_SSO_SECRET
      provision: true
      roles: {claim: groups, map: {sales: rep, it: admin}}
    - {name: wecom, kind: wecom, client_id: ww123, agent_id: 1000002, client_secret_env: WECOM_SECRET,
       match: {field: name}}
"""


def with_sign_in(tmp_path: Path, text: str) -> Path:
    folder = Path(shutil.copytree(MINI, tmp_path / "mini"))
    with (folder / "blueprint.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(text)
    return folder


def test_the_providers_load_with_their_defaults(tmp_path):
    settings = load_blueprint(with_sign_in(tmp_path, SIGN_IN)).sign_in
    assert settings is not None and settings.passwords is False
    corp, wecom = settings.providers
    assert (corp.match_claim, corp.match_field, corp.scopes) == ("email", "email", ("openid", "email", "profile"))
    assert dict(corp.roles.map) == {"sales": "rep", "it": "admin"} and corp.provision
    assert (wecom.match_claim, wecom.match_field, wecom.agent_id, wecom.provision) == ("userid", "name", "1000002",
                                                                                    False)
    assert corp.label.texts["zh"] == "公司账号"


def test_without_the_block_passwords_are_the_only_way_in(tmp_path):
    settings = load_blueprint(with_sign_in(tmp_path, "")).sign_in
    assert settings is not None and settings.passwords and settings.providers == ()


def test_mistakes_are_reported_where_they_are(tmp_path):
    text = SIGN_IN.replace("sales: rep", "sales: sales_rep")
    text = text.replace("      issuer: https://sso.example.com/realms/crm\n", "")
    text = text.replace("name: wecom, kind: wecom", "name: corp, kind: wecom").replace(", agent_id: 1000002", "")
    _, problems = check_blueprint(with_sign_in(tmp_path, text))
    shown = [str(problem) for problem in problems]
    assert any("sign_in.providers[0].roles.map.sales: 'sales_rep' is not a role" in p and "valid: 'admin', 'rep'" in p
               for p in shown), shown
    assert any("sign_in.providers[0]: an oidc provider needs 'issuer'" in p for p in shown), shown
    assert any("provider 'corp' is declared twice" in p for p in shown), shown
    assert any("a wecom provider needs 'agent_id'" in p for p in shown), shown
    assert all(p.startswith(str(tmp_path / "mini" / "blueprint.yaml") + ":") for p in shown)


def test_an_unknown_kind_is_a_schema_error(tmp_path):
    _, problems = check_blueprint(with_sign_in(tmp_path, SIGN_IN + "    - {name: bad, kind: saml, client_id: x}\n"))
    assert any("blueprint.yaml:24:25:" in str(p) and "sign_in.providers[2].kind: 'saml'" in str(p) for p in problems)


def test_passwords_off_without_a_provider_is_refused(tmp_path):
    _, problems = check_blueprint(with_sign_in(tmp_path, "sign_in: {passwords: false}\n"))
    assert ["no one could sign in" in str(p) for p in problems] == [True]
