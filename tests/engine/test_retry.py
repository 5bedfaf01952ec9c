"""The bounded retry of optimistic updates."""

from __future__ import annotations

import pytest

from limnos import errors as kinds
from limnos.graveler.errors import TooManyRequestsError
from limnos.kv.retry import MAX_ATTEMPTS, retry


def test_returns_the_first_result_that_is_not_none() -> None:
    results: list[int | None] = [None, None, 0, 7]
    calls: list[int] = []

    def attempt() -> int | None:
        calls.append(1)
        return results[len(calls) - 1]

    assert retry(attempt, busy="busy") == 0  # a falsy result is a result
    assert len(calls) == 3


def test_gives_up_after_the_given_attempts_with_the_given_error() -> None:
    calls: list[int] = []

    def attempt() -> str | None:
        calls.append(1)
        return None

    with pytest.raises(TooManyRequestsError, match="^branch 'x' is busy, try again$"):
        retry(attempt, busy="branch 'x' is busy, try again", error=TooManyRequestsError, attempts=4)
    assert len(calls) == 4


def test_gives_up_with_too_many_requests_by_default() -> None:
    calls: list[int] = []

    def attempt() -> bool | None:
        calls.append(1)
        return None

    with pytest.raises(kinds.TooManyRequests, match="^busy$"):
        retry(attempt, busy="busy")
    assert len(calls) == MAX_ATTEMPTS


def test_an_error_of_the_attempt_ends_the_retries() -> None:
    calls: list[int] = []

    def attempt() -> bool | None:
        calls.append(1)
        raise kinds.Conflict("lost for good")

    with pytest.raises(kinds.Conflict, match="lost for good"):
        retry(attempt, busy="busy")
    assert len(calls) == 1
