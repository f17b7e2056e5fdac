"""Streaming decompression of Spark event-log files in every codec Spark writes, with bounded memory.

Each codec is a generator of decoded chunks reading the input a block at a time, wrapped in a buffered
file object. Bytes decoded before an error reach the reader first; the error comes on the read after.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from collections.abc import Callable, Generator, Iterator
from typing import BinaryIO

import cramjam
import lz4.block
import zstandard

from spark_optimizer.errors import EventLogError

CODEC_BY_SUFFIX: dict[str, str] = {
    ".zstd": "zstd", ".zst": "zstd", ".lz4": "lz4", ".snappy": "snappy", ".lzf": "lzf", ".gz": "gzip"
}  # fmt: skip
CODECS: tuple[str, ...] = ("none", "zstd", "lz4", "snappy", "lzf", "gzip")

_READ_SIZE = 1 << 16  # compressed bytes read at a time by the zstd decoder
_OUT_SIZE = 1 << 20  # decoded bytes produced at a time by the gzip decoder / raw copy
_MAX_CHUNK = 1 << 26  # a snappy chunk claiming more than 64 MiB is corrupt, not read into memory


class EventLogCodecError(EventLogError):
    """The compressed bytes of an event log cannot be decoded; the message names codec and offset."""


class TruncatedStreamError(EventLogCodecError):
    """The compressed stream ends mid-block or mid-frame (a log still being written, or cut short).

    Everything decoded before it is valid; only the unfinished tail is lost."""


def codec_for_name(file_name: str) -> str:
    """The codec of an event-log file from its name ("none" for no or an unknown suffix)."""
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    if name.lower().endswith(".inprogress"):  # Spark's name for a log still being written
        name = name[: -len(".inprogress")]
    dot = name.rfind(".")
    return CODEC_BY_SUFFIX.get(name[dot:].lower(), "none") if dot > 0 else "none"


def open_decompressed(raw: BinaryIO, codec: str) -> BinaryIO:
    """A buffered, streaming reader of the decoded bytes of `raw`; closing it closes `raw`."""
    if codec == "none" and isinstance(raw, io.BufferedIOBase):
        return raw  # type: ignore[return-value]
    try:
        decoder = _DECODERS[codec]
    except KeyError:
        raise ValueError(f"unknown event-log codec {codec!r}; expected one of {', '.join(CODECS)}") from None
    return io.BufferedReader(_ChunkStream(decoder(raw), raw), buffer_size=1 << 18)  # type: ignore[return-value]


def iter_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its \\n or \\r\\n) for every line, empty ones included."""
    for number, line in enumerate(stream, 1):
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        yield number, line


