"""The payload keys of the test session, and histories with their payloads opened.

Every client and worker of the tests encrypts with these fixed keys (test-only, never used
anywhere else), so histories recorded by one test replay in another. Saved histories under
tests/workflows/histories/ are kept in clear (``plain_history``) and replay because decoding
passes unencrypted payloads through.
"""

from __future__ import annotations

import base64
import json

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory

from worker.codec import EncryptionCodec, encrypted_converter, parse_keys

TEST_KEY_ID = "test-1"
TEST_CODEC_KEYS = {
    TEST_KEY_ID: base64.b64encode(b"asts-tests-only-key-not-a-secret").decode(),
    "test-0": base64.b64encode(b"asts-tests-older-key-for-rotated").decode(),
}
# For processes the tests start: the same keys, through the environment.
TEST_CODEC_ENV = {"ASTS_CODEC_KEYS": json.dumps(TEST_CODEC_KEYS), "ASTS_CODEC_KEY_ID": TEST_KEY_ID}
# For Settings(...) made in the test process.
TEST_CODEC_SETTINGS = {"codec_keys": TEST_CODEC_KEYS, "codec_key_id": TEST_KEY_ID}

TEST_CODEC = EncryptionCodec(parse_keys(TEST_CODEC_KEYS, TEST_KEY_ID, source="tests"))
TEST_CONVERTER = encrypted_converter(TEST_CODEC)


def _open(message: Message, codec: EncryptionCodec) -> None:
    """Decrypt, in place, every payload reachable from ``message``."""
    for fd, value in message.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            items = list(value.values()) if fd.message_type.fields_by_name["value"].message_type else []
        elif isinstance(value, Message):
            items = [value]
        else:  # a repeated field
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                item.CopyFrom(codec.decrypt(item))
            else:
                _open(item, codec)


def plain_history(history: WorkflowHistory, codec: EncryptionCodec = TEST_CODEC) -> WorkflowHistory:
    """A copy of ``history`` with every payload decrypted (what a history looks like in clear)."""
    events = []
    for event in history.events:
        copy = type(event)()
        copy.CopyFrom(event)
        _open(copy, codec)
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)
