"""The nginx driver: renders, checks and reloads a supervised nginx master."""

from proxy.nginx.driver import NginxDriver

__all__ = ["NginxDriver"]
