"""The card's non-volatile medium: a raw image file or an in-memory store.

Partitions are numbered as PARTITION_CONFIG's access bits: 0 the user area,
1 and 2 the boot partitions. The image file holds the user area byte for byte
from offset 0 (created sparse, so Linux tools and `inspect` read it as a
disk); boot partitions live in sidecar files '<image>.boot0' / '.boot1',
created on their first write. Unwritten bytes read as zero.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod

from emmc_card.configtools import ConfigError

USER, BOOT0, BOOT1 = 0, 1, 2


class Storage(ABC):
    """Byte-addressed medium with one address space per partition."""

    def __init__(self, user_bytes: int, boot_bytes: int) -> None:
        self.sizes = {USER: user_bytes}
        if boot_bytes:
            self.sizes[BOOT0] = self.sizes[BOOT1] = boot_bytes

    def size(self, partition: int) -> int:
        """Bytes in `partition`; 0 when the card has no such partition."""
        return self.sizes.get(partition, 0)

    def _check(self, partition: int, offset: int, length: int) -> None:
        if partition not in self.sizes:
            raise ValueError(f"no partition {partition}")
        if offset < 0 or length < 0 or offset + length > self.sizes[partition]:
            raise ValueError(f"bytes {offset}..{offset + length} outside partition {partition} "
                             f"of {self.sizes[partition]} bytes")

    def read(self, partition: int, offset: int, length: int) -> bytes:
        """`length` bytes of `partition` from `offset`."""
        self._check(partition, offset, length)
        return self._read(partition, offset, length)

    def write(self, partition: int, offset: int, data: bytes) -> None:
        """Store `data` durably (as far as the medium is concerned) at `offset`."""
        self._check(partition, offset, len(data))
        self._write(partition, offset, bytes(data))

    @abstractmethod
    def _read(self, partition: int, offset: int, length: int) -> bytes: ...

    @abstractmethod
    def _write(self, partition: int, offset: int, data: bytes) -> None: ...

    def snapshot(self) -> object:
        """The medium's whole content, for restore(); only an in-memory medium has one (an image file is the user's)."""
        raise TypeError(f"{type(self).__name__} keeps its content in a file: it has no snapshot")

    def restore(self, snapshot: object) -> None:
        """Put the content a snapshot() took back (same sizes, same partitions)."""
        raise TypeError(f"{type(self).__name__} keeps its content in a file: it has no snapshot")

    def flush(self) -> None:
        """Push everything written so far to the backing store."""

    def close(self) -> None:
        """Flush and release the backing store."""
        self.flush()


class MemoryStorage(Storage):
    """Sparse in-memory medium (pages of 4 KiB), for tests and sweeps."""

    PAGE = 4096

    def __init__(self, user_bytes: int, boot_bytes: int = 0) -> None:
        super().__init__(user_bytes, boot_bytes)
        self._pages: dict[tuple[int, int], bytearray] = {}

    def _read(self, partition: int, offset: int, length: int) -> bytes:
        out = bytearray(length)
        pos = 0
        while pos < length:
            page, start = divmod(offset + pos, self.PAGE)
            n = min(self.PAGE - start, length - pos)
            data = self._pages.get((partition, page))
            if data is not None:
                out[pos:pos + n] = data[start:start + n]
            pos += n
        return bytes(out)

    def _write(self, partition: int, offset: int, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            page, start = divmod(offset + pos, self.PAGE)
            n = min(self.PAGE - start, len(data) - pos)
            buf = self._pages.setdefault((partition, page), bytearray(self.PAGE))
            buf[start:start + n] = data[pos:pos + n]
            pos += n

    def snapshot(self) -> dict[tuple[int, int], bytes]:
        return {key: bytes(page) for key, page in self._pages.items()}

    def restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, dict)
        self._pages = {key: bytearray(page) for key, page in snapshot.items()}


class ImageStorage(Storage):
    """Raw image file for the user area plus boot partition sidecar files."""

    def __init__(self, path: str | os.PathLike[str], user_bytes: int, boot_bytes: int = 0) -> None:
        super().__init__(user_bytes, boot_bytes)
        self.path = os.fspath(path)
        if os.path.exists(self.path):
            actual = os.path.getsize(self.path)
            if actual != user_bytes:
                raise ConfigError("image_path", f"{self.path} has {actual} bytes; the card's user "
                                  f"area has {user_bytes} (use another file or card capacity)")
        else:
            with open(self.path, "wb") as f:
                f.truncate(user_bytes)
        self._files = {USER: open(self.path, "r+b")}

    def sidecar_path(self, partition: int) -> str:
        """File holding boot partition 1 or 2."""
        return f"{self.path}.boot{partition - 1}"

    def _file(self, partition: int, create: bool):
        f = self._files.get(partition)
        if f is None:
            path = self.path if partition == USER else self.sidecar_path(partition)
            if not os.path.exists(path):
                if not create:
                    return None
                with open(path, "wb") as new:
                    new.truncate(self.sizes[partition])
            f = self._files[partition] = open(path, "r+b")
        return f

    def _read(self, partition: int, offset: int, length: int) -> bytes:
        f = self._file(partition, create=False)
        if f is None:
            return bytes(length)
        f.seek(offset)
        data = f.read(length)
        return data + bytes(length - len(data))

    def _write(self, partition: int, offset: int, data: bytes) -> None:
        f = self._file(partition, create=True)
        f.seek(offset)
        f.write(data)

    def flush(self) -> None:
        for f in self._files.values():
            f.flush()

    def close(self) -> None:
        self.flush()
        for f in self._files.values():
            f.close()
        self._files.clear()
