"""Users, credentials and login tokens (no HTTP here).

See :mod:`limnos.auth.service` for the storage layout and caching semantics.
"""

from limnos.auth.model import AlreadyExistsError, AuthError, Credentials, NotFoundError, User
from limnos.auth.service import AuthService

__all__ = [
    "AlreadyExistsError",
    "AuthError",
    "AuthService",
    "Credentials",
    "NotFoundError",
    "User",
]
