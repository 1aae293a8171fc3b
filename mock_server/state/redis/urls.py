"""Store URLs that name Redis: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS.

Read by the settings checks, so this module imports no Redis client.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["REDIS_SCHEMES", "is_redis_url", "redis_url_problem", "shown"]

REDIS_SCHEMES = ("redis", "rediss")


def is_redis_url(store: str) -> bool:
    """Whether a `--store` value names Redis (anything else is a SQLite path or `:memory:`)."""
    return store.split("://", 1)[0].lower() in REDIS_SCHEMES if "://" in store else False


def redis_url_problem(store: str) -> str | None:
    """Why a redis:// or rediss:// URL is unusable, or None (checked before anything connects)."""
    try:
        parts = urlsplit(store)
        port = parts.port
    except ValueError as error:
        return f"is not a valid Redis URL ({error})"
    if not parts.hostname:
        return "names no host (redis://HOST:PORT/DB)"
    if port == 0:
        return "names port 0"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return f"names database {database!r}; a Redis database is a number (redis://HOST:PORT/0)"
    return None


def shown(store: str) -> str:
    """The URL without its password, for logs and problems."""
    parts = urlsplit(store)
    if parts.password is None:
        return store
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
