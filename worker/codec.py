"""Payload encryption: every payload a client or worker hands to Temporal is sealed with AES-256-GCM.

The whole original payload (its metadata included, so not even the encoding is visible) is
serialised and encrypted under a random 12-byte nonce; the result carries the metadata
``encoding=binary/encrypted`` and ``encryption-key-id=<id>``, the format of Temporal's own
encryption sample. Several keys decrypt, one encrypts: rotating adds a key and makes it
current, and payloads written under an older key still decode while it is kept. Failures
are encrypted too (message and stack trace move into the encoded attributes).

Keys come from ``ASTS_CODEC_KEYS`` + ``ASTS_CODEC_KEY_ID``, or from a key file
(``ASTS_CODEC_KEY_FILE``, default ``<home>/codec-keys.json``, mode 0600) of the form
``{"current": "<id>", "keys": {"<id>": "<base64 of 32 bytes>"}}``. In development a missing
default key file is generated on first use; in production missing keys stop the process.
Keys are never logged or shown; their ids are not secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from worker.settings import Settings

log = logging.getLogger(__name__)

ENCODING = b"binary/encrypted"
KEY_ID_FIELD = "encryption-key-id"
KEY_FILE_NAME = "codec-keys.json"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecKeysError(RuntimeError):
    """The encryption keys are missing or unusable (a configuration problem: the process stops)."""


class CodecError(ValueError):
    """A payload cannot be decrypted: an unknown key id, a wrong key, or altered bytes."""


@dataclass(frozen=True)
class CodecKeys:
    """The keys by id (never in ``repr``), the id that encrypts, and where they were read from."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)
    source: str = "settings"

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if not KEY_ID_PATTERN.match(key_id):
                raise CodecKeysError(f"{self.source}: key id {key_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
            if len(key) != KEY_BYTES:
                raise CodecKeysError(f"{self.source}: key {key_id!r} must be {KEY_BYTES} bytes (AES-256)")
        if self.current not in self.keys:
            known = ", ".join(sorted(self.keys)) or "none"
            raise CodecKeysError(f"{self.source}: the current key id {self.current!r} is not a key ({known})")


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; unencrypted payloads pass through on decode."""

    def __init__(self, keys: CodecKeys) -> None:
        self._current = keys.current
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    @property
    def current_key_id(self) -> str:
        """The id new payloads are encrypted under."""
        return self._current

    @property
    def key_ids(self) -> list[str]:
        """Every id this codec decrypts."""
        return sorted(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload under the current key."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt each encrypted payload; any other passes through unchanged."""
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, sealed under the current key."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_FIELD: self._current.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        """One payload, opened (or returned as it is when it was never encrypted)."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_FIELD, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecError(
                f"payload encrypted with key id {key_id!r}, which is not among this process's keys "
                f"({', '.join(self.key_ids)}): give it the keys of the process that wrote it"
            )
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise CodecError(f"encrypted payload under key id {key_id!r} is truncated")
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise CodecError(
                f"payload under key id {key_id!r} failed authentication: a different key, or altered bytes"
            ) from None
        return Payload.FromString(plain)


