"""Records and errors of the auth module.

:class:`User` and :class:`Credentials` are the public shapes handed to callers; the
``_…Record`` structs are the at-rest encodings in the ``auth`` partition of the
metadata store (msgpack via msgspec).
"""

from __future__ import annotations

import msgspec

from limnos import errors as kinds


class AuthError(kinds.Unauthenticated):
    """Bad credentials or a bad/expired token (the caller should answer 401)."""


class AlreadyExistsError(kinds.Conflict):
    """A user, an access key id or the installation setup already exists."""


class NotFoundError(kinds.NotFound):
    """The user or the credentials do not exist."""


class User(msgspec.Struct):
    """A user of the installation; ``username`` is also its id."""

    username: str
    creation_date: int
    """Unix seconds."""
    email: str | None = None
    friendly_name: str | None = None


class Credentials(msgspec.Struct):
    """An access key pair of a user. Listings return it with ``secret_access_key=""``."""

    access_key_id: str
    secret_access_key: str
    creation_date: int
    username: str


class CredentialRecord(msgspec.Struct):
    """At-rest form of :class:`Credentials`: the secret is AES-GCM encrypted.

    ``key_version`` names the derivation of the encryption key, to allow rotation later.
    """

    access_key_id: str
    username: str
    creation_date: int
    nonce: bytes
    encrypted_secret: bytes
    key_version: int = 1


class SetupRecord(msgspec.Struct):
    """The ``setup`` marker: ``pending`` while an attempt runs, then ``done``."""

    state: str
    owner: str
    started: int
    username: str


SETUP_PENDING = "pending"
SETUP_DONE = "done"

_ENCODER = msgspec.msgpack.Encoder()
_USER_DECODER = msgspec.msgpack.Decoder(User)
_CRED_DECODER = msgspec.msgpack.Decoder(CredentialRecord)
_SETUP_DECODER = msgspec.msgpack.Decoder(SetupRecord)


def encode(record: User | CredentialRecord | SetupRecord) -> bytes:
    """Serialize a record to msgpack."""
    return _ENCODER.encode(record)


def decode_user(raw: bytes) -> User:
    """Deserialize a :class:`User`."""
    return _USER_DECODER.decode(raw)


def decode_credential(raw: bytes) -> CredentialRecord:
    """Deserialize a :class:`CredentialRecord`."""
    return _CRED_DECODER.decode(raw)


def decode_setup(raw: bytes) -> SetupRecord:
    """Deserialize a :class:`SetupRecord`."""
    return _SETUP_DECODER.decode(raw)
