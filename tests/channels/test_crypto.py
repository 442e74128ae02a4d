"""Robot URLs and secrets at rest: sealed with a key derived from SECRET_KEY, unreadable with another."""

from __future__ import annotations

import pytest

from app.notify import crypto

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4"


def test_round_trip_and_no_clear_text():
    sealed = crypto.seal(URL, secret_key="k1")
    assert "qyapi" not in sealed and "693a91f6" not in sealed
    assert crypto.unseal(sealed, secret_key="k1") == URL
    assert crypto.seal(URL, secret_key="k1") != sealed  # a fresh IV each time


def test_another_secret_key_cannot_read_it():
    sealed = crypto.seal(URL, secret_key="k1")
    with pytest.raises(crypto.SecretUnreadable):
        crypto.unseal(sealed, secret_key="k2")


@pytest.mark.parametrize("token", ["", "not a token", "gAAAAA" + "x" * 80, "中文"])
def test_garbage_is_unreadable_not_a_crash(token):
    with pytest.raises(crypto.SecretUnreadable):
        crypto.unseal(token, secret_key="k1")


def test_the_apps_secret_key_is_the_default(appctx):
    sealed = crypto.seal("secret-1")
    assert crypto.unseal(sealed, secret_key=appctx.config["SECRET_KEY"]) == "secret-1"
    appctx.config["SECRET_KEY"] = "rotated"
    with pytest.raises(crypto.SecretUnreadable):
        crypto.unseal(sealed)
