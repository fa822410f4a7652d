"""The controller's HTTP API."""

from controller.api.app import create_app

__all__ = ["create_app"]
