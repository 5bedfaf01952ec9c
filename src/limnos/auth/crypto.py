"""Key derivation, secret encryption at rest, and generation of lakeFS-style keys."""

from __future__ import annotations

import base64
import os
import secrets
import string

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_HKDF_SALT = b"limnos/auth/hkdf-salt/v1"
_INFO_ENCRYPTION = b"limnos/auth/secret-encryption/v1"
_INFO_SIGNING = b"limnos/auth/jwt-signing/v1"
_NONCE_SIZE = 12

ACCESS_KEY_PREFIX = "AKIAJ"
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits
_ACCESS_KEY_RANDOM_LEN = 15
_SECRET_RANDOM_BYTES = 30  # base64 -> 40 characters, like lakeFS


class DecryptionError(Exception):
    """A stored secret could not be decrypted (wrong key or tampered record)."""


def derive_key(master_secret: str, info: bytes) -> bytes:
    """Derive a 32-byte key from ``master_secret`` with HKDF-SHA256, domain-separated by
    ``info``."""
    if not master_secret:
        raise ValueError("the auth encryption secret key must not be empty")
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=_HKDF_SALT, info=info)
    return hkdf.derive(master_secret.encode("utf-8"))


def derive_encryption_key(master_secret: str) -> bytes:
    """Key that encrypts secret access keys at rest."""
    return derive_key(master_secret, _INFO_ENCRYPTION)


def derive_signing_key(master_secret: str) -> bytes:
    """Key that signs JWTs (distinct from the encryption key)."""
    return derive_key(master_secret, _INFO_SIGNING)


def credential_aad(access_key_id: str, username: str) -> bytes:
    """Associated data binding a ciphertext to its access key id and owner."""
    return b"limnos/cred/v1\x00" + access_key_id.encode() + b"\x00" + username.encode()


class SecretBox:
    """AES-256-GCM with a fresh random nonce per encryption. Thread-safe."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, aad: bytes) -> tuple[bytes, bytes]:
        """Return ``(nonce, ciphertext)`` of ``plaintext`` authenticated with ``aad``."""
        nonce = os.urandom(_NONCE_SIZE)
        return nonce, self._aead.encrypt(nonce, plaintext.encode("utf-8"), aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> str:
        """Inverse of :meth:`encrypt`; raises :class:`DecryptionError`."""
        try:
            return self._aead.decrypt(nonce, ciphertext, aad).decode("utf-8")
        except (InvalidTag, ValueError, UnicodeDecodeError) as err:
            raise DecryptionError("cannot decrypt stored secret") from err


def generate_access_key_id() -> str:
    """A lakeFS-looking access key id: ``AKIAJ`` + 15 random uppercase letters/digits."""
    tail = "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(_ACCESS_KEY_RANDOM_LEN))
    return ACCESS_KEY_PREFIX + tail


def generate_secret_access_key() -> str:
    """A 40-character base64 secret (30 random bytes), like lakeFS's."""
    return base64.b64encode(secrets.token_bytes(_SECRET_RANDOM_BYTES)).decode("ascii")
