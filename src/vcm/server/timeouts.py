"""Connection timeouts uvicorn lacks: a client must finish its request headers within the
request timeout of connecting (or of the previous answer on a kept-alive connection), so
idle and half-sent requests (slowloris) do not hold connections forever. Body reads are
bounded in the app (a body that stops arriving answers 408)."""

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


def headers_within(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request headers do not arrive
    within `seconds`."""

    class HeadersWithin(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            self._waiting_for = self.cycle  # a new request replaces it
            self._deadline: asyncio.TimerHandle | None = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.cycle is self._waiting_for and not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._waiting_for:  # the headers of a new request arrived
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._disarm()
                self._arm()

        def connection_lost(self, exc: Any) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeadersWithin
