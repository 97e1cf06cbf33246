"""The .vcml container: header fields survive, damage is named."""

import io

import pytest

from vcm.errors import InputError
from vcm.lic.bitstream import Header, read_header, read_records, write_record


def test_header_and_records_round_trip() -> None:
    header = Header(quality=3, machine=True, width=721, height=403, fps=12.5, fingerprint=b"12345678")
    stream = io.BytesIO()
    stream.write(header.pack())
    write_record(stream, b"zz", b"yyyy")
    write_record(stream, b"", b"y")
    stream.seek(0)
    assert read_header(stream, "f") == header
    assert list(read_records(stream, "f")) == [(b"zz", b"yyyy"), (b"", b"y")]


@pytest.mark.parametrize("data", [b"", b"RIFF0000", b"VCML"])
def test_other_files_are_refused(data: bytes) -> None:
    with pytest.raises(InputError, match="not a vcm learned-codec file"):
        read_header(io.BytesIO(data), "f")


def test_truncated_records_are_refused() -> None:
    stream = io.BytesIO()
    write_record(stream, b"zzzz", b"yyyyyyyy")
    for cut in (3, 12):
        with pytest.raises(InputError, match="truncated"):
            list(read_records(io.BytesIO(stream.getvalue()[:cut]), "f"))
