"""Sign-in throttling without lock-out or enumeration: per address and per account, the owner
still signs in from elsewhere while an account is hammered, unknown names answer like wrong
passwords (status, page and time), and parallel attempts never get past the limit."""
from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient
from test_app import csrf, make_client, sign_in

from atrium.runtime.access.sign_in_throttle import ACCOUNT_LIMIT, ACCOUNT_TOTAL_LIMIT, ADDRESS_LIMIT


@pytest.fixture
def client(engine, database_url, design_blueprint):
    client, _ = make_client(engine, database_url, design_blueprint)
    with client:
        yield client


def browser(client: TestClient, address: str) -> TestClient:
    """A browser at another address (its own cookies)."""
    return TestClient(client.app, client=(address, 50000))


def test_sixty_names_from_one_address_are_throttled(client):
    attacker = browser(client, "203.0.113.7")
    statuses = [sign_in(attacker, f"guess{n}", "password1").status_code for n in range(60)]
    assert statuses[:ADDRESS_LIMIT] == [400] * ADDRESS_LIMIT
    assert statuses[ADDRESS_LIMIT:] == [429] * (60 - ADDRESS_LIMIT)
    refused = sign_in(attacker, "rep", "rep-pass")  # the address, not the name, is held back
    assert refused.status_code == 429 and "秒后再试" in refused.text
    assert sign_in(browser(client, "198.51.100.1"), "rep", "rep-pass").status_code == 303


def test_the_owner_signs_in_from_elsewhere_while_one_address_hammers_the_account(client):
    attacker, owner = browser(client, "203.0.113.7"), browser(client, "198.51.100.1")
    statuses = [sign_in(attacker, "rep", f"wrong{n}").status_code for n in range(12)]
    assert statuses == [400] * ACCOUNT_LIMIT + [429] * (12 - ACCOUNT_LIMIT)
    assert sign_in(attacker, "rep", "rep-pass").status_code == 429  # the failing client waits
    assert sign_in(owner, "rep", "rep-pass").status_code == 303
    assert owner.get("/", follow_redirects=False).status_code == 200


def test_an_account_attacked_from_many_addresses_still_lets_its_owner_in(client):
    for n in range(ACCOUNT_TOTAL_LIMIT + 5):  # a botnet: one wrong guess from each address
        assert sign_in(browser(client, f"203.0.113.{n}"), "rep", "wrong").status_code == 400
    repeat = browser(client, "203.0.113.1")  # an address that already failed gets little more
    assert [sign_in(repeat, "rep", "wrong").status_code for _ in range(2)] == [400, 429]
    assert sign_in(browser(client, "198.51.100.1"), "rep", "rep-pass").status_code == 303


def _timed(client: TestClient, name: str, password: str) -> tuple[float, int, str]:
    token = csrf(client)
    started = time.perf_counter()
    response = client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                           follow_redirects=False)
    return time.perf_counter() - started, response.status_code, response.text.replace(name, "NAME")


def test_an_unknown_name_answers_like_a_wrong_password(client):
    tries = browser(client, "198.51.100.1")
    known, unknown = [], []
    for n in range(4):  # interleaved, so both see the same load on the machine
        known.append(_timed(tries, "boss", f"wrong-{n}"))
        unknown.append(_timed(tries, f"nobody{n}", f"wrong-{n}"))
    assert {status for _, status, _ in known + unknown} == {400}
    assert {page for _, _, page in known} == {page for _, _, page in unknown}  # one page, the name aside
    known_time = statistics.median(t for t, _, _ in known)
    unknown_time = statistics.median(t for t, _, _ in unknown)
    assert 0.5 < unknown_time / known_time < 2, (known_time, unknown_time)  # argon2 runs for both
    known_refused = [_timed(tries, "boss", "wrong")[1] for _ in range(ACCOUNT_LIMIT + 1 - len(known))]
    unknown_refused = [_timed(tries, "nobody", "wrong")[1] for _ in range(ACCOUNT_LIMIT + 1)]
    assert known_refused[-1] == unknown_refused[-1] == 429  # throttled alike: the name's existence plays no part
    assert known_refused[:-1] + unknown_refused[:-1] == [400] * (2 * ACCOUNT_LIMIT - len(known))


def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(client):
    attacker = browser(client, "203.0.113.7")
    token = csrf(attacker)
    start = threading.Barrier(30)

    def attempt(n: int) -> int:
        start.wait()
        return attacker.post("/login", data={"name": "rep", "password": f"wrong{n}", "csrf_token": token},
                             follow_redirects=False).status_code

    with attacker, ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(attempt, range(30)))
    assert statuses.count(400) <= ACCOUNT_LIMIT  # the passwords checked (and found wrong)
    assert statuses.count(400) + statuses.count(429) == 30
    assert sign_in(browser(client, "198.51.100.1"), "rep", "rep-pass").status_code == 303


def test_a_name_no_one_can_have_answers_like_any_wrong_name(client):
    tries = browser(client, "198.51.100.1")
    for name in ("rep\x00", "x" * 5000, "  "):
        response = sign_in(tries, name, "rep-pass")
        assert response.status_code == 400 and "用户名或密码错误" in response.text
