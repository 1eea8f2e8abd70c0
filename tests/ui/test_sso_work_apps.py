"""Signing in through WeCom (企业微信) and DingTalk, against local fakes of their APIs
(tests/sso_provider_kit.py): the browser goes to the configured sign-in page with the right
parameters, and the code it comes back with is exchanged for the person the site knows."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sso_kit import come_back, site_client, start
from sso_provider_kit import WorkAppFakes


@pytest.fixture(scope="module")
def fakes():
    running = WorkAppFakes()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def secret(fakes, monkeypatch):
    monkeypatch.setenv("ATRIUM_TEST_WORK_SECRET", fakes.secret)


def providers(fakes) -> dict:
    common = {"client_id": fakes.corp_id, "client_secret_env": "ATRIUM_TEST_WORK_SECRET", "base_url": fakes.url}
    return {"providers": [
        {"name": "wecom", "kind": "wecom", "label": {"en": "WeCom", "zh": "企业微信"}, "agent_id": "1000002",
         "authorize_url": "https://open.work.weixin.qq.com/wwopen/sso/qrConnect",
         "match": {"claim": "userid", "field": "name"}, **common},
        {"name": "dingtalk", "kind": "dingtalk", "label": {"en": "DingTalk", "zh": "钉钉"},
         "match": {"claim": "email", "field": "email"}, "provision": True, "roles": {"default": "rep"}, **common},
    ]}


@pytest.fixture
def client(tmp_path, engine, database_url, fakes):
    with site_client(tmp_path / "site", engine, database_url, providers(fakes)) as running:
        yield running


def test_wecom_signs_in_the_member_whose_user_name_is_their_userid(client, fakes):
    query = start(client, "wecom")
    assert (query["appid"], query["agentid"]) == (fakes.corp_id, "1000002")
    assert query["redirect_uri"] == "http://testserver/login/wecom/callback"
    fakes.wecom_codes["wc-code-1"] = "alice"
    answer = come_back(client, f"/login/wecom/callback?code=wc-code-1&state={query['state']}")
    assert answer.status_code == 303
    assert "alice" in client.get("/account").text


def test_wecom_refuses_a_code_it_does_not_know_and_a_member_the_site_does_not(client, fakes):
    query = start(client, "wecom")
    assert come_back(client, f"/login/wecom/callback?code=made-up&state={query['state']}").status_code == 400
    query = start(client, "wecom")
    fakes.wecom_codes["wc-code-2"] = "zhangsan"
    answer = come_back(client, f"/login/wecom/callback?code=wc-code-2&state={query['state']}")
    assert answer.status_code == 403 and client.get("/account", follow_redirects=False).status_code == 303


def test_dingtalk_provisions_a_colleague_with_the_default_role(client, fakes, engine):
    query = start(client, "dingtalk")
    assert (query["client_id"], query["response_type"], query["scope"]) == (fakes.corp_id, "code", "openid")
    fakes.dingtalk_codes["dt-code-1"] = {"unionId": "union-li", "openId": "open-li", "nick": "李雷",
                                         "email": "lilei@example.com", "mobile": "13800000000"}
    answer = come_back(client, f"/login/dingtalk/callback?authCode=dt-code-1&state={query['state']}")
    assert answer.status_code == 303
    site = client.app.state.site
    users, links = site.tables.system("atrium_users"), site.tables.system("atrium_sign_in_links")
    with engine.connect() as connection:
        row = connection.execute(sa.select(users).where(users.c.email == "lilei@example.com")).one()
        link = connection.execute(sa.select(links).where(links.c.user_id == row.id)).one()
    assert (row.name, row.display_name, row.role) == ("lilei", "李雷", "rep")
    assert (link.provider, link.subject) == ("dingtalk", "union-li")


def test_dingtalk_with_a_wrong_state_never_reaches_the_api(client, fakes):
    start(client, "dingtalk")
    fakes.dingtalk_codes["dt-code-2"] = {"unionId": "union-x", "email": "alice@example.com"}
    assert come_back(client, "/login/dingtalk/callback?authCode=dt-code-2&state=forged").status_code == 400
    assert "dt-code-2" in fakes.dingtalk_codes  # never exchanged
