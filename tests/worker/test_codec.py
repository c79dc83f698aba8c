"""The payload codec: AES-256-GCM round trips, key rotation, refusals, and where keys come from."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from activities.contracts import HaltRequest
from activities.opticore_contracts import BacktestRequest, DataSpec
from worker.codec import (
    ENCODING,
    KEY_ID_FIELD,
    CodecError,
    CodecKeys,
    CodecKeysError,
    EncryptionCodec,
    encrypted_converter,
    generate_key_file,
    load_keys,
    read_key_file,
    rotate_key_file,
)
from worker.settings import Settings

MARKER = "codec-marker-5b1e0c"


def _keys(current: str, *ids: str) -> CodecKeys:
    return CodecKeys(current=current, keys={i: i.encode().ljust(32, b"k") for i in {current, *ids}})


def _plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


async def test_a_payload_is_sealed_whole_and_opens_to_the_original() -> None:
    codec = EncryptionCodec(_keys("k1"))
    original = _plain(MARKER)
    (sealed,) = await codec.encode([original])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID_FIELD] == b"k1"
    assert set(sealed.metadata) == {"encoding", KEY_ID_FIELD}  # the original encoding is inside too
    assert MARKER.encode() not in sealed.SerializeToString() and b"json/plain" not in sealed.data
    (again,) = await codec.encode([original])
    assert again.data[:12] != sealed.data[:12] and again.data != sealed.data  # a fresh nonce each time
    assert await codec.decode([sealed, again]) == [original, original]


async def test_pydantic_models_round_trip_through_the_encrypting_converter() -> None:
    converter = encrypted_converter(EncryptionCodec(_keys("k1")))
    req = BacktestRequest(
        backtest_id=MARKER,
        data=DataSpec(symbol="MSFT/USD"),
        strategy_type="sma_cross",
        params={"size": "7.5"},
    )
    payloads = await converter.encode([req, HaltRequest(reason=MARKER), Decimal("0.1")])
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert await converter.decode(payloads, [BacktestRequest, HaltRequest, Decimal]) == [
        req,
        HaltRequest(reason=MARKER),
        Decimal("0.1"),
    ]


async def test_after_rotation_new_payloads_use_the_new_key_and_old_ones_still_open() -> None:
    before = EncryptionCodec(_keys("2026a"))
    after = EncryptionCodec(_keys("2026b", "2026a"))
    (old,) = await before.encode([_plain("written before")])
    (new,) = await after.encode([_plain("written after")])
    assert new.metadata[KEY_ID_FIELD] == b"2026b"
    assert await after.decode([old, new]) == [_plain("written before"), _plain("written after")]
    with pytest.raises(CodecError, match=r"key id '2026b', which is not among this process's keys \(2026a\)"):
        await before.decode([new])


async def test_an_unknown_key_id_a_wrong_key_or_altered_bytes_are_refused() -> None:
    codec = EncryptionCodec(_keys("k1"))
    (sealed,) = await codec.encode([_plain(MARKER)])
    stranger = Payload(metadata={"encoding": ENCODING, KEY_ID_FIELD: b"nobody"}, data=sealed.data)
    with pytest.raises(CodecError, match="key id 'nobody'"):
        await codec.decode([stranger])
    impostor = EncryptionCodec(CodecKeys(current="k1", keys={"k1": b"x" * 32}))
    with pytest.raises(CodecError, match="failed authentication"):
        await impostor.decode([sealed])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    with pytest.raises(CodecError, match="failed authentication"):
        await codec.decode([Payload(metadata=sealed.metadata, data=bytes(flipped))])
    with pytest.raises(CodecError, match="truncated"):
        await codec.decode([Payload(metadata=sealed.metadata, data=sealed.data[:20])])


async def test_unencrypted_payloads_pass_through_decoding() -> None:
    codec = EncryptionCodec(_keys("k1"))
    plain = [_plain(MARKER), Payload(metadata={"encoding": b"binary/null"}), Payload()]
    assert await codec.decode(plain) == plain


async def test_a_failure_s_message_and_stack_trace_are_encrypted_too() -> None:
    converter = encrypted_converter(EncryptionCodec(_keys("k1")))
    try:
        raise ApplicationError(f"lost {MARKER} on the trade", type="Boom")
    except ApplicationError as e:
        failure = Failure()
        await converter.encode_failure(e, failure)
    assert MARKER.encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure" and failure.stack_trace == ""
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and decoded.message == f"lost {MARKER} on the trade"
    assert decoded.type == "Boom" and "test_codec.py" in (
        decoded.failure.stack_trace if decoded.failure else ""
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_keys_come_from_the_settings_and_the_current_one_must_be_named_among_several(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _b64(b"1" * 32)
    monkeypatch.setenv("ASTS_CODEC_KEYS", json.dumps({"a": one}))
    keys = load_keys(Settings(home=tmp_path))
    assert keys.current == "a" and keys.keys == {"a": b"1" * 32} and keys.source == "ASTS_CODEC_KEYS"
    assert not (tmp_path / "codec-keys.json").exists()  # nothing generated when keys are given
    both = {"a": one, "b": _b64(b"2" * 32)}
    monkeypatch.setenv("ASTS_CODEC_KEYS", json.dumps(both))
    with pytest.raises(CodecKeysError, match="ASTS_CODEC_KEY_ID must name the current one"):
        load_keys(Settings(home=tmp_path))
    monkeypatch.setenv("ASTS_CODEC_KEY_ID", "b")
    assert load_keys(Settings(home=tmp_path)).current == "b"
    monkeypatch.setenv("ASTS_CODEC_KEY_ID", "c")
    with pytest.raises(CodecKeysError, match=r"current key id 'c' is not a key \(a, b\)"):
        load_keys(Settings(home=tmp_path))


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"a": "not base64!"}, "key 'a' is not base64"),
        ({"a": _b64(b"short")}, "key 'a' must be 32 bytes"),
        ({"a b": _b64(b"1" * 32)}, "key id 'a b' must be"),
    ],
)
def test_malformed_keys_are_refused_without_showing_them(keys: dict[str, str], message: str) -> None:
    with pytest.raises(CodecKeysError, match=message) as refused:
        load_keys(Settings(codec_keys={k: SecretStr(v) for k, v in keys.items()}))
    assert all(v not in str(refused.value) for v in keys.values())


def test_development_generates_a_private_key_file_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=tmp_path / "home")
    with caplog.at_level(logging.DEBUG):
        first = load_keys(settings)
    path = tmp_path / "home" / "codec-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys(settings) == first and read_key_file(path) == first
    (key,) = first.keys.values()
    logged = [r.__dict__ for r in caplog.records]
    assert [r["key_id"] for r in logged if "key_id" in r] == [first.current]  # the id, never the key
    assert _b64(key) not in caplog.text + repr(logged) + repr(first) + repr(settings)


def test_processes_starting_together_agree_on_one_generated_key(tmp_path: Path) -> None:
    path = tmp_path / "codec-keys.json"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: generate_key_file(path), range(8)))
    assert len({r.current for r in results}) == 1 and results[0] == read_key_file(path)
    assert not [p for p in tmp_path.iterdir() if p.name != "codec-keys.json"]  # no temporary files left


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    with pytest.raises(CodecKeysError, match="no payload encryption keys: set ASTS_CODEC_KEYS") as refused:
        load_keys(Settings(env="production", home=tmp_path))
    assert str(tmp_path / "codec-keys.json") in str(refused.value)
    assert not (tmp_path / "codec-keys.json").exists()


def test_a_configured_key_file_that_is_missing_is_refused_even_in_development(tmp_path: Path) -> None:
    with pytest.raises(CodecKeysError, match="no payload encryption keys"):
        load_keys(Settings(home=tmp_path, codec_key_file=tmp_path / "mounted" / "keys.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CodecKeysError, match="is not JSON"):
        load_keys(Settings(home=tmp_path, codec_key_file=bad))


async def test_rotating_the_key_file_keeps_the_old_keys_for_old_payloads(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    first = load_keys(settings)
    (old,) = await EncryptionCodec(first).encode([_plain(MARKER)])
    rotated = rotate_key_file(tmp_path / "codec-keys.json")
    assert rotated.current != first.current and set(rotated.keys) == {first.current, rotated.current}
    assert stat.S_IMODE((tmp_path / "codec-keys.json").stat().st_mode) == 0o600
    codec = EncryptionCodec(load_keys(settings))
    assert codec.current_key_id == rotated.current
    assert await codec.decode([old]) == [_plain(MARKER)]


def test_a_key_file_readable_by_others_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "codec-keys.json"
    generate_key_file(path)
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        read_key_file(path)
    assert "readable by others" in caplog.text
