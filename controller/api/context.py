"""What every route needs, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from chaos.service import ChaosService
from controller.metrics import Metrics
from controller.releases import ReleaseManager
from controller.routing import Router
from controller.runtime.base import ContainerRuntime
from controller.settings import Settings
from controller.steps import Steps
from controller.store import Store


@dataclass
class Context:
    """The controller's parts, shared by the routes."""

    settings: Settings
    store: Store
    runtime: ContainerRuntime
    router: Router
    steps: Steps
    releases: ReleaseManager
    chaos: ChaosService
    metrics: Metrics
    is_ready: bool = False


def context(request: Request) -> Context:
    """The context of the running app."""
    found: Context = request.app.state.context
    return found
