"""Fixtures shared by every test folder."""

from collections.abc import Iterator

import pytest

from tests.harness import Controller, controller_fixture


@pytest.fixture
def controller() -> Iterator[Controller]:
    """A real controller process with its own state, proxy and services."""
    yield from controller_fixture()
