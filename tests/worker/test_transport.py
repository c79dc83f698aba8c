"""The Temporal connection's TLS: built from the settings, and used for real through a TLS front.

The dev server serves plaintext only (``temporal server start-dev`` has no TLS flags), so the
mTLS cases put ``tests.tls.tls_front`` (TLS, optionally requiring a client certificate) in
front of it; the client is the project's ``connect`` with real TLS and real gRPC.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from tests.encryption import TEST_CODEC_SETTINGS
from tests.tls import SERVER_NAME, make_pki, tls_front
from worker.runtime import TemporalConnectError, connect
from worker.settings import Settings
from worker.transport import TransportConfigError, describe, tls_config


def _settings(address: str = "127.0.0.1:7233", **kw: object) -> Settings:
    return Settings(temporal_address=address, **TEST_CODEC_SETTINGS, **kw)  # type: ignore[arg-type]


def test_plaintext_tls_with_system_roots_and_an_api_key_choose_the_transport() -> None:
    assert tls_config(_settings()) is False and describe(_settings()) == "plaintext"
    assert tls_config(_settings(temporal_tls=True)) is True
    cloud = _settings(temporal_api_key=SecretStr("cloud-key-1"))
    assert tls_config(cloud) is True and describe(cloud) == "TLS with an API key"  # never the key


def test_certificate_files_make_a_tls_config(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    tls = tls_config(
        _settings(
            temporal_tls_ca=pki.ca,
            temporal_tls_cert=pki.client_cert,
            temporal_tls_key=pki.client_key,
            temporal_tls_server_name=SERVER_NAME,
        )
    )
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == pki.ca.read_bytes() and tls.domain == SERVER_NAME
    assert tls.client_cert == pki.client_cert.read_bytes()
    assert tls.client_private_key == pki.client_key.read_bytes()
    only_ca = tls_config(_settings(temporal_tls_ca=pki.ca))
    assert isinstance(only_ca, TLSConfig) and only_ca.client_cert is None and only_ca.domain is None


def test_incomplete_or_unreadable_tls_settings_are_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with pytest.raises(TransportConfigError, match="go together"):
        tls_config(_settings(temporal_tls_cert=pki.client_cert))
    with pytest.raises(TransportConfigError, match="cannot read the Temporal TLS CA"):
        tls_config(_settings(temporal_tls_ca=tmp_path / "missing.pem"))
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(TransportConfigError, match="is not PEM"):
        tls_config(_settings(temporal_tls_ca=tmp_path / "junk.pem"))


async def test_mtls_reaches_the_real_server_through_a_tls_front(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    upstream = dev_env.client.service_client.config.target_host
    async with tls_front(upstream, pki, require_client_cert=True) as address:
        mtls = dict(temporal_tls_ca=pki.ca, temporal_tls_server_name=SERVER_NAME)
        client = await connect(
            _settings(address, temporal_tls_cert=pki.client_cert, temporal_tls_key=pki.client_key, **mtls)
        )
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version
        with pytest.raises(TemporalConnectError, match=r"at 127\.0\.0\.1:\d+ \(TLS\)"):
            await connect(_settings(address, **mtls))  # no client certificate: the handshake fails
        other = make_pki(tmp_path / "other", ca_name="someone else's CA")
        with pytest.raises(TemporalConnectError, match=r"\(mTLS\).*UnknownIssuer"):  # a server not trusted
            await connect(
                _settings(
                    address,
                    temporal_tls_ca=other.ca,
                    temporal_tls_server_name=SERVER_NAME,
                    temporal_tls_cert=pki.client_cert,
                    temporal_tls_key=pki.client_key,
                )
            )


async def test_an_api_key_goes_over_server_tls(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    upstream = dev_env.client.service_client.config.target_host
    async with tls_front(upstream, pki, require_client_cert=False) as address:
        settings = _settings(
            address,
            temporal_tls_ca=pki.ca,
            temporal_tls_server_name=SERVER_NAME,
            temporal_api_key=SecretStr("cloud-key-2"),
        )
        client = await connect(settings)
        assert (await client.workflow_service.get_system_info(GetSystemInfoRequest())).server_version
        assert client.service_client.config.api_key == "cloud-key-2"


async def test_tls_against_the_plaintext_dev_server_fails_at_once_saying_so(
    dev_env: WorkflowEnvironment,
) -> None:
    address = dev_env.client.service_client.config.target_host
    with pytest.raises(TemporalConnectError) as refused:
        await connect(_settings(address, temporal_tls=True, temporal_api_key=SecretStr("cloud-key-3")))
    message = str(refused.value)
    assert f"cannot connect to Temporal at {address} (TLS with an API key" in message
    assert "the server answered in plaintext: it does not serve TLS" in message
    assert "cloud-key-3" not in message
