"""The HAProxy driver: renders, checks, reloads and flips a master-worker HAProxy."""

from proxy.haproxy.driver import HAProxyDriver

__all__ = ["HAProxyDriver"]
