"""The .vcml file: a header, then one record per frame.

header (24 bytes, little-endian): magic b"VCML", version u8, quality u8 (1 = lowest rate),
flags u8 (bit 0: coded with the shared machine adapter), reserved u8, width u16, height u16,
fps f32, model fingerprint 8 bytes (the base codec the strings need).
record: z length u32, y length u32, z string, y string (range-coded 32-bit words).
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from vcm.errors import InputError

MAGIC = b"VCML"
VERSION = 1
HEADER = struct.Struct("<4sBBBBHHf8s")
RECORD = struct.Struct("<II")
MACHINE_FLAG = 1


@dataclass(frozen=True)
class Header:
    quality: int
    machine: bool
    width: int
    height: int
    fps: float
    fingerprint: bytes

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, VERSION, self.quality, MACHINE_FLAG if self.machine else 0, 0,
                           self.width, self.height, self.fps, self.fingerprint)


def read_header(stream: BinaryIO, name: str) -> Header:
    """The header at the start of `stream`; InputError naming `name` when it is not one."""
    data = stream.read(HEADER.size)
    if len(data) < HEADER.size or not data.startswith(MAGIC):
        raise InputError(f"{name} is not a vcm learned-codec file (no VCML header)")
    _, version, quality, flags, _, width, height, fps, fingerprint = HEADER.unpack(data)
    if version != VERSION:
        raise InputError(f"{name} is a version {version} file; this vcm reads version {VERSION}")
    if not (width and height and quality):
        raise InputError(f"{name} has a corrupt header (size {width}x{height}, quality {quality})")
    return Header(quality, bool(flags & MACHINE_FLAG), width, height, fps, fingerprint)


def write_record(stream: BinaryIO, z_string: bytes, y_string: bytes) -> int:
    """Append one frame; returns the bytes written."""
    stream.write(RECORD.pack(len(z_string), len(y_string)))
    stream.write(z_string)
    stream.write(y_string)
    return RECORD.size + len(z_string) + len(y_string)


def read_records(stream: BinaryIO, name: str) -> Iterator[tuple[bytes, bytes]]:
    """(z string, y string) per frame until the end; InputError on a truncated record."""
    while True:
        head = stream.read(RECORD.size)
        if not head:
            return
        if len(head) < RECORD.size:
            raise InputError(f"{name} is truncated (a frame record header is cut short)")
        z_length, y_length = RECORD.unpack(head)
        z_string, y_string = stream.read(z_length), stream.read(y_length)
        if len(z_string) < z_length or len(y_string) < y_length:
            raise InputError(f"{name} is truncated (a frame's strings are cut short)")
        yield z_string, y_string
