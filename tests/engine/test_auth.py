"""Tests of limnos.auth against a real SQLite metadata store."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import msgspec
import pytest

from limnos.auth import (
    AlreadyExistsError,
    AuthError,
    AuthService,
    Credentials,
    NotFoundError,
    User,
    crypto,
    service,
    tokens,
)
from limnos.auth.model import SETUP_PENDING, SetupRecord, encode
from limnos.kv.sqlite import SQLiteStore

SECRET = "some-installation-secret"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "meta.db"


@pytest.fixture
def kv(db_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(db_path)
    yield store
    store.close()


@pytest.fixture
def auth(kv: SQLiteStore) -> AuthService:
    return AuthService(kv, SECRET)


def _run_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in ``n`` threads released together; return results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as err:  # collected for assertions
            results[i] = err

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------------- setup


def test_setup_once(auth: AuthService, db_path: Path) -> None:
    assert not auth.is_setup_done()
    creds = auth.setup("admin")
    assert isinstance(creds, Credentials)
    assert creds.username == "admin"
    assert auth.is_setup_done()
    assert auth.get_user("admin").username == "admin"
    assert auth.authenticate(creds.access_key_id, creds.secret_access_key).username == "admin"
    with pytest.raises(AlreadyExistsError):
        auth.setup("admin")
    with pytest.raises(AlreadyExistsError):
        auth.setup("other")

    other_process = AuthService(SQLiteStore(db_path), SECRET)
    assert other_process.is_setup_done()
    with pytest.raises(AlreadyExistsError):
        other_process.setup("someone")
    assert [u.username for u in auth.list_users()[0]] == ["admin"]


def test_setup_with_given_keys(auth: AuthService) -> None:
    creds = auth.setup("admin", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert creds.access_key_id == "AKIAIOSFODNN7EXAMPLE"
    user = auth.authenticate("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert user.username == "admin"


def test_concurrent_setup_exactly_one_wins(db_path: Path) -> None:
    services = [AuthService(SQLiteStore(db_path), SECRET) for _ in range(8)]
    results = _run_threads(8, lambda i: services[i].setup(f"admin{i}"))
    winners = [r for r in results if isinstance(r, Credentials)]
    losers = [r for r in results if isinstance(r, AlreadyExistsError)]
    assert len(winners) == 1 and len(losers) == 7, results
    for svc in services:
        assert svc.is_setup_done()
    users, _ = services[0].list_users()
    assert [u.username for u in users] == [winners[0].username]


def test_failed_setup_rolls_back(auth: AuthService, kv: SQLiteStore) -> None:
    auth.create_user("early")
    taken = auth.create_credentials("early", "AKIATAKEN")
    with pytest.raises(AlreadyExistsError):
        auth.setup("admin", access_key_id=taken.access_key_id)
    assert not auth.is_setup_done()
    assert kv.get(service.PARTITION, b"setup") is None
    with pytest.raises(NotFoundError):
        auth.get_user("admin")
    creds = auth.setup("admin")
    assert auth.is_setup_done()
    assert auth.authenticate(creds.access_key_id, creds.secret_access_key).username == "admin"


def test_pending_setup_blocks_and_stale_one_is_taken_over(auth: AuthService, kv: SQLiteStore) -> None:
    fresh = SetupRecord(state=SETUP_PENDING, owner="x", started=int(time.time()), username="a")
    kv.set(service.PARTITION, b"setup", encode(fresh))
    with pytest.raises(AlreadyExistsError):
        auth.setup("admin")
    assert not auth.is_setup_done()

    # A crashed attempt left a stale marker and its admin user behind.
    stale = SetupRecord(
        state=SETUP_PENDING,
        owner="x",
        started=int(time.time()) - service.SETUP_STALE_SECONDS - 5,
        username="admin",
    )
    kv.set(service.PARTITION, b"setup", encode(stale))
    auth.create_user("admin")
    creds = auth.setup("admin")
    assert auth.is_setup_done()
    assert auth.authenticate(creds.access_key_id, creds.secret_access_key).username == "admin"


# ---------------------------------------------------------------- credentials


def test_generated_keys_look_like_lakefs(auth: AuthService) -> None:
    auth.create_user("u")
    creds = auth.create_credentials("u")
    assert re.fullmatch(r"AKIAJ[A-Z0-9]{15}", creds.access_key_id)
    assert len(creds.secret_access_key) == 40
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", creds.secret_access_key)
    assert creds.creation_date <= int(time.time())
    other = auth.create_credentials("u")
    assert other.access_key_id != creds.access_key_id
    assert other.secret_access_key != creds.secret_access_key


def test_authenticate_right_and_wrong_secret(auth: AuthService) -> None:
    auth.create_user("alice", email="alice@example.com")
    creds = auth.create_credentials("alice")
    user = auth.authenticate(creds.access_key_id, creds.secret_access_key)
    assert user == User(username="alice", creation_date=user.creation_date, email="alice@example.com")
    with pytest.raises(AuthError):
        auth.authenticate(creds.access_key_id, creds.secret_access_key + "x")
    with pytest.raises(AuthError):
        auth.authenticate(creds.access_key_id, "")
    with pytest.raises(AuthError):
        auth.authenticate("AKIAJNOSUCHKEY000000", creds.secret_access_key)
    with pytest.raises(AuthError):
        auth.authenticate("bad/key id", creds.secret_access_key)
    assert auth.lookup_secret(creds.access_key_id) == (user, creds.secret_access_key)


def test_secrets_not_stored_in_plaintext(auth: AuthService, kv: SQLiteStore, db_path: Path) -> None:
    admin = auth.setup("admin")
    auth.create_user("bob")
    bob = auth.create_credentials("bob", "AKIABOB", "my-very-recognisable-secret-value")
    secrets_ = [admin.secret_access_key, bob.secret_access_key]
    records = list(kv.scan(service.PARTITION))
    assert any(item.key == b"cred/AKIABOB" for item in records)
    for item in records:
        for s in secrets_:
            assert s.encode() not in item.value
            assert s.encode() not in item.key
            assert base64.b64encode(s.encode()) not in item.value
    raw = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.is_file())
    for s in secrets_:
        assert s.encode() not in raw


def test_tampered_or_foreign_ciphertext_is_rejected(db_path: Path, kv: SQLiteStore) -> None:
    auth = AuthService(kv, SECRET, cache_ttl=0)
    auth.create_user("u")
    auth.create_user("v")
    creds = auth.create_credentials("u", "AKIAU")
    auth.create_credentials("v", "AKIAV")

    wrong_key = AuthService(SQLiteStore(db_path), "another-secret", cache_ttl=0)
    with pytest.raises(AuthError):
        wrong_key.authenticate(creds.access_key_id, creds.secret_access_key)

    # Moving v's ciphertext under u's key id fails authentication (AAD binds the id).
    raw_u = kv.get(service.PARTITION, b"cred/AKIAU")
    raw_v = kv.get(service.PARTITION, b"cred/AKIAV")
    assert raw_u is not None and raw_v is not None
    rec_u = msgspec.msgpack.decode(raw_u)
    rec_v = msgspec.msgpack.decode(raw_v)
    rec_u["nonce"], rec_u["encrypted_secret"] = rec_v["nonce"], rec_v["encrypted_secret"]
    kv.set(service.PARTITION, b"cred/AKIAU", msgspec.msgpack.encode(rec_u))
    with pytest.raises(AuthError):
        auth.lookup_secret("AKIAU")

    # Flipping a ciphertext bit fails too.
    rec_v["encrypted_secret"] = bytes([rec_v["encrypted_secret"][0] ^ 1]) + rec_v["encrypted_secret"][1:]
    kv.set(service.PARTITION, b"cred/AKIAV", msgspec.msgpack.encode(rec_v))
    with pytest.raises(AuthError):
        auth.lookup_secret("AKIAV")


def test_list_and_delete_credentials(auth: AuthService) -> None:
    auth.create_user("u")
    auth.create_user("u2")  # shares a prefix: must not leak into u's listing
    a = auth.create_credentials("u", "AKIAA")
    b = auth.create_credentials("u", "AKIAB")
    auth.create_credentials("u2", "AKIAC")
    listed = auth.list_credentials("u")
    assert [c.access_key_id for c in listed] == ["AKIAA", "AKIAB"]
    assert all(c.secret_access_key == "" and c.username == "u" for c in listed)
    with pytest.raises(NotFoundError):
        auth.list_credentials("nobody")
    with pytest.raises(AlreadyExistsError):
        auth.create_credentials("u2", "AKIAA")
    with pytest.raises(NotFoundError):
        auth.create_credentials("nobody")

    with pytest.raises(NotFoundError):
        auth.delete_credentials("u2", "AKIAA")  # not u2's key
    auth.delete_credentials("u", "AKIAA")
    with pytest.raises(NotFoundError):
        auth.delete_credentials("u", "AKIAA")
    with pytest.raises(AuthError):
        auth.authenticate("AKIAA", a.secret_access_key)
    assert auth.authenticate("AKIAB", b.secret_access_key).username == "u"
    assert [c.access_key_id for c in auth.list_credentials("u")] == ["AKIAB"]


def test_invalid_arguments(auth: AuthService) -> None:
    with pytest.raises(ValueError):
        auth.create_user("")
    with pytest.raises(ValueError):
        auth.create_user("a\x00b")
    auth.create_user("u")
    with pytest.raises(ValueError):
        auth.create_credentials("u", "has/slash")
    with pytest.raises(ValueError):
        auth.create_credentials("u", "AKIAX", "")
    with pytest.raises(ValueError):
        auth.list_users(amount=0)


# ---------------------------------------------------------------------- users


def test_create_get_list_delete_users(auth: AuthService) -> None:
    for name in ["carol", "alice", "bob", "alfred", "dave"]:
        auth.create_user(name)
    with pytest.raises(AlreadyExistsError):
        auth.create_user("bob")
    with pytest.raises(NotFoundError):
        auth.get_user("zed")

    page, more = auth.list_users(amount=2)
    assert [u.username for u in page] == ["alfred", "alice"] and more
    page, more = auth.list_users(after="alice", amount=2)
    assert [u.username for u in page] == ["bob", "carol"] and more
    page, more = auth.list_users(after="carol", amount=2)
    assert [u.username for u in page] == ["dave"] and not more
    page, more = auth.list_users(prefix="al")
    assert [u.username for u in page] == ["alfred", "alice"] and not more
    page, more = auth.list_users(prefix="al", after="alfred")
    assert [u.username for u in page] == ["alice"] and not more

    creds = auth.create_credentials("bob")
    token, _ = auth.issue_token("bob")
    auth.delete_user("bob")
    with pytest.raises(NotFoundError):
        auth.get_user("bob")
    with pytest.raises(NotFoundError):
        auth.delete_user("bob")
    with pytest.raises(AuthError):
        auth.authenticate(creds.access_key_id, creds.secret_access_key)
    with pytest.raises(AuthError):
        auth.verify_token(token)
    # The name can be reused and the old key does not come back.
    auth.create_user("bob")
    assert auth.list_credentials("bob") == []
    with pytest.raises(AuthError):
        auth.authenticate(creds.access_key_id, creds.secret_access_key)


def test_two_processes_share_users(db_path: Path) -> None:
    a = AuthService(SQLiteStore(db_path), SECRET)
    b = AuthService(SQLiteStore(db_path), SECRET)
    a.create_user("from-a")
    creds = a.create_credentials("from-a")
    assert b.get_user("from-a").username == "from-a"
    assert b.authenticate(creds.access_key_id, creds.secret_access_key).username == "from-a"
    with pytest.raises(AlreadyExistsError):
        b.create_user("from-a")
    b.create_user("from-b")
    assert [u.username for u in a.list_users()[0]] == ["from-a", "from-b"]
    token, _ = b.issue_token("from-a")
    assert a.verify_token(token).username == "from-a"


def test_deleted_credential_stops_working_within_ttl(db_path: Path) -> None:
    writer = AuthService(SQLiteStore(db_path), SECRET)
    reader = AuthService(SQLiteStore(db_path), SECRET, cache_ttl=0.3)
    writer.create_user("u")
    creds = writer.create_credentials("u")
    reader.authenticate(creds.access_key_id, creds.secret_access_key)  # now cached
    writer.delete_credentials("u", creds.access_key_id)
    with pytest.raises(AuthError):
        writer.authenticate(creds.access_key_id, creds.secret_access_key)
    # The other process may still accept it from its cache, but not after the TTL.
    time.sleep(0.4)
    with pytest.raises(AuthError):
        reader.authenticate(creds.access_key_id, creds.secret_access_key)
    # A wrong secret is rejected even on a cache hit.
    creds2 = writer.create_credentials("u")
    reader.authenticate(creds2.access_key_id, creds2.secret_access_key)
    with pytest.raises(AuthError):
        reader.authenticate(creds2.access_key_id, "wrong")


def test_concurrent_create_same_user_one_wins(db_path: Path) -> None:
    services = [AuthService(SQLiteStore(db_path), SECRET) for _ in range(12)]
    results = _run_threads(12, lambda i: services[i].create_user("same", email=f"{i}@x"))
    winners = [r for r in results if isinstance(r, User)]
    assert len(winners) == 1, results
    assert all(isinstance(r, AlreadyExistsError) for r in results if r is not winners[0])
    assert services[0].get_user("same") == winners[0]


def test_concurrent_same_access_key_one_wins(db_path: Path) -> None:
    services = [AuthService(SQLiteStore(db_path), SECRET) for _ in range(12)]
    for i in range(12):
        services[0].create_user(f"user{i}")
    results = _run_threads(
        12, lambda i: services[i].create_credentials(f"user{i}", "AKIASHARED", f"secret-{i}")
    )
    winners = [r for r in results if isinstance(r, Credentials)]
    assert len(winners) == 1, results
    assert all(isinstance(r, AlreadyExistsError) for r in results if r is not winners[0])
    w = winners[0]
    assert services[5].authenticate("AKIASHARED", w.secret_access_key).username == w.username
    listed = [c for i in range(12) for c in services[0].list_credentials(f"user{i}")]
    assert [c.username for c in listed] == [w.username]


def test_shared_service_is_thread_safe(auth: AuthService) -> None:
    auth.create_user("u")
    creds = auth.create_credentials("u")

    def work(i: int) -> str:
        for _ in range(20):
            assert auth.authenticate(creds.access_key_id, creds.secret_access_key).username == "u"
        auth.create_user(f"t{i}")
        return auth.verify_token(auth.issue_token(f"t{i}")[0]).username

    assert _run_threads(8, work) == [f"t{i}" for i in range(8)]


# --------------------------------------------------------------------- tokens


def test_token_roundtrip_and_claims(auth: AuthService) -> None:
    auth.create_user("alice")
    before = int(time.time())
    token, expires_at = auth.issue_token("alice", ttl_seconds=3600)
    assert auth.verify_token(token).username == "alice"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"sub", "iat", "exp", "jti"}
    assert claims["sub"] == "alice"
    assert claims["exp"] == expires_at == claims["iat"] + 3600
    assert claims["iat"] >= before
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    token2, _ = auth.issue_token("alice")
    assert jwt.decode(token2, options={"verify_signature": False})["jti"] != claims["jti"]
    with pytest.raises(NotFoundError):
        auth.issue_token("nobody")
    with pytest.raises(ValueError):
        auth.issue_token("alice", ttl_seconds=0)


def test_token_expires(auth: AuthService, monkeypatch: pytest.MonkeyPatch) -> None:
    auth.create_user("alice")
    monkeypatch.setattr(tokens, "_now", lambda: int(time.time()) - 100)
    token, expires_at = auth.issue_token("alice", ttl_seconds=10)
    assert expires_at < time.time()
    with pytest.raises(AuthError, match="expired"):
        auth.verify_token(token)


def test_token_tampering_rejected(auth: AuthService, db_path: Path) -> None:
    auth.create_user("alice")
    auth.create_user("mallory")
    token, _ = auth.issue_token("mallory")
    header, payload, signature = token.split(".")

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "alice"
    forged_payload = _b64url(json.dumps(claims).encode())
    with pytest.raises(AuthError):
        auth.verify_token(f"{header}.{forged_payload}.{signature}")

    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(AuthError):
        auth.verify_token(f"{header}.{payload}.{flipped}")

    none_header = _b64url(b'{"alg":"none","typ":"JWT"}')
    with pytest.raises(AuthError):
        auth.verify_token(f"{none_header}.{forged_payload}.")

    with pytest.raises(AuthError):
        auth.verify_token("not-a-jwt")

    # Signed with the encryption key, or by another installation: rejected.
    enc_key = crypto.derive_encryption_key(SECRET)
    assert enc_key != crypto.derive_signing_key(SECRET)
    with pytest.raises(AuthError):
        auth.verify_token(jwt.encode(claims, enc_key, algorithm="HS256"))
    other = AuthService(SQLiteStore(db_path), "different-secret")
    with pytest.raises(AuthError):
        other.verify_token(token)

    # Missing claims are rejected even when correctly signed.
    sign_key = crypto.derive_signing_key(SECRET)
    no_jti = {"sub": "alice", "iat": int(time.time()), "exp": int(time.time()) + 60}
    with pytest.raises(AuthError):
        auth.verify_token(jwt.encode(no_jti, sign_key, algorithm="HS256"))
    assert auth.verify_token(jwt.encode({**no_jti, "jti": "x"}, sign_key, "HS256")).username == ("alice")


def test_token_of_unknown_or_recreated_user(auth: AuthService, monkeypatch: pytest.MonkeyPatch) -> None:
    auth.create_user("ghost")
    token, _ = auth.issue_token("ghost")
    auth.delete_user("ghost")
    with pytest.raises(AuthError):
        auth.verify_token(token)
    later = int(time.time()) + 5
    monkeypatch.setattr(service, "_now", lambda: later)
    auth.create_user("ghost")
    with pytest.raises(AuthError):
        auth.verify_token(token)


def test_empty_encryption_secret_refused(kv: SQLiteStore) -> None:
    with pytest.raises(ValueError):
        AuthService(kv, "")
