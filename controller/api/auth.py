"""Who asks, and whether they may: bearer tokens and the role each route needs.

A route needs a role by taking one of the dependencies ``Viewer``,
``Deployer``, ``Sre`` or ``Admin``; routes without one are open (only the
controller's health and docs are). No token or an unknown one is 401, a
role that does not imply the route's is 403, and both name the role the
route needs.

``AccessControl`` middleware applies the same rules before the route runs:
it finds the caller for the audit log, and it refuses a request before its
body is read, so a caller without a token learns nothing from a 400 or
422. Its rules are read from the guards of the API's routers; any other
path under ``/api/`` needs a token of any role. The dependency checks
again and hands the route the caller's token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from controller.errors import BgctlError, Forbidden, Unauthorized
from controller.tokens import Keyring, Role, Token

PRINCIPAL = "bgctl.principal"  # scope key of the caller's Token, or None
ANONYMOUS = "anonymous"
API_PREFIX = "/api/"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from BGCTL_TOKENS, BGCTL_TOKENS_FILE, or else the "
    "admin token the controller writes to <state dir>/admin.token.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class RoleGuard:
    """A dependency that lets a request through only with a role that allows
    ``role``; it answers with the caller's token."""

    def __init__(self, role: Role) -> None:
        self.role = role

    def __call__(self, request: Request, _: Credentials) -> Token:
        return admit(self.role, principal(request.scope), request.scope)


Viewer = Annotated[Token, Depends(RoleGuard(Role.VIEWER))]
Deployer = Annotated[Token, Depends(RoleGuard(Role.DEPLOYER))]
Sre = Annotated[Token, Depends(RoleGuard(Role.SRE))]
Admin = Annotated[Token, Depends(RoleGuard(Role.ADMIN))]


@dataclass(frozen=True)
class Rule:
    """The role requests with one of ``methods`` to paths ``path`` matches need."""

    methods: frozenset[str]
    path: re.Pattern[str]
    role: Role


def rules_of(routers: Iterable[APIRouter]) -> list[Rule]:
    """One rule per guarded route of ``routers``."""
    return [
        Rule(frozenset(route.methods or ()), route.path_regex, role)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and (role := guard_role(route)) is not None
    ]


class AccessControl:
    """ASGI middleware: find the caller, and refuse them before their route."""

    def __init__(self, app: ASGIApp, keyring: Keyring, rules: list[Rule]) -> None:
        self.app = app
        self.keyring = keyring
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            secret = bearer_secret(_header(scope, b"authorization"))
            scope[PRINCIPAL] = self.keyring.identify(secret) if secret else None
            needed = needed_role(self.rules, scope)
            try:
                if needed is not None:
                    admit(needed, principal(scope), scope)
            except BgctlError as exc:
                refusal = JSONResponse(
                    exc.to_dict(), exc.status_code, headers=exc.headers()
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def bearer_secret(header: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer SECRET`` header, if it is one."""
    scheme, _, secret = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def principal(scope: Scope) -> Token | None:
    """The token the request presented, once the middleware has looked."""
    found = scope.get(PRINCIPAL)
    return found if isinstance(found, Token) else None


def actor_of(scope: Scope) -> str:
    """The caller's name for timelines and the audit log."""
    found = principal(scope)
    return found.name if found else ANONYMOUS


def needed_role(rules: Iterable[Rule], scope: Scope) -> Role | None:
    """The role a request needs; None if it goes to an open path."""
    method, path = scope["method"], scope["path"]
    for rule in rules:
        if method in rule.methods and rule.path.match(path):
            return rule.role
    return Role.VIEWER if path.startswith(API_PREFIX) else None


def guard_role(route: BaseRoute) -> Role | None:
    """The role a route's RoleGuard asks for, if it has one."""
    if isinstance(route, APIRoute):
        for dependency in route.dependant.dependencies:
            if isinstance(dependency.call, RoleGuard):
                return dependency.call.role
    return None


def admit(needed: Role, who: Token | None, scope: Scope) -> Token:
    """The caller's token if its role allows ``needed``; else 401 or 403."""
    action = f"{scope['method']} {scope['path']}"
    if who is None:
        raise Unauthorized(
            f"{action} needs a bearer token of role {_roles_allowing(needed)}: "
            f"{_why_unknown(_header(scope, b'authorization'))}",
            required_role=needed.value,
        )
    if not who.role.allows(needed):
        raise Forbidden(
            f'token "{who.name}" has role {who.role.value}; {action} '
            f"needs role {_roles_allowing(needed)}",
            actor=who.name,
            role=who.role.value,
            required_role=needed.value,
        )
    return who


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _roles_allowing(role: Role) -> str:
    names = [r.value for r in Role if r.allows(role)]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _why_unknown(header: str | None) -> str:
    if header is None:
        return 'send "Authorization: Bearer TOKEN"'
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return f"the Authorization header must use the Bearer scheme, got {scheme!r}"
    if not secret.strip():
        return "the Authorization header carries no token after Bearer"
    return "the bearer token is not one the controller issued"
