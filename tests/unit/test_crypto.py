"""Contact-field keys (rapport.core.crypto): sealing, rotation, lookup hashes, key file."""

from __future__ import annotations

import stat

import pytest

from rapport.core import crypto
from rapport.core.crypto import generate_key


def _keys(*fernet: str, lookup: str = "l" * 32) -> crypto.ContactKeys:
    return crypto.ContactKeys(list(fernet), lookup)


def test_seal_and_open_round_trip_without_plaintext_in_the_token():
    keys = _keys(generate_key())
    token = keys.seal("ada@example.com")
    assert "ada" not in token and keys.open(token) == "ada@example.com"
    assert keys.seal("ada@example.com") != token  # random IV: equal values do not show
    many = keys.seal_many(["a@x.org", "+441234", "ünï"])
    assert [keys.open(t) for t in many] == ["a@x.org", "+441234", "ünï"]


def test_rotation_first_key_seals_all_keys_open_reseal_moves_tokens():
    old, new = generate_key(), generate_key()
    before = _keys(old).seal("ada@example.com")
    rotated = _keys(new, old)
    assert rotated.open(before) == "ada@example.com"
    assert not rotated.sealed_with_first(before)
    moved = rotated.reseal(before)
    assert rotated.sealed_with_first(moved) and _keys(new).open(moved) == "ada@example.com"
    with pytest.raises(crypto.InvalidToken):
        _keys(new).open(before)  # the old key retired: old tokens no longer open
    with pytest.raises(crypto.InvalidToken):
        rotated.open(moved[:-4] + "AAAA")  # tampered


def test_lookup_hash_is_keyed_stable_across_rotation_and_separates_kinds():
    a = _keys(generate_key())
    b = _keys(generate_key())  # same lookup key, other sealing key
    other = _keys(generate_key(), lookup="k" * 32)
    h = a.lookup_hash("email", "ada@example.com")
    assert len(h) == 32 and h == b.lookup_hash("email", "ada@example.com")
    assert h != other.lookup_hash("email", "ada@example.com")
    assert h != a.lookup_hash("phone", "ada@example.com")
    fast = a.lookup_hasher()  # the import path's hasher: the same HMAC, any key length
    assert fast("email", "ada@example.com") == h and fast("phone", "ünï") == a.lookup_hash(
        "phone", "ünï"
    )
    long_key = _keys(generate_key(), lookup="q" * 100)
    assert long_key.lookup_hasher()("email", "x") == long_key.lookup_hash("email", "x")
    with pytest.raises(ValueError, match="32 bytes"):
        _keys(generate_key(), lookup="short")


def test_key_file_is_created_once_private_and_reused(tmp_path):
    first = crypto.load_or_create(tmp_path)
    path = tmp_path / crypto.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = crypto.load_or_create(tmp_path)
    assert again.open(first.seal("x")) == "x"
    assert again.lookup_hash("email", "x") == first.lookup_hash("email", "x")


def test_configured_keys_win_over_the_file(tmp_path):
    k1, k2 = generate_key(), generate_key()
    keys = crypto.load_or_create(tmp_path, f"{k1}, {k2}", "z" * 40)
    assert not (tmp_path / crypto.KEY_FILE).exists()
    assert _keys(k1).open(keys.seal("v")) == "v"
    assert keys.lookup_hash("email", "v") == _keys(k2, lookup="z" * 40).lookup_hash("email", "v")
    # only sealing keys configured: the lookup key still comes from (a new) file
    partial = crypto.load_or_create(tmp_path, k2)
    assert (tmp_path / crypto.KEY_FILE).exists() and _keys(k2).open(partial.seal("v")) == "v"
