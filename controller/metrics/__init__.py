"""Prometheus metrics: recorded as things happen, or read from the store."""

from controller.metrics.exporter import CONTENT_TYPE, Metrics
from controller.metrics.health import ReplicaHealth
from controller.metrics.recorder import Recorder

__all__ = ["CONTENT_TYPE", "Metrics", "Recorder", "ReplicaHealth"]