def encrypted_converter(codec: PayloadCodec) -> DataConverter:
    """The pydantic data converter with ``codec`` on every payload, failures' messages included."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def new_key_id() -> str:
    """A fresh key id: the date and a random suffix (ids are not secret)."""
    return f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def parse_keys(encoded: Mapping[str, str], current: str | None, *, source: str) -> CodecKeys:
    """Keys from base64 text by id; ``current`` may be left out when there is one key."""
    if not encoded:
        raise CodecKeysError(f"{source}: no keys")
    keys: dict[str, bytes] = {}
    for key_id, text in encoded.items():
        try:
            keys[key_id] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise CodecKeysError(f"{source}: key {key_id!r} is not base64") from None
    if current is None:
        if len(keys) != 1:
            raise CodecKeysError(f"{source}: several keys, so ASTS_CODEC_KEY_ID must name the current one")
        (current,) = keys
    return CodecKeys(current=current, keys=keys, source=source)


def read_key_file(path: Path, current: str | None = None) -> CodecKeys:
    """The keys of a key file; ``current`` (``ASTS_CODEC_KEY_ID``) overrides the file's choice."""
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise CodecKeysError(f"cannot read the key file {path}: {e.strerror}") from None
    except ValueError:
        raise CodecKeysError(f"the key file {path} is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), dict):
        raise CodecKeysError(f'the key file {path} must hold {{"current": ID, "keys": {{ID: BASE64}}}}')
    if path.stat().st_mode & 0o077:
        log.warning("the codec key file is readable by others; chmod 600 it", extra={"path": str(path)})
    return parse_keys(doc["keys"], current or doc.get("current"), source=str(path))


def write_key_file(path: Path, keys: CodecKeys, *, replace: bool) -> None:
    """Write ``keys`` to ``path`` (0600) in one step: readers see the old file or the new, whole.

    Without ``replace`` an existing file is kept and ``FileExistsError`` raised.
    """
    doc = {
        "current": keys.current,
        "keys": {k: base64.b64encode(v).decode() for k, v in keys.keys.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".codec-keys-")  # created 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if another process got there first
    finally:
        with contextlib.suppress(FileNotFoundError):  # moved into place by os.replace
            os.unlink(tmp)


def fresh_keys(source: str) -> CodecKeys:
    """One new random key, current."""
    key_id = new_key_id()
    return CodecKeys(current=key_id, keys={key_id: AESGCM.generate_key(bit_length=256)}, source=source)


def generate_key_file(path: Path) -> CodecKeys:
    """Create a key file with one new key; when another process just created it, read theirs."""
    keys = fresh_keys(str(path))
    try:
        write_key_file(path, keys, replace=False)
    except FileExistsError:
        return read_key_file(path)
    log.info("generated a payload encryption key", extra={"key_id": keys.current, "path": str(path)})
    return keys


def rotate_key_file(path: Path) -> CodecKeys:
    """Add a new key to a key file and make it current; the older keys stay to decode old payloads."""
    old = read_key_file(path)
    key_id = new_key_id()
    keys = dict(old.keys)
    keys[key_id] = AESGCM.generate_key(bit_length=256)
    new = CodecKeys(current=key_id, keys=keys, source=str(path))
    write_key_file(path, new, replace=True)
    log.info("rotated the payload encryption key", extra={"key_id": key_id, "path": str(path)})
    return new


def key_file_path(settings: Settings) -> Path:
    """Where the key file is: ``ASTS_CODEC_KEY_FILE`` or ``<home>/codec-keys.json``."""
    return settings.codec_key_file or settings.home / KEY_FILE_NAME


def load_keys(settings: Settings) -> CodecKeys:
    """The keys of the settings: ``ASTS_CODEC_KEYS``, else the key file (generated in development).

    Raises:
        CodecKeysError: the keys are malformed; or there are none, outside development or where
            ``ASTS_CODEC_KEY_FILE`` names a file that does not exist.
    """
    if settings.codec_keys:
        encoded = {k: v.get_secret_value() for k, v in settings.codec_keys.items()}
        return parse_keys(encoded, settings.codec_key_id, source="ASTS_CODEC_KEYS")
    path = key_file_path(settings)
    if path.exists():
        return read_key_file(path, settings.codec_key_id)
    if settings.env == "development" and settings.codec_key_file is None:
        return generate_key_file(path)
    raise CodecKeysError(
        f"no payload encryption keys: set ASTS_CODEC_KEYS (JSON {{id: base64 of 32 random bytes}}) and "
        f"ASTS_CODEC_KEY_ID, or provide the key file {path} (ASTS_CODEC_KEY_FILE); "
        "`asts codec keygen` writes one"
    )


def settings_converter(settings: Settings) -> DataConverter:
    """The data converter every client and worker of these settings uses."""
    return encrypted_converter(EncryptionCodec(load_keys(settings)))
