"""How a process reaches Temporal: plaintext on a trusted network, TLS, mTLS, or Temporal Cloud."""

from __future__ import annotations

from pathlib import Path

from temporalio.service import TLSConfig

from worker.settings import Settings


class TransportConfigError(RuntimeError):
    """The TLS settings are incomplete or name files that cannot be read."""


def _pem(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TransportConfigError(f"cannot read the Temporal TLS {what} {path}: {e.strerror}") from None
    if b"-----BEGIN " not in data:
        raise TransportConfigError(f"the Temporal TLS {what} {path} is not PEM")
    return data


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The TLS of the Temporal connection: False (plaintext), True (system roots) or a TLSConfig.

    Any certificate, key, CA or server name turns TLS on, and so does an API key (Temporal Cloud
    takes API keys over TLS only). A client certificate needs its key and the other way round.
    """
    s = settings
    if (s.temporal_tls_cert is None) != (s.temporal_tls_key is None):
        raise TransportConfigError("ASTS_TEMPORAL_TLS_CERT and ASTS_TEMPORAL_TLS_KEY go together (mTLS)")
    files = (s.temporal_tls_cert, s.temporal_tls_key, s.temporal_tls_ca)
    if not any(files) and not s.temporal_tls_server_name:
        return bool(s.temporal_tls or s.temporal_api_key)
    return TLSConfig(
        server_root_ca_cert=_pem(s.temporal_tls_ca, "CA") if s.temporal_tls_ca else None,
        domain=s.temporal_tls_server_name,
        client_cert=_pem(s.temporal_tls_cert, "certificate") if s.temporal_tls_cert else None,
        client_private_key=_pem(s.temporal_tls_key, "key") if s.temporal_tls_key else None,
    )


def describe(settings: Settings) -> str:
    """How the connection is secured, for messages (never a secret)."""
    tls = tls_config(settings)
    if tls is False:
        return "plaintext"
    kind = "mTLS" if isinstance(tls, TLSConfig) and tls.client_cert else "TLS"
    return f"{kind} with an API key" if settings.temporal_api_key else kind
