"""A context-manager base for objects that hold PyAV codec contexts (encoders, decoders):
`close()` drops them at once instead of whenever the garbage collector runs, and an object
used after close raises a clear error."""

from typing import Any, Self


class CodecHolder:
    """Subclasses list the attributes holding codec contexts in CODEC_ATTRIBUTES."""

    CODEC_ATTRIBUTES: tuple[str, ...] = ()
    closed = False

    def close(self) -> None:
        for name in self.CODEC_ATTRIBUTES:
            self.__dict__.pop(name, None)
        self.closed = True

    def __getattr__(self, name: str) -> Any:
        # only reached for attributes that are missing: a codec context after close()
        if name in type(self).CODEC_ATTRIBUTES and self.closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        raise AttributeError(name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
