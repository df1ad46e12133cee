"""Connecting to a Ray cluster (the optional ``mcrage[ray]`` extra), with plain errors.

Ray is imported only here and only when a cluster is asked for, so the default install
never needs it. The address comes from the caller (``--ray-address``) or from the
environment variable :data:`ADDRESS_ENV`; ``"local"`` starts a private Ray instance on
this machine (Ray's own meaning of the word).

>>> resolve_address(None)  # doctest: +SKIP
'10.0.0.5:6379'   # from MCRAGE_RAY_ADDRESS
>>> ray = connect("10.0.0.5:6379")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import socket
from types import ModuleType
from typing import Any

from mcrage_core.errors import ConfigError

__all__ = [
    "ADDRESS_ENV",
    "WORKERS_ENV",
    "INSTALL_HINT",
    "cluster_cpus",
    "connect",
    "describe",
    "resolve_address",
    "resolve_workers",
    "unwrap",
]

ADDRESS_ENV = "MCRAGE_RAY_ADDRESS"
WORKERS_ENV = "MCRAGE_RAY_WORKERS"
"""Training workers of the dashboard's runs on the cluster (default 2)."""
INSTALL_HINT = 'install the optional Ray extra with: pip install "mcrage[ray]"'
_CONNECT_TIMEOUT_S = 5.0
_connected: str | None = None  # the address this process is connected to


def resolve_address(address: str | None) -> str | None:
    """The cluster to use: ``address`` when given, else :data:`ADDRESS_ENV`; ``None`` (or an
    empty string) means no cluster: the work runs in this process."""
    if address is None:
        address = os.environ.get(ADDRESS_ENV)
    address = (address or "").strip()
    return address or None


def describe() -> str:
    """Where this process's audits and training runs compute, in one sentence (for the
    dashboard's compute panel)."""
    address = resolve_address(None)
    if address is None:
        return (
            f"this server (set {ADDRESS_ENV}=HOST:PORT before starting the dashboard to run "
            "them on a Ray cluster)"
        )
    workers = os.environ.get(WORKERS_ENV, "2")
    return (
        f"the Ray cluster at {address} (from {ADDRESS_ENV}): one task per evaluation fold, "
        f"and training data-parallel on {workers} workers"
    )


def resolve_workers() -> int:
    """The training workers :data:`WORKERS_ENV` asks for (default 2)."""
    text = os.environ.get(WORKERS_ENV, "2").strip()
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(
            f"{WORKERS_ENV} must be a whole number of workers (1 or more), got {text!r}"
        )
    return int(text)


def _check_reachable(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at ``host:port`` (Ray itself
    retries an unreachable head for several minutes)."""
    if address == "local" or address.startswith("ray://") or address == "auto":
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(
            f"the Ray cluster address {address!r} is not HOST:PORT; give the head node's "
            "address as printed by `ray start --head` (for example 10.0.0.5:6379), or "
            "'local' for a Ray instance on this machine"
        )
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), _CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head --port PORT` on the head node, or check the address and the "
            "firewall"
        ) from None


def connect(address: str) -> ModuleType:
    """The ``ray`` module, connected to the cluster at ``address`` (reused when this
    process is already connected)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"running on a Ray cluster needs Ray; {INSTALL_HINT}") from None
    global _connected
    if ray.is_initialized():
        if _connected == address:
            return ray
        ray.shutdown()  # connected elsewhere (by us or by the caller): follow the request
    _connected = None
    _check_reachable(address)
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"could not connect to the Ray cluster at {address}: {exc}") from None
    _connected = address
    return ray


def cluster_cpus(ray: ModuleType) -> int:
    """The CPUs the connected cluster offers (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def unwrap(exc: BaseException) -> BaseException:
    """The error a Ray task raised, without Ray's wrapper: MCRAGE's own errors (plain
    messages for the user) come back as themselves."""
    cause: Any = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
