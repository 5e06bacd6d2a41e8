"""CoalescedTransport: a response's head and body in one write, nothing held
past the event loop's turn, the bytes always in their order."""

from __future__ import annotations

import asyncio
from typing import Any

from clusteraccess.coalesced_transport import CoalescedTransport


class Recorder:
    """A transport that notes every call made to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def write_eof(self) -> None:
        self.calls.append(("write_eof", None))

    def close(self) -> None:
        self.closing = True
        self.calls.append(("close", None))

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def test_head_and_body_go_in_one_write() -> None:
    async def run() -> Recorder:
        inner = Recorder()
        transport = CoalescedTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        assert inner.calls == []  # held until the body comes
        transport.write(b"body")
        await asyncio.sleep(0)
        return inner

    assert asyncio.run(run()).calls == [("write", b"HTTP/1.1 200 OK\r\n\r\nbody")]


def test_a_lone_write_is_sent_at_the_loops_next_turn() -> None:
    async def run() -> Recorder:
        inner = Recorder()
        transport = CoalescedTransport(inner, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(0)
        assert inner.calls == [("write", b"HTTP/1.1 100 Continue\r\n\r\n")]
        transport.write(b"head")
        transport.write(b"body")
        transport.write(b"more")  # a third write of the same turn
        await asyncio.sleep(0)
        return inner

    assert asyncio.run(run()).calls[1:] == [("write", b"headbody"), ("write", b"more")]


def test_closing_and_half_closing_send_what_is_held_first() -> None:
    async def run() -> tuple[Recorder, Recorder]:
        loop = asyncio.get_running_loop()
        closed, half_closed = Recorder(), Recorder()
        first = CoalescedTransport(closed, loop)
        first.write(b"answer")
        first.close()
        second = CoalescedTransport(half_closed, loop)
        second.write(b"answer")
        second.write_eof()
        await asyncio.sleep(0)
        assert second.is_closing() is False and second.get_extra_info("peername") == ("127.0.0.1", 1)
        return closed, half_closed

    closed, half_closed = asyncio.run(run())
    assert closed.calls == [("write", b"answer"), ("close", None)]
    assert half_closed.calls == [("write", b"answer"), ("write_eof", None)]


def test_nothing_is_written_to_a_transport_closed_meanwhile() -> None:
    async def run() -> Recorder:
        inner = Recorder()
        transport = CoalescedTransport(inner, asyncio.get_running_loop())
        transport.write(b"head")
        inner.closing = True  # the connection was lost
        await asyncio.sleep(0)
        return inner

    assert asyncio.run(run()).calls == []
