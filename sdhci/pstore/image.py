"""Positioned reads from an image given as a path, a buffer or a binary file."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


def open_reader(image: ImageSource) -> tuple[Callable[[int, int], bytes], Callable[[], None] | None]:
    """(read(offset, length) -> bytes, close or None); short reads at the image end."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        view = memoryview(image)
        return (lambda off, n: bytes(view[off:off + n])), None
    if isinstance(image, (str, os.PathLike)):
        handle = open(image, "rb")
        close = handle.close
    else:
        handle, close = image, None

    def read(off: int, n: int) -> bytes:
        handle.seek(off)
        return handle.read(n)
    return read, close
