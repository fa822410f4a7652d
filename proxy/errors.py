"""Errors raised by proxy drivers.

ProxyError
├── InvalidRoutes       a route table the driver will not render
├── ConfigRejected      the proxy's own check refused a rendered file
├── ProxyUnavailable    the process or its control socket is gone
└── CommandFailed       the runtime API answered a command with an error
"""


class ProxyError(Exception):
    """Root of every error a proxy driver raises."""


class InvalidRoutes(ProxyError, ValueError):
    """A route table holds a value the driver cannot hand to the proxy."""


class ConfigRejected(ProxyError):
    """The rendered configuration failed the proxy's check; nothing was loaded."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


class ProxyUnavailable(ProxyError):
    """The proxy process or its control socket cannot be reached."""


class CommandFailed(ProxyError):
    """A runtime API command was answered with an error."""

    def __init__(self, command: str, answer: str) -> None:
        super().__init__(f"proxy refused {command!r}: {answer.strip()}")
        self.command = command
        self.answer = answer
