"""A transport that sends a response's head and body in one write.

uvicorn writes a response's head when the application sends
``http.response.start`` and its body when it sends ``http.response.body``:
two writes, so two system calls and two TCP segments for every answer,
although every answer of the service is whole (`ServiceResponse`) and sent in
one step of its task. This transport holds the first write it is given and
sends it together with the next one; whatever is still held when the event
loop takes its next turn (a head whose body comes later, a lone
``100 Continue``) is sent then, so nothing waits on the application's pace
and the order of the bytes never changes. Closing, half-closing or handing
the connection to another protocol sends what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional

__all__ = ["CoalescedTransport"]


class CoalescedTransport:
    """Wraps an asyncio transport; every method but those below is the wrapped one's."""

    __slots__ = ("_transport", "_loop", "_held", "is_closing")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: Optional[bytes] = None
        # Asked several times per request: the wrapped transport's own method, with no call in between.
        self.is_closing: Callable[[], bool] = transport.is_closing

    def write(self, data: bytes) -> None:
        """Holds data until the next write or the loop's next turn, whichever comes first."""
        held = self._held
        if held is None:
            self._held = data
            self._loop.call_soon(self.flush)
            return
        self._held = None
        self._transport.write(held + data)

    def flush(self) -> None:
        """Sends what is held, if anything."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def set_protocol(self, protocol: Any) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
