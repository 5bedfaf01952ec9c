"""Setup of a new installation, login and the current user."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.auth_middleware import LOGIN_COOKIE
from limnos.api.common import ApiError, auth_service, current_user, json_response, read_json, settings
from limnos.auth import AlreadyExistsError, User


class AccessKey(msgspec.Struct):
    access_key_id: str
    secret_access_key: str


class SetupBody(msgspec.Struct, forbid_unknown_fields=False):
    username: str
    key: AccessKey | None = None
    email: str | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=False):
    access_key_id: str
    secret_access_key: str


def user_body(user: User) -> dict[str, object]:
    """The contract's User object."""
    return {
        "id": user.username,
        "creation_date": user.creation_date,
        "friendly_name": user.friendly_name or user.username,
        "email": user.email or "",
    }


async def get_setup_state(request: Request) -> Response:
    done = auth_service(request).is_setup_done()
    return json_response(
        {
            "state": "initialized" if done else "not_initialized",
            "comm_prefs_missing": False,
            "login_config": {
                "login_url": "/auth/login",
                "logout_url": "/logout",
                "login_cookie_names": [LOGIN_COOKIE],
                "RBAC": "none",
            },
        }
    )


async def setup(request: Request) -> Response:
    body = await read_json(request, SetupBody)
    if not body.username.strip():
        raise ApiError(400, "username must not be empty")
    key = body.key
    try:
        creds = auth_service(request).setup(
            body.username,
            key.access_key_id if key else None,
            key.secret_access_key if key else None,
        )
    except AlreadyExistsError:
        raise ApiError(409, "this installation is already set up") from None
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    return json_response(
        {
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key,
            "creation_date": creds.creation_date,
        }
    )


class CommPrefsBody(msgspec.Struct, forbid_unknown_fields=False):
    featureUpdates: bool  # noqa: N815 - the contract's field names
    securityUpdates: bool  # noqa: N815
    email: str | None = None
    firstName: str | None = None  # noqa: N815
    lastName: str | None = None  # noqa: N815
    companyName: str | None = None  # noqa: N815


async def setup_comm_prefs(request: Request) -> Response:
    """setupCommPrefs: validated and acknowledged; Limnos sends no mail, so nothing is kept."""
    await read_json(request, CommPrefsBody)
    return Response(status_code=200)


async def get_auth_capabilities(request: Request) -> Response:
    """getAuthCapabilities: no invitations or password resets (keys, not passwords, sign in)."""
    return json_response({"invite_user": False, "forgot_password": False})


async def login(request: Request) -> Response:
    body = await read_json(request, LoginBody)
    auth = auth_service(request)
    user = auth.authenticate(body.access_key_id, body.secret_access_key)
    lifetime = int(settings(request).auth.login_duration.total_seconds())
    token, expires = auth.issue_token(user.username, lifetime)
    response = json_response({"token": token, "token_expiration": expires})
    # The cookie lives as long as its token (max_age counts seconds from now).
    response.set_cookie(LOGIN_COOKIE, token, max_age=lifetime, httponly=True, samesite="lax", path="/")
    return response


async def get_current_user(request: Request) -> Response:
    return json_response({"user": user_body(current_user(request))})


routes = [
    Route("/setup_lakefs", get_setup_state, methods=["GET"]),
    Route("/setup_lakefs", setup, methods=["POST"]),
    Route("/setup_comm_prefs", setup_comm_prefs, methods=["POST"]),
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/capabilities", get_auth_capabilities, methods=["GET"]),
    Route("/user", get_current_user, methods=["GET"]),
]
