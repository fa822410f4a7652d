"""Fixtures shared by every test folder."""

from collections.abc import Iterator

import pytest

from tests.harness import Controller, controller_fixture


@pytest.fixture
def controller() -> Iterator[Controller]:
    """A real controller process with its own state, proxy and services."""
    yield from controller_fixture()


@pytest.fixture(scope="module")
def module_controller() -> Iterator[Controller]:
    """One controller for a whole module whose tests make their own services."""
    yield from controller_fixture()
