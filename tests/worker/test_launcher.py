"""The embedded stack's launcher: the ports it picks and a server start that meets a taken port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

from worker.launcher import Stack, _ephemeral_floor, free_port, port_open


def test_a_free_port_lies_below_the_kernels_ephemeral_range_and_can_be_listened_on() -> None:
    floor = _ephemeral_floor()
    ports = {free_port() for _ in range(20)}
    assert all(20000 <= p < floor for p in ports), ports
    assert len(ports) > 1  # drawn at random, so parallel test processes rarely meet
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.pop()))
        s.listen()


def test_the_temporal_server_starts_again_when_a_port_it_was_given_is_taken_meanwhile(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        busy = taken.getsockname()[1]

        def picks() -> Iterator[int]:
            yield busy  # the HTTP API port of the first start: someone listens on it already
            while True:
                yield free_port()

        said: list[str] = []
        ports = picks()
        stack = Stack(
            home=tmp_path / "home",
            temporal_port=free_port(),
            ui_port=free_port(),
            api_port=free_port(),
            say=said.append,
            pick_port=lambda: next(ports),
        )
        try:
            stack.start_temporal()
            assert port_open("127.0.0.1", stack.temporal_port)
            assert said == ["Temporal server: a port was taken meanwhile; starting it again"]
            assert len(stack.children) == 1 and stack.children[0].proc.poll() is None
            assert "address already in use" in (tmp_path / "home" / "logs" / "temporal.log").read_text()
        finally:
            stack.stop()
