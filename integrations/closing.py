"""The one ``with client: ...`` for the vendor clients: leaving the block calls their ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Mixin for a client holding connections; subclasses release them in :meth:`close`."""

    def close(self) -> None:
        """Release pooled connections; nothing to release by default."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
