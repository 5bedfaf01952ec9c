"""The auth service: users, access keys and login tokens over the metadata store.

Layout of the ``auth`` partition (``\\x00`` separates a user name from an access key
id in the index, so no user name is a prefix of another's index range)::

    user/<username>                         -> User (msgpack)
    cred/<access_key_id>                    -> CredentialRecord (secret AES-GCM encrypted)
    user_creds/<username>\\x00<access_key_id> -> b""  (per-user index)
    setup                                   -> SetupRecord

Uniqueness of user names and access key ids is enforced with compare-and-set
(``set_if(..., MUST_NOT_EXIST)``), so several processes may share one store.

A credential is *live* only when its ``cred/`` record, its index entry and its
user all exist. It is created record-first and index-last, and deleted index-first,
so a crash midway leaves an inert record, never a working key that cannot be listed
or deleted.

Caching: :meth:`AuthService.signing_secret` (under :meth:`AuthService.authenticate`
and :meth:`AuthService.lookup_secret`) caches every credential lookup in-process for
``cache_ttl`` seconds, that of an unknown key as well as that of a known one, and
:meth:`AuthService.verify_token` caches users. Changes made by *this* process take
effect at once; a credential or user deleted by *another* process keeps working here
for up to ``cache_ttl`` seconds, and a key created by another process after this one
was asked for it is refused here for as long. ``cache_ttl=0`` disables the cache.

An unknown access key and a wrong secret are told apart by nobody outside: both get
the same answer, after the same work (the same reads of the store, one decryption, one
constant-time comparison, the same caching), so neither the answer nor its time tells a
stranger which access key ids exist.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time

from limnos.auth.cache import TTLCache
from limnos.auth.crypto import (
    DecryptionError,
    SecretBox,
    credential_aad,
    derive_encryption_key,
    derive_signing_key,
    generate_access_key_id,
    generate_secret_access_key,
)
from limnos.auth.model import (
    SETUP_DONE,
    SETUP_PENDING,
    AlreadyExistsError,
    AuthError,
    CredentialRecord,
    Credentials,
    NotFoundError,
    SetupRecord,
    User,
    decode_credential,
    decode_setup,
    decode_user,
    encode,
)
from limnos.auth.tokens import TokenError, TokenSigner
from limnos.kv.retry import retry
from limnos.kv.store import MUST_NOT_EXIST, KVStore

PARTITION = "auth"
SETUP_STALE_SECONDS = 60
"""A ``pending`` setup older than this is presumed crashed and may be taken over."""
# What a failed sign-in is told, whatever failed.
AUTHENTICATION_FAILED = "error authenticating request"

_SETUP_KEY = b"setup"
_USER_PREFIX = b"user/"
_CRED_PREFIX = b"cred/"
_INDEX_PREFIX = b"user_creds/"
_GENERATE_ATTEMPTS = 5
_SETUP_ATTEMPTS = 3
_SETUP_IN_PROGRESS = "setup is in progress in another process"
_MAX_USERNAME = 256
_MAX_SECRET = 1024
_ACCESS_KEY_RE = re.compile(r"[A-Za-z0-9_.@+-]{1,128}")
# Looked up in place of a malformed access key id: no stored key can have this id.
_NO_KEY_ID = "\x00"


def _now() -> int:
    return int(time.time())


def _user_key(username: str) -> bytes:
    return _USER_PREFIX + username.encode()


def _cred_key(access_key_id: str) -> bytes:
    return _CRED_PREFIX + access_key_id.encode()


def _index_prefix(username: str) -> bytes:
    return _INDEX_PREFIX + username.encode() + b"\x00"


def _index_key(username: str, access_key_id: str) -> bytes:
    return _index_prefix(username) + access_key_id.encode()


def _validate_username(username: str) -> None:
    if not username or len(username) > _MAX_USERNAME:
        raise ValueError("username must be 1 to 256 characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in username):
        raise ValueError("username must not contain control characters")
    try:
        username.encode()
    except UnicodeEncodeError as err:
        raise ValueError("username is not valid unicode") from err


def _validate_access_key_id(access_key_id: str) -> None:
    if not _ACCESS_KEY_RE.fullmatch(access_key_id):
        raise ValueError("access key id must be 1 to 128 of A-Z a-z 0-9 _ . @ + -")


def _validate_secret(secret_access_key: str) -> None:
    if not secret_access_key or len(secret_access_key) > _MAX_SECRET:
        raise ValueError("secret access key must be 1 to 1024 characters")
    try:
        secret_access_key.encode()
    except UnicodeEncodeError as err:
        raise ValueError("secret access key is not valid unicode") from err


def _as_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class AuthService:
    """Users, credentials and tokens of one installation. Thread-safe.

    ``encrypt_secret_key`` is the installation secret (lakeFS's
    ``auth.encrypt.secret_key``): secrets at rest are encrypted and JWTs signed with
    two distinct keys derived from it, so it must be the same in every process.
    Invalid arguments (malformed user names, access key ids) raise ``ValueError``.
    """

    def __init__(self, kv: KVStore, encrypt_secret_key: str, *, cache_ttl: float = 5.0) -> None:
        self._kv = kv
        self._box = SecretBox(derive_encryption_key(encrypt_secret_key))
        self._signer = TokenSigner(derive_signing_key(encrypt_secret_key))
        self._cred_cache: TTLCache[str, tuple[User | None, str]] = TTLCache(cache_ttl)
        # What an unknown key is checked against: a secret nobody knows, sealed like a
        # stored one so that its lookup decrypts as much as a known key's.
        self._stranger_secret = generate_secret_access_key()
        self._stranger = self._seal(_NO_KEY_ID, "", self._stranger_secret, 0)
        self._user_cache: TTLCache[str, User] = TTLCache(cache_ttl)
        self._setup_done = False

    # ------------------------------------------------------------------ setup

    def is_setup_done(self) -> bool:
        """Whether the first-time setup has completed (in any process)."""
        if self._setup_done:
            return True
        raw = self._kv.get(PARTITION, _SETUP_KEY)
        if raw is not None and decode_setup(raw).state == SETUP_DONE:
            self._setup_done = True
        return self._setup_done

    def setup(
        self,
        username: str,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> Credentials:
        """Create the admin user and its first credentials, then mark the installation set up.

        The ``setup`` marker is claimed with compare-and-set before anything is created,
        so of concurrent calls (in any process) exactly one proceeds; the others raise
        :class:`AlreadyExistsError`. The marker reads ``done`` only after the user and
        credentials exist; on failure the attempt is rolled back. An attempt whose
        process died is taken over after :data:`SETUP_STALE_SECONDS` (adopting the admin
        user it may have left).
        """
        _validate_username(username)
        if access_key_id is not None:
            _validate_access_key_id(access_key_id)
        if secret_access_key is not None:
            _validate_secret(secret_access_key)
        if self.is_setup_done():
            raise AlreadyExistsError("installation is already set up")

        marker = SetupRecord(
            state=SETUP_PENDING, owner=secrets.token_hex(16), started=_now(), username=username
        )
        marker_raw = encode(marker)
        took_over = self._claim_setup(marker_raw)
        created_user = False
        try:
            try:
                self._insert_user(User(username=username, creation_date=_now()))
                created_user = True
            except AlreadyExistsError:
                if not took_over:
                    raise
            creds = self.create_credentials(username, access_key_id, secret_access_key)
        except BaseException:
            if created_user:
                self._kv.delete(PARTITION, _user_key(username))
                self._user_cache.discard(username)
            self._kv.delete_if(PARTITION, _SETUP_KEY, marker_raw)
            raise

        done = SetupRecord(state=SETUP_DONE, owner=marker.owner, started=marker.started, username=username)
        if not self._kv.set_if(PARTITION, _SETUP_KEY, encode(done), marker_raw):
            # We stalled so long that another process took the setup over. Our keys were
            # never handed out: withdraw them (the user may have been adopted; keep it).
            self._remove_credential(username, creds.access_key_id)
            raise AlreadyExistsError("setup was taken over by another process")
        self._setup_done = True
        return creds

    def _claim_setup(self, marker_raw: bytes) -> bool:
        """Claim the setup marker; return whether a stale attempt was taken over.

        A marker that keeps changing under us is another process's setup at work: as
        with a marker fresh from one, the caller is told so with AlreadyExistsError.
        """

        def attempt() -> bool | None:
            if self._kv.set_if(PARTITION, _SETUP_KEY, marker_raw, MUST_NOT_EXIST):
                return False
            current = self._kv.get(PARTITION, _SETUP_KEY)
            if current is None:
                return None  # a failed attempt just released it
            record = decode_setup(current)
            if record.state == SETUP_DONE:
                self._setup_done = True
                raise AlreadyExistsError("installation is already set up")
            if _now() - record.started < SETUP_STALE_SECONDS:
                raise AlreadyExistsError(_SETUP_IN_PROGRESS)
            if self._kv.set_if(PARTITION, _SETUP_KEY, marker_raw, current):
                return True
            return None  # another process took the stale attempt over first

        return retry(attempt, busy=_SETUP_IN_PROGRESS, error=AlreadyExistsError, attempts=_SETUP_ATTEMPTS)

    # ------------------------------------------------------------------ users

    def _insert_user(self, user: User) -> None:
        if not self._kv.set_if(PARTITION, _user_key(user.username), encode(user), MUST_NOT_EXIST):
            raise AlreadyExistsError(f"user {user.username!r} already exists")

    def create_user(self, username: str, email: str | None = None) -> User:
        """Create a user; raise :class:`AlreadyExistsError` if the name is taken."""
        _validate_username(username)
        user = User(username=username, creation_date=_now(), email=email)
        self._insert_user(user)
        return user

    def get_user(self, username: str) -> User:
        """Return a user (uncached); raise :class:`NotFoundError`."""
        raw = self._kv.get(PARTITION, _user_key(username))
        if raw is None:
            raise NotFoundError(f"user {username!r} not found")
        return decode_user(raw)

    def list_users(self, after: str = "", amount: int = 100, prefix: str = "") -> tuple[list[User], bool]:
        """One page of users in name order: names ``> after`` starting with ``prefix``.

        Returns ``(users, has_more)``.
        """
        if amount < 1:
            raise ValueError("amount must be positive")
        start = _USER_PREFIX + after.encode() + b"\x00" if after else b""
        items = list(
            self._kv.scan(PARTITION, start=start, prefix=_USER_PREFIX + prefix.encode(), limit=amount + 1)
        )
        users = [decode_user(item.value) for item in items[:amount]]
        return users, len(items) > amount

    def delete_user(self, username: str) -> None:
        """Delete a user and all its credentials; raise :class:`NotFoundError`."""
        key = _user_key(username)
        raw = self._kv.get(PARTITION, key)
        if raw is None or not self._kv.delete_if(PARTITION, key, raw):
            raise NotFoundError(f"user {username!r} not found")
        self._user_cache.discard(username)
        prefix = _index_prefix(username)
        for item in list(self._kv.scan(PARTITION, prefix=prefix)):
            self._remove_credential(username, item.key[len(prefix) :].decode())
        self._kv.delete_prefix(PARTITION, prefix)

    def _cached_user(self, username: str) -> User | None:
        user = self._user_cache.get(username)
        if user is None:
            raw = self._kv.get(PARTITION, _user_key(username))
            if raw is None:
                return None
            user = decode_user(raw)
            self._user_cache.put(username, user)
        return user

    # ------------------------------------------------------------ credentials

    def create_credentials(
        self,
        username: str,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> Credentials:
        """Create an access key pair for an existing user.

        Missing values are generated (``AKIAJ`` + 15 characters; 40-character secret).
        Raises :class:`NotFoundError` for an unknown user and :class:`AlreadyExistsError`
        when a given ``access_key_id`` is taken.
        """
        if access_key_id is not None:
            _validate_access_key_id(access_key_id)
        if secret_access_key is not None:
            _validate_secret(secret_access_key)
        self.get_user(username)
        secret = secret_access_key or generate_secret_access_key()
        created = _now()
        attempts = 1 if access_key_id is not None else _GENERATE_ATTEMPTS
        for _ in range(attempts):
            akid = access_key_id or generate_access_key_id()
            record = self._seal(akid, username, secret, created)
            if self._kv.set_if(PARTITION, _cred_key(akid), encode(record), MUST_NOT_EXIST):
                break
        else:
            raise AlreadyExistsError(f"access key id {access_key_id or akid!r} already exists")
        self._kv.set(PARTITION, _index_key(username, akid), b"")
        self._cred_cache.discard(akid)  # it may have been looked up (and cached) as unknown
        if self._kv.get(PARTITION, _user_key(username)) is None:
            # The user was deleted concurrently, possibly after it swept its index.
            self._remove_credential(username, akid)
            raise NotFoundError(f"user {username!r} not found")
        return Credentials(
            access_key_id=akid, secret_access_key=secret, creation_date=created, username=username
        )

    def _seal(self, akid: str, username: str, secret: str, created: int) -> CredentialRecord:
        nonce, ciphertext = self._box.encrypt(secret, credential_aad(akid, username))
        return CredentialRecord(
            access_key_id=akid,
            username=username,
            creation_date=created,
            nonce=nonce,
            encrypted_secret=ciphertext,
        )

    def list_credentials(self, username: str) -> list[Credentials]:
        """A user's credentials by access key id, with secrets blanked (``""``)."""
        self.get_user(username)
        prefix = _index_prefix(username)
        keys = [_CRED_PREFIX + item.key[len(prefix) :] for item in self._kv.scan(PARTITION, prefix=prefix)]
        found = self._kv.get_many(PARTITION, keys)
        out: list[Credentials] = []
        for key in keys:
            raw = found.get(key)
            if raw is None:
                continue
            record = decode_credential(raw)
            if record.username != username:
                continue
            out.append(
                Credentials(
                    access_key_id=record.access_key_id,
                    secret_access_key="",
                    creation_date=record.creation_date,
                    username=username,
                )
            )
        return out

    def delete_credentials(self, username: str, access_key_id: str) -> None:
        """Delete one of a user's credentials; raise :class:`NotFoundError`."""
        raw = self._kv.get(PARTITION, _cred_key(access_key_id))
        if raw is None or decode_credential(raw).username != username:
            raise NotFoundError(f"credentials {access_key_id!r} of {username!r} not found")
        self._remove_credential(username, access_key_id)

    def _remove_credential(self, username: str, access_key_id: str) -> None:
        """Index first (the key stops being live), then the record, then our cache."""
        self._kv.delete(PARTITION, _index_key(username, access_key_id))
        key = _cred_key(access_key_id)
        raw = self._kv.get(PARTITION, key)
        if raw is not None and decode_credential(raw).username == username:
            self._kv.delete_if(PARTITION, key, raw)
        self._cred_cache.discard(access_key_id)

    # --------------------------------------------------------- authentication

    def signing_secret(self, access_key_id: str) -> tuple[User | None, str]:
        """The owner and the plaintext secret of an access key, to check a secret or a
        signature with; for a key that is not live (unknown, deleted, undecryptable),
        None and a secret no client knows.

        Both are reached by the same work (see the module docstring): the caller checks
        the secret it was given against the one returned whether or not a user came
        back, and refuses alike. Cached for ``cache_ttl`` seconds, live or not.
        """
        cached = self._cred_cache.get(access_key_id)
        if cached is not None:
            return cached
        result = self._load_credential(access_key_id)
        self._cred_cache.put(access_key_id, result)
        return result

    def _load_credential(self, access_key_id: str) -> tuple[User | None, str]:
        """Read and decrypt a credential; an unknown one costs the same reads and one
        decryption of the stranger's record."""
        well_formed = _ACCESS_KEY_RE.fullmatch(access_key_id) is not None
        raw = self._kv.get(PARTITION, _cred_key(access_key_id if well_formed else _NO_KEY_ID))
        record = self._stranger if raw is None else decode_credential(raw)
        user_key = _user_key(record.username)
        found = self._kv.get_many(PARTITION, [user_key, _index_key(record.username, record.access_key_id)])
        try:
            secret = self._box.decrypt(
                record.nonce,
                record.encrypted_secret,
                credential_aad(record.access_key_id, record.username),
            )
        except DecryptionError:
            return None, self._stranger_secret
        if raw is None or len(found) != 2 or record.access_key_id != access_key_id:
            return None, self._stranger_secret
        return decode_user(found[user_key]), secret

    def lookup_secret(self, access_key_id: str) -> tuple[User, str]:
        """Return the owner and the plaintext secret of a live access key; raise
        :class:`AuthError` for unknown, deleted or undecryptable keys.

        A caller that checks a secret or a signature uses :meth:`signing_secret`, which
        costs the same for a key that is not live.
        """
        user, secret = self.signing_secret(access_key_id)
        if user is None:
            raise AuthError("invalid access key id")
        return user, secret

    def authenticate(self, access_key_id: str, secret_access_key: str) -> User:
        """Check an access key pair (constant-time) and return its user; raise
        :class:`AuthError`."""
        user, expected = self.signing_secret(access_key_id)
        matches = hmac.compare_digest(_as_bytes(expected), _as_bytes(secret_access_key))
        if user is None or not matches:
            # One answer for an unknown key and a wrong secret (lakeFS's words): telling
            # them apart would tell a stranger which access keys exist.
            raise AuthError(AUTHENTICATION_FAILED)
        return user

    def issue_token(self, username: str, ttl_seconds: int = 7 * 24 * 3600) -> tuple[str, int]:
        """Return ``(jwt, expires_at)`` for an existing user; raise :class:`NotFoundError`."""
        self.get_user(username)
        return self._signer.issue(username, ttl_seconds)

    def verify_token(self, token: str) -> User:
        """Return the user of a valid token; raise :class:`AuthError` for a bad signature,
        an expired token, an unknown user, or a token issued before the user was
        (re)created."""
        try:
            claims = self._signer.verify(token)
        except TokenError as err:
            raise AuthError(str(err)) from err
        user = self._cached_user(claims.subject)
        if user is None:
            raise AuthError("token subject does not exist")
        if claims.issued_at < user.creation_date:
            raise AuthError("token predates its user")
        return user
