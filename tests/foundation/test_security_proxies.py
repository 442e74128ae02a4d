"""The login limiter's per-address count behind reverse proxies: ``JIXIAO_TRUSTED_PROXIES`` says how
many proxies' ``X-Forwarded-For`` entries are believed; with none, the header changes nothing."""

from tests.conftest import PASSWORD, make_app

PROXY = "10.0.0.9"
LIMIT = 4


def api_login(client, username, password, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/api/v1/security/login", headers=headers, environ_base={"REMOTE_ADDR": PROXY},
                       json={"username": username, "password": password, "provider": "db"})


def spray(client, forwarded_for, prefix):
    """LIMIT failures, each for another unknown name: only the per-address count can lock."""
    for i in range(LIMIT):
        assert api_login(client, f"{prefix}{i}", "x", forwarded_for).status_code == 401


def test_clients_behind_one_trusted_proxy_are_limited_separately(database_url):
    app = make_app(database_url, JIXIAO_TRUSTED_PROXIES=1, LOGIN_MAX_FAILURES_PER_IP=LIMIT)
    c = app.test_client()
    spray(c, "203.0.113.7", "ghost-a")
    assert api_login(c, "emp5", PASSWORD, "203.0.113.7").status_code == 429
    # another client behind the same proxy is not locked by the first one's failures
    assert api_login(c, "emp5", PASSWORD, "198.51.100.4").status_code == 200
    # what a client writes before the proxy's entry is not believed: it is still the locked address
    assert api_login(c, "emp5", PASSWORD, "198.51.100.4, 203.0.113.7").status_code == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(database_url):
    app = make_app(database_url, LOGIN_MAX_FAILURES_PER_IP=LIMIT)
    assert app.config["JIXIAO_TRUSTED_PROXIES"] == 0
    c = app.test_client()
    for i in range(LIMIT):  # a new forged address on every attempt
        assert api_login(c, f"ghost-b{i}", "x", f"198.51.100.{i + 1}").status_code == 401
    assert api_login(c, "emp5", PASSWORD, "192.0.2.200").status_code == 429
    assert api_login(c, "emp5", PASSWORD).status_code == 429


def test_the_setting_comes_from_the_environment(monkeypatch):
    import config

    monkeypatch.delenv("JIXIAO_TRUSTED_PROXIES", raising=False)
    assert config.load()["JIXIAO_TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("JIXIAO_TRUSTED_PROXIES", "2")
    assert config.load()["JIXIAO_TRUSTED_PROXIES"] == 2
