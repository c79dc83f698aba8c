"""The secrets of a backup: the passphrase, ``secrets.enc`` (scrypt and AES-256-GCM), the manifest's
HMAC, and collecting the secrets of a home and writing them back."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from worker.backup.files import _write_private
from worker.backup.manifest import BackupError, _b64
from worker.codec import CodecKeys, CodecKeysError, key_file_path, parse_keys, read_key_file, write_key_file
from worker.settings import Settings

SECRETS = "secrets.enc"
JWT_SECRET_FILE = "jwt-secret"  # as api/auth/tokens.py SECRET_FILE  # noqa: S105  # nosec B105: a file name
ADMIN_PASSWORD_FILE = "admin-password"  # as api/auth/service.py  # noqa: S105  # nosec B105: a file name
PASSPHRASE_ENV = "ASTS_BACKUP_PASSPHRASE"  # noqa: S105  # nosec B105: a variable name
MIN_PASSPHRASE = 8
# scrypt: 128 MiB and about a quarter of a second here; a restore accepts a bounded range only,
# so a crafted file cannot make it allocate without limit.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SALT_BYTES, NONCE_BYTES = 16, 12


def read_passphrase(file: Path | None, environ: Mapping[str, str]) -> str:
    """The passphrase: the text of ``file`` without its final line break, else ``ASTS_BACKUP_PASSPHRASE``
    from ``environ`` (never a command-line argument, which other users can see)."""
    if file is not None:
        try:
            passphrase = file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as e:
            raise BackupError(f"cannot read the passphrase file {file}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise BackupError(f"the passphrase file {file} is not UTF-8 text") from None
        where = f"the passphrase file {file}"
    else:
        passphrase, where = environ.get(PASSPHRASE_ENV, ""), PASSPHRASE_ENV
        if not passphrase:
            raise BackupError(
                f"no passphrase: give --passphrase-file FILE or set {PASSPHRASE_ENV} "
                "(it is never taken from the command line)"
            )
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"{where}: the passphrase must have at least {MIN_PASSPHRASE} characters")
    return passphrase


def _canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _derive(passphrase: str, kdf: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The AES-256-GCM key and the manifest's HMAC key, from the passphrase and the file's scrypt terms."""
    try:
        n, r, p, salt = int(kdf["n"]), int(kdf["r"]), int(kdf["p"]), base64.b64decode(kdf["salt"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise BackupError(f"{SECRETS}: its key derivation terms are damaged") from None
    if (
        kdf.get("name") != "scrypt"
        or n & (n - 1)
        or not (2**14 <= n <= 2**20 and 1 <= r <= 16 and 1 <= p <= 4)
    ):
        raise BackupError(f"{SECRETS}: unsupported key derivation terms (scrypt n={n} r={r} p={p})")
    secret = unicodedata.normalize("NFC", passphrase).encode()
    key = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(secret)
    return key[:32], key[32:]


def _seal(doc: Mapping[str, Any], passphrase: str) -> tuple[bytes, bytes]:
    """``secrets.enc``'s bytes and the HMAC key; the header is authenticated with the ciphertext."""
    kdf = {
        "name": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": _b64(os.urandom(SALT_BYTES)),
    }
    header = {
        "format": "asts-secrets",
        "version": 1,
        "kdf": kdf,
        "cipher": "AES-256-GCM",
        "nonce": _b64(nonce := os.urandom(NONCE_BYTES)),
    }
    key, mac_key = _derive(passphrase, kdf)
    sealed = AESGCM(key).encrypt(nonce, _canonical(doc), _canonical(header))
    return json.dumps({**header, "ciphertext": _b64(sealed)}, indent=2).encode() + b"\n", mac_key


def _unseal(raw: bytes, passphrase: str) -> tuple[dict[str, Any], bytes]:
    """The secrets document and the HMAC key; a wrong passphrase and altered bytes look the same."""
    try:
        doc = json.loads(raw)
        header = {k: doc[k] for k in ("format", "version", "kdf", "cipher", "nonce")}
        nonce, sealed = base64.b64decode(doc["nonce"]), base64.b64decode(doc["ciphertext"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BackupError(f"{SECRETS} is not a secrets file of this format (damaged?)") from None
    if header["format"] != "asts-secrets" or header["version"] != 1 or header["cipher"] != "AES-256-GCM":
        raise BackupError(f"{SECRETS}: unsupported format {header['format']!r} {header['version']!r}")
    key, mac_key = _derive(passphrase, header["kdf"])
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, _canonical(header))
    except (InvalidTag, ValueError):
        raise BackupError("wrong passphrase or damaged secrets file") from None
    secrets_doc: dict[str, Any] = json.loads(plain)
    return secrets_doc, mac_key


def _mac(manifest: Mapping[str, Any], mac_key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return hmac.new(mac_key, _canonical(body), hashlib.sha256).hexdigest()


def _collect_secrets(settings: Settings) -> dict[str, Any]:
    """The secrets of these settings, each with where it came from (read, never generated)."""
    doc: dict[str, Any] = {}
    try:
        if settings.codec_keys:
            encoded = {k: v.get_secret_value() for k, v in settings.codec_keys.items()}
            keys: CodecKeys | None = parse_keys(encoded, settings.codec_key_id, source="ASTS_CODEC_KEYS")
            origin = "ASTS_CODEC_KEYS"
        else:
            path = key_file_path(settings)
            keys, origin = (
                (read_key_file(path, settings.codec_key_id), "file") if path.exists() else (None, "")
            )
    except CodecKeysError as e:
        raise BackupError(str(e)) from None
    if keys is not None:
        doc["codec_keys"] = {
            "current": keys.current,
            "keys": {k: _b64(v) for k, v in keys.keys.items()},
            "from": origin,
        }
    jwt_file = settings.home / JWT_SECRET_FILE
    if settings.jwt_secret:
        doc["jwt_secret"] = {"value": settings.jwt_secret.get_secret_value(), "from": "ASTS_JWT_SECRET"}
    elif jwt_file.exists():
        doc["jwt_secret"] = {"value": jwt_file.read_text().strip(), "from": "file"}
    admin_file = settings.home / ADMIN_PASSWORD_FILE
    if admin_file.exists():
        doc["admin_password"] = {"value": admin_file.read_text().strip(), "from": "file"}
    return doc


def _restore_secrets(settings: Settings, doc: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Write the secrets into the target's files (0600); return the files and notes for the user."""
    files, notes = [], []
    if "codec_keys" in doc:
        entry, path = doc["codec_keys"], key_file_path(settings)
        try:
            keys = parse_keys(entry["keys"], entry["current"], source="the backup")
        except CodecKeysError as e:
            raise BackupError(str(e)) from None
        with contextlib.suppress(CodecKeysError):  # a replaced key file's keys still decode its payloads
            if path.exists():
                kept = {**read_key_file(path).keys, **keys.keys}
                keys = CodecKeys(current=keys.current, keys=kept, source=str(path))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_key_file(path, keys, replace=True)
        files.append(str(path))
        if entry["from"] == "ASTS_CODEC_KEYS":
            notes.append(f"the codec keys came from ASTS_CODEC_KEYS in the source; they are now in {path}")
        here = {k: v.get_secret_value() for k, v in settings.codec_keys.items()}
        if here and here != entry["keys"]:
            notes.append(f"ASTS_CODEC_KEYS is set here and wins over {path}: unset it, or give it those keys")
    if "jwt_secret" in doc:
        path = settings.home / JWT_SECRET_FILE
        _write_private(path, doc["jwt_secret"]["value"] + "\n")
        files.append(str(path))
        if doc["jwt_secret"]["from"] == "ASTS_JWT_SECRET":
            notes.append(f"the JWT secret came from ASTS_JWT_SECRET in the source; it is now in {path}")
        if settings.jwt_secret or settings.env != "development":
            notes.append(f"ASTS_JWT_SECRET signs here ({path} is read in development only, when it is unset)")
    if "admin_password" in doc:
        path = settings.home / ADMIN_PASSWORD_FILE
        _write_private(path, doc["admin_password"]["value"] + "\n")
        files.append(str(path))
    return files, notes
