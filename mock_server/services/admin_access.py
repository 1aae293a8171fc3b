"""Who may use the admin API: decided once from the `admin` mode, the token and the listening host.

The admin API reads every client's jobs and journal (prompts, image URLs, webhook URLs with their
tokens) and can stall every client (`PUT /_mixmock/defaults latency=300s`). So, by default (`auto`), it
is open only while the server listens on loopback; beyond loopback it answers only with the token, or
when opened on purpose (`open`: a CI service container on a private network). A token, when set, is
required whatever the mode and the host; `off` serves no admin route at all.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from mock_server.settings import AdminMode

__all__ = ["AdminAccess", "admin_access", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, ::, a name, an interface) may be reached."""
    text = host.strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AdminAccess:
    state: Literal["off", "open", "token", "closed"]
    token: str | None = None
    why: str = ""  # the startup log line's reason; for `closed`, also what the 403 problem says
    warn: bool = False  # worth a warning at startup: closed, or open beyond loopback

    @property
    def served(self) -> bool:
        return self.state != "off"

    def describe(self) -> str:
        return f"admin API /_mixmock/: {self.why}"


def admin_access(mode: AdminMode, token: str | None, host: str) -> AdminAccess:
    if mode == "off":
        return AdminAccess("off", why="off (--admin off)")
    if token:
        return AdminAccess("token", token, "requires Authorization: Bearer <the admin token>")
    if mode == "open":
        loopback = is_loopback_host(host)
        where = "loopback only" if loopback else f"anyone who can reach {host}"
        return AdminAccess("open", why=f"open without a token, to {where} (--admin open)", warn=not loopback)
    if is_loopback_host(host):
        return AdminAccess("open", why=f"open without a token (the server listens on loopback, {host})")
    return AdminAccess(
        "closed",
        why=f"closed: the server listens on {host}, beyond loopback, and no admin token is set; "
        "set MIXMOCK_ADMIN_TOKEN (--admin-token) and send Authorization: Bearer <token>, "
        "or open it on purpose with MIXMOCK_ADMIN=open (--admin open)",
        warn=True,
    )
