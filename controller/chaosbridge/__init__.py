"""The controller's side of chaos: its engine, routes and services as ports.

``wiring.build_chaos`` puts them together into the chaos service.
"""

from controller.chaosbridge.engine import ChaosEngine
from controller.chaosbridge.routes import ChaosRoutes
from controller.chaosbridge.services import ChaosServices

__all__ = ["ChaosEngine", "ChaosRoutes", "ChaosServices"]