class _ChunkStream(io.RawIOBase):
    """A raw readable stream over an iterator of decoded chunks."""

    def __init__(self, chunks: Generator[bytes, None, None], raw: BinaryIO) -> None:
        self._chunks, self._raw, self._pending = chunks, raw, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        memoryview(buffer).cast("B")[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._chunks.close()
            self._raw.close()
        super().close()


def _read_exact(raw: BinaryIO, size: int) -> bytes:
    """`size` bytes, or fewer only where the input ends."""
    parts, missing = [], size
    while missing and (more := raw.read(missing)):
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _read_block(raw: BinaryIO, size: int, codec: str, what: str, offset: int, *, magic: bytes = b"",
                at_end_ok: bool = False, unit: str = "bytes") -> bytes:  # fmt: skip
    """`size` bytes starting with `magic`; b"" if the input has ended and `at_end_ok`."""
    data = _read_exact(raw, size)
    if not data.startswith(magic[: len(data)]):
        raise EventLogCodecError(f"{codec} {what} at offset {offset} starts with {data[: len(magic)]!r}, not {magic!r}")
    if len(data) < size and (data or not at_end_ok):
        raise TruncatedStreamError(f"{codec} {what} at offset {offset} is truncated: "
                                   f"expected {size} {unit}, found {len(data)}")  # fmt: skip
    return data


def _plain_chunks(raw: BinaryIO) -> Generator[bytes, None, None]:
    while chunk := raw.read(_OUT_SIZE):
        yield chunk


def _zstd_chunks(raw: BinaryIO) -> Generator[bytes, None, None]:
    # Not ZstdDecompressor.stream_reader: it reports a stream cut mid-frame as a clean end.
    dctx = zstandard.ZstdDecompressor()
    frame, frame_start, offset, in_frame = dctx.decompressobj(), 0, 0, False
    while data := raw.read(_READ_SIZE):
        while data:
            try:
                out = frame.decompress(data)
            except zstandard.ZstdError as exc:
                raise EventLogCodecError(f"zstd frame at offset {frame_start} is corrupt: {exc}") from exc
            in_frame = True
            if out:
                yield out
            if not frame.eof:
                offset += len(data)
                break
            rest = frame.unused_data  # the start of the next frame
            offset += len(data) - len(rest)
            frame, frame_start, in_frame, data = dctx.decompressobj(), offset, False, rest
    if in_frame:
        raise TruncatedStreamError(f"zstd frame at offset {frame_start} is truncated: the input ends at {offset}")


_LZ4_HEADER = struct.Struct("<8sBiii")  # magic, token, compressed length, decompressed length, checksum


def _lz4_chunks(raw: BinaryIO) -> Generator[bytes, None, None]:
    offset = 0
    while header := _read_block(raw, _LZ4_HEADER.size, "lz4", "block", offset, magic=b"LZ4Block", at_end_ok=True):
        _magic, token, clen, dlen, _checksum = _LZ4_HEADER.unpack(header)
        method, max_len = token & 0xF0, 1 << (10 + (token & 0x0F))
        if method not in (0x10, 0x20) or not 0 <= dlen <= max_len or not 0 <= clen <= max_len + max_len // 255 + 16:
            raise EventLogCodecError(f"lz4 block at offset {offset} has an invalid header: token 0x{token:02x}, "
                                     f"compressed length {clen}, decompressed length {dlen}")  # fmt: skip
        data = _read_block(raw, clen, "lz4", "block", offset, unit="compressed bytes")
        try:
            out = data if method == 0x10 else lz4.block.decompress(data, uncompressed_size=dlen)
        except lz4.block.LZ4BlockError as exc:
            raise EventLogCodecError(f"lz4 block at offset {offset} is corrupt: {exc}") from exc
        if len(out) != dlen:
            raise EventLogCodecError(f"lz4 block at offset {offset} decoded to {len(out)} bytes, header says {dlen}")
        if out:  # dlen == 0 is the end mark; another stream may be concatenated after it
            yield out
        offset += _LZ4_HEADER.size + clen


_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_FRAMED_MAGIC = b"\xff\x06\x00\x00sNaPpY"


def _snappy_raw(data: bytes, offset: int) -> bytes:
    try:
        return bytes(cramjam.snappy.decompress_raw(data))
    except cramjam.DecompressionError as exc:
        raise EventLogCodecError(f"snappy chunk at offset {offset} is corrupt: {exc}") from exc


def _snappy_chunks(raw: BinaryIO) -> Generator[bytes, None, None]:
    """snappy-java's SnappyOutputStream: a 16-byte header, then [int32 BE length][raw snappy block]..."""
    head = _read_exact(raw, len(_FRAMED_MAGIC))
    if head == _FRAMED_MAGIC:
        yield from _snappy_framed_chunks(raw)
        return
    if head and not head.startswith(_XERIAL_MAGIC[: len(head)]):
        raise EventLogCodecError(f"snappy stream at offset 0 starts with {head[:8]!r}, neither the snappy-java "
                                 f"header {_XERIAL_MAGIC!r} nor the snappy framing-format identifier")  # fmt: skip
    offset = len(head + _read_block(raw, 16 - len(head), "snappy", "stream header", 0)) if head else 0
    while size_bytes := _read_block(raw, 4, "snappy", "chunk length", offset, at_end_ok=True):
        if size_bytes == _XERIAL_MAGIC[:4]:  # a concatenated snappy-java stream
            _read_block(raw, 12, "snappy", "stream header", offset, magic=_XERIAL_MAGIC[4:])
            offset += 16
            continue
        size = int.from_bytes(size_bytes, "big", signed=True)
        if not 0 <= size <= _MAX_CHUNK:
            raise EventLogCodecError(f"snappy chunk at offset {offset} has an invalid length {size}")
        yield _snappy_raw(_read_block(raw, size, "snappy", "chunk", offset, unit="compressed bytes"), offset)
        offset += 4 + size


def _snappy_framed_chunks(raw: BinaryIO) -> Generator[bytes, None, None]:
    """The snappy framing format (https://github.com/google/snappy/blob/main/framing_format.txt)."""
    offset = len(_FRAMED_MAGIC)
    while head := _read_block(raw, 4, "snappy", "chunk header", offset, at_end_ok=True):
        kind, size = head[0], int.from_bytes(head[1:], "little")
        body = _read_block(raw, size, "snappy", "chunk", offset)
        if kind == 0x00:  # compressed, after a 4-byte masked CRC-32C (not verified)
            yield _snappy_raw(body[4:], offset)
        elif kind == 0x01:
            yield body[4:]
        elif kind == 0xFF and body != b"sNaPpY" or 0x02 <= kind <= 0x7F:
            raise EventLogCodecError(f"snappy chunk at offset {offset} has an unknown type 0x{kind:02x}")
        offset += 4 + size  # 0x80-0xfe are skippable padding


def _lzf_decompress(data: bytes, size: int, offset: int) -> bytes:
    """One chunk in the liblzf format."""
    out, i, n = bytearray(), 0, len(data)
    try:
        while i < n:
            ctrl = data[i]
            i += 1
            if ctrl < 32:  # a literal run of ctrl + 1 bytes
                if i + ctrl >= n:
                    raise IndexError
                out += data[i : i + ctrl + 1]
                i += ctrl + 1
                continue
            length = ctrl >> 5  # a back-reference of length + 2 bytes
            if length == 7:
                length += data[i]
                i += 1
            length += 2
            distance = ((ctrl & 0x1F) << 8) + data[i] + 1
            i += 1
            start = len(out) - distance
            if start < 0:
                raise IndexError
            if distance >= length:
                out += out[start : start + length]
            else:  # an overlapping copy repeats the last `distance` bytes
                out += (out[start:] * (length // distance + 1))[:length]
    except IndexError:
        raise EventLogCodecError(f"lzf chunk at offset {offset} is corrupt: bad literal or back-reference") from None
    if len(out) != size:
        raise EventLogCodecError(f"lzf chunk at offset {offset} decoded to {len(out)} bytes, header says {size}")
    return bytes(out)


def _lzf_chunks(raw: BinaryIO) -> Generator[bytes, None, None]:
    """compress-lzf's LZFOutputStream: b"ZV" 0 len data | b"ZV" 1 len decoded-len lzf-data (lengths uint16 BE)."""
    offset = 0
    while head := _read_block(raw, 5, "lzf", "chunk", offset, magic=b"ZV", at_end_ok=True):
        size = int.from_bytes(head[3:5], "big")
        if head[2] == 0:
            yield _read_block(raw, size, "lzf", "chunk", offset)
            offset += 5 + size
        elif head[2] == 1:
            out_size = int.from_bytes(_read_block(raw, 2, "lzf", "chunk", offset), "big")
            yield _lzf_decompress(_read_block(raw, size, "lzf", "chunk", offset), out_size, offset)
            offset += 7 + size
        else:
            raise EventLogCodecError(f"lzf chunk at offset {offset} has an unknown type {head[2]}")


def _gzip_chunks(raw: BinaryIO) -> Generator[bytes, None, None]:
    with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
        while True:
            try:
                chunk = gz.read1(_OUT_SIZE)  # read() would drop what it decoded before an error
            except EOFError as exc:
                raise TruncatedStreamError(f"gzip stream is truncated: {exc}") from exc
            except (gzip.BadGzipFile, zlib.error) as exc:
                raise EventLogCodecError(f"gzip stream is corrupt: {exc}") from exc
            if not chunk:
                return
            yield chunk


_DECODERS: dict[str, Callable[[BinaryIO], Generator[bytes, None, None]]] = {
    "none": _plain_chunks, "zstd": _zstd_chunks, "lz4": _lz4_chunks, "snappy": _snappy_chunks, "lzf": _lzf_chunks,
    "gzip": _gzip_chunks,
}  # fmt: skip
