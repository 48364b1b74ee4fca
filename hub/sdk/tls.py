"""TLS trust for connections to vendors: the system's roots, plus the CAs of HUB_CA_BUNDLE.

Self-hosted vendors (an on-premises Kingdee, a company mail server) often use certificates from a
private CA. The bundle is added to the trusted roots rather than replacing them, so public vendors
keep working. It is set once at startup (`trust_ca_bundle`), before any connection is opened.
"""

from __future__ import annotations

import ssl
from pathlib import Path

_ca_bundle: Path | None = None


def check_ca_bundle(path: Path) -> None:
    """ValueError naming the problem unless `path` is a readable PEM file with at least one CA."""
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"HUB_CA_BUNDLE {path} cannot be used as a PEM CA bundle: {reason}") from exc


def trust_ca_bundle(path: Path | None) -> None:
    """Trust the CAs in `path` (None: only the system's) for every later outbound TLS connection."""
    global _ca_bundle
    if path is not None:
        check_ca_bundle(path)
    _ca_bundle = path


def ca_bundle() -> Path | None:
    return _ca_bundle


def client_context() -> ssl.SSLContext:
    """A certificate- and host-checking client context trusting the system's roots and the bundle."""
    context = ssl.create_default_context()
    if _ca_bundle is not None:
        context.load_verify_locations(cafile=str(_ca_bundle))
    return context
