"""Streaming decompression of Spark event logs: spec tests on inline streams and on real Spark-written files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import cramjam
import lz4.block
import pytest
import zstandard

from spark_optimizer.eventlog.codecs import (
    CODEC_BY_SUFFIX,
    EventLogCodecError,
    TruncatedStreamError,
    codec_for_name,
    iter_lines,
    open_decompressed,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "eventlogs"
GENERATED = SHARED / "generated"
PUBLIC = SHARED / "public"
COMPRESSED = ["zstd", "lz4", "snappy", "lzf", "gzip"]


# ---------- encoders that build streams the way Spark's codecs write them ----------


def lz4_java_stream(data: bytes, block_size: int = 4096, end_mark: bool = True) -> bytes:
    """lz4-java LZ4BlockOutputStream: compressed blocks, stored blocks where compression does not pay."""
    level = block_size.bit_length() - 11  # block size = 1 << (10 + level)
    out = bytearray()
    for i in range(0, len(data), block_size):
        block = data[i : i + block_size]
        packed = lz4.block.compress(block, store_size=False)
        method, payload = (0x20, packed) if len(packed) < len(block) else (0x10, block)
        out += b"LZ4Block" + struct.pack("<Biii", method | level, len(payload), len(block), 0) + payload
    if end_mark:
        out += b"LZ4Block" + struct.pack("<Biii", 0x10 | level, 0, 0, 0)
    return bytes(out)


def xerial_snappy_stream(data: bytes, block_size: int = 4096) -> bytes:
    """snappy-java SnappyOutputStream: 16-byte header, then [int32 BE length][raw snappy block]."""
    out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
    for i in range(0, len(data), block_size):
        packed = bytes(cramjam.snappy.compress_raw(data[i : i + block_size]))
        out += struct.pack(">i", len(packed)) + packed
    return bytes(out)


def lzf_stored_stream(data: bytes, block_size: int = 4096) -> bytes:
    """compress-lzf LZFOutputStream chunks of the uncompressed kind: b"ZV" 0 uint16-length data."""
    return b"".join(
        b"ZV\x00" + struct.pack(">H", len(data[i : i + block_size])) + data[i : i + block_size]
        for i in range(0, len(data), block_size)
    )


def zstd_frames(data: bytes) -> bytes:
    """Three concatenated zstd frames, split mid-line."""
    third = len(data) // 3
    parts = [data[:third], data[third : 2 * third], data[2 * third :]]
    return b"".join(zstandard.ZstdCompressor().compress(part) for part in parts)


def gzip_members(data: bytes) -> bytes:
    """Two concatenated gzip members, split mid-line."""
    return gzip.compress(data[: len(data) // 2 + 3]) + gzip.compress(data[len(data) // 2 + 3 :])


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "zstd": zstd_frames,
    "lz4": lz4_java_stream,
    "snappy": xerial_snappy_stream,
    "lzf": lzf_stored_stream,
    "gzip": gzip_members,
}


def make_log(n_lines: int = 4000) -> bytes:
    """An event-log-shaped payload: one JSON event a line, lines of varied length, poorly compressible."""
    rng = random.Random(7)
    lines = [json.dumps({"Event": "SparkListenerLogStart", "Spark Version": "4.0.1"})]
    for task in range(n_lines - 1):
        pad = rng.randbytes(rng.randint(0, 1000)).hex()
        lines.append(json.dumps({"Event": "SparkListenerTaskEnd", "Task ID": task, "Pad": pad}))
    return ("\n".join(lines) + "\n").encode()


LOG = make_log()
LOG_LINES = LOG.split(b"\n")[:-1]


def decode_lines(data: bytes, codec: str) -> list[bytes]:
    with open_decompressed(io.BytesIO(data), codec) as stream:
        return [line for _, line in iter_lines(stream)]


def lines_until_error(path_or_data: Path | bytes, codec: str) -> tuple[list[bytes], EventLogCodecError | None]:
    """Every line delivered before the stream raised, and the error (None if it ended cleanly)."""
    raw = open(path_or_data, "rb") if isinstance(path_or_data, Path) else io.BytesIO(path_or_data)
    lines: list[bytes] = []
    with open_decompressed(raw, codec) as stream:
        try:
            for _, line in iter_lines(stream):
                lines.append(line)
        except EventLogCodecError as exc:
            return lines, exc
    return lines, None


class CountingReader(io.RawIOBase):
    """An unbuffered input that counts how many bytes were taken from it."""

    def __init__(self, data: bytes) -> None:
        self._data, self.consumed = io.BytesIO(data), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        n = self._data.readinto(buffer)
        self.consumed += n
        return n


# ---------- codec_for_name ----------


@pytest.mark.parametrize(
    ("file_name", "codec"),
    [
        ("local-1795476283857.zstd", "zstd"),
        ("app-20231025121456-0004.zst", "zstd"),
        ("app-1.zstd.inprogress", "zstd"),
        ("local-1795476239234.lz4", "lz4"),
        ("local-1.lz4.inprogress", "lz4"),
        ("local-1795476254430.snappy", "snappy"),
        ("local-1795476268849.lzf", "lzf"),
        ("eventlog-2021-06-15--15-00.gz", "gzip"),
        ("databricks.json.gz", "gzip"),
        ("events_1_local-1623876083964.zstd", "zstd"),
        ("/logs/eventlog_v2_app-1/events_2_app-1.lz4", "lz4"),
        ("s3a://bucket/spark-events/local-1.SNAPPY", "snappy"),
        ("local-1795476299058", "none"),
        ("local-1795476407826.inprogress", "none"),
        ("application_1656321732247_0006_1", "none"),
        ("eventlog", "none"),
        ("example_spark_event_log.txt", "none"),
        ("/data/v1.2/local-1", "none"),
        (".gz", "none"),
    ],
)
def test_codec_for_name_reads_the_suffix_spark_gives_each_codec(file_name: str, codec: str) -> None:
    assert codec_for_name(file_name) == codec


def test_every_suffix_maps_to_a_codec_open_decompressed_accepts() -> None:
    assert CODEC_BY_SUFFIX[".zstd"] == CODEC_BY_SUFFIX[".zst"] == "zstd"
    for codec in set(CODEC_BY_SUFFIX.values()):
        assert decode_lines(ENCODERS[codec](b"{}\n"), codec) == [b"{}"]


def test_an_unknown_codec_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="brotli"):
        open_decompressed(io.BytesIO(b""), "brotli")


# ---------- iter_lines ----------


def test_iter_lines_numbers_from_one_strips_newlines_and_keeps_empty_lines() -> None:
    stream = io.BytesIO(b'{"a":1}\r\n{"b":2}\n\n\n{"c":3}')
    assert list(iter_lines(stream)) == [(1, b'{"a":1}'), (2, b'{"b":2}'), (3, b""), (4, b""), (5, b'{"c":3}')]


def test_iter_lines_of_an_empty_stream_yields_nothing() -> None:
    assert list(iter_lines(io.BytesIO(b""))) == []


# ---------- every codec, on inline streams ----------


@pytest.mark.parametrize("codec", COMPRESSED)
def test_multi_block_stream_decodes_to_the_original_lines(codec: str) -> None:
    assert decode_lines(ENCODERS[codec](LOG), codec) == LOG_LINES


@pytest.mark.parametrize("codec", [*COMPRESSED, "none"])
def test_empty_input_decodes_to_no_lines(codec: str) -> None:
    assert decode_lines(b"", codec) == []


@pytest.mark.parametrize("codec", [*COMPRESSED, "none"])
def test_decoding_streams_the_input_instead_of_reading_it_all(codec: str) -> None:
    data = ENCODERS[codec](LOG) if codec != "none" else LOG
    raw = CountingReader(data)
    with open_decompressed(raw, codec) as stream:  # type: ignore[arg-type]
        assert next(iter_lines(stream)) == (1, LOG_LINES[0])
        assert raw.consumed < len(data) // 2
    assert raw.closed


@pytest.mark.parametrize("codec", COMPRESSED)
def test_truncated_stream_yields_a_prefix_of_the_lines_then_raises_truncated(codec: str) -> None:
    data = ENCODERS[codec](LOG)
    lines, error = lines_until_error(data[: len(data) * 2 // 3 + 1], codec)
    assert isinstance(error, TruncatedStreamError)
    assert codec in str(error) and "truncated" in str(error)
    assert 0 < len(lines) < len(LOG_LINES)
    assert lines == LOG_LINES[: len(lines)]


@pytest.mark.parametrize("codec", COMPRESSED)
def test_garbage_input_raises_a_codec_error_naming_the_codec(codec: str) -> None:
    with pytest.raises(EventLogCodecError, match=codec):
        decode_lines(b"this is not compressed, it is plain text\n" * 20, codec)


@pytest.mark.parametrize("codec", COMPRESSED)
def test_lines_decoded_before_corrupt_bytes_reach_the_caller_first(codec: str) -> None:
    lines, error = lines_until_error(ENCODERS[codec](LOG) + b"\xff\xff\xff\xff not a block" * 10, codec)
    assert type(error) is EventLogCodecError and codec in str(error)
    assert lines == LOG_LINES


def test_lz4_stream_cut_at_a_block_boundary_without_end_mark_is_a_clean_end() -> None:
    # what an in-progress log looks like: Spark flushes whole blocks and writes the end mark on close
    assert decode_lines(lz4_java_stream(LOG, end_mark=False), "lz4") == LOG_LINES


def test_lz4_concatenated_streams_and_stored_blocks_decode() -> None:
    data = lz4_java_stream(b"a" * 5000 + b"\n", block_size=1024) + lz4_java_stream(os.urandom(3000), block_size=1024)
    with open_decompressed(io.BytesIO(data), "lz4") as stream:
        decoded = stream.read()
    assert decoded[:5001] == b"a" * 5000 + b"\n" and len(decoded) == 8001


def test_lz4_truncated_block_error_says_offset_and_sizes() -> None:
    block = lz4_java_stream(b'{"Event":"x"}\n' * 1000, end_mark=False)
    clen = struct.unpack_from("<i", block, 9)[0]
    message = f"lz4 block at offset 0 is truncated: expected {clen} compressed bytes, found 17"
    with pytest.raises(TruncatedStreamError, match=message):
        decode_lines(block[: 21 + 17], "lz4")


def test_snappy_java_concatenated_streams_decode() -> None:
    data = xerial_snappy_stream(LOG[:10000]) + xerial_snappy_stream(LOG[10000:])
    assert decode_lines(data, "snappy") == LOG_LINES


def test_snappy_framing_format_is_accepted_too() -> None:
    framed = bytes(cramjam.snappy.compress(LOG))
    assert framed.startswith(b"\xff\x06\x00\x00sNaPpY")
    assert decode_lines(framed, "snappy") == LOG_LINES


def lzf_chunk(lzf_data: bytes, decoded_size: int) -> bytes:
    return b"ZV\x01" + struct.pack(">HH", len(lzf_data), decoded_size) + lzf_data


@pytest.mark.parametrize(
    ("lzf_data", "decoded"),
    [
        (b"\x02abc", b"abc"),  # literal run of ctrl + 1 bytes
        (b"\x03abcd\x20\x03", b"abcdabc"),  # back-reference: length (ctrl >> 5) + 2, distance low byte + 1
        (b"\x02abc\xa0\x02", b"abcabcabca"),  # overlapping back-reference repeats the last bytes
        (b"\x00x\xe0\x0a\x00", b"x" * 20),  # length 7 reads an extra length byte: 7 + 10 + 2
        # a 256-byte copy of the last 32 bytes, then one more literal
        (b"\x00y\x1f" + bytes(range(32)) + b"\xe0\xf7\x1f\x00z", b"y" + bytes(range(32)) * 9 + b"z"),
    ],
)
def test_lzf_decoder_follows_the_liblzf_format(lzf_data: bytes, decoded: bytes) -> None:
    with open_decompressed(io.BytesIO(lzf_chunk(lzf_data, len(decoded))), "lzf") as stream:
        assert stream.read() == decoded


def test_lzf_back_reference_before_the_start_is_a_codec_error() -> None:
    with pytest.raises(EventLogCodecError, match="lzf chunk at offset 0 is corrupt"):
        decode_lines(lzf_chunk(b"\x00a\x20\x05", 4), "lzf")


def test_uncompressed_stream_is_passed_through() -> None:
    raw = io.BytesIO(b"{}\n")
    assert open_decompressed(raw, "none") is raw


# ---------- real files written by Spark ----------


def shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"shared test data {path} is missing (expected the shared/eventlogs folder beside the repo)")
    return path


def generated_log(codec: str) -> Path:
    """The Spark 4.0.1 log written with `codec` (codec "none": the uncompressed, completed one)."""
    if not GENERATED.is_dir():
        pytest.skip(f"shared test data {GENERATED} is missing (expected the shared/eventlogs folder beside the repo)")
    suffix = "" if codec == "none" else f".{codec}"
    matches = [p for p in GENERATED.glob("local-*") if p.suffix == suffix and p.is_file()]
    assert len(matches) == 1, matches
    return matches[0]


def events(lines: list[bytes]) -> list[str]:
    return [json.loads(line)["Event"] for line in lines]


@pytest.mark.parametrize("codec", ["zstd", "lz4", "snappy", "lzf"])
def test_spark_written_log_decodes_to_the_same_events_as_the_uncompressed_log(codec: str) -> None:
    path = generated_log(codec)
    assert codec_for_name(path.name) == codec
    lines, error = lines_until_error(path, codec)
    assert error is None
    # every generated app ran the same job: the event sequence equals that of the plain-text log
    assert events(lines) == events(generated_log("none").read_bytes().splitlines())
    assert events(lines)[0] == "SparkListenerLogStart" and events(lines)[-1] == "SparkListenerApplicationEnd"


@pytest.mark.parametrize("codec", ["zstd", "lz4", "snappy", "lzf"])
def test_truncated_spark_written_log_yields_a_prefix_then_raises_truncated(codec: str, tmp_path: Path) -> None:
    data = generated_log(codec).read_bytes()
    full = decode_lines(data, codec)
    for cut in (len(data) // 2, len(data) - 5):  # mid-stream, and inside the last block / end mark / checksum
        (tmp_path / f"cut.{codec}").write_bytes(data[:cut])
        lines, error = lines_until_error(tmp_path / f"cut.{codec}", codec)
        assert isinstance(error, TruncatedStreamError), (cut, error)
        assert 0 < len(lines) <= len(full) and lines == full[: len(lines)]
        assert len(lines) < len(full) or cut > len(data) // 2


def independent_decode(path: Path, codec: str) -> bytes:
    if codec == "gzip":
        return gzip.decompress(path.read_bytes())
    if shutil.which("zstd"):
        return subprocess.run(["zstd", "-dc", str(path)], check=True, capture_output=True).stdout
    return zstandard.ZstdDecompressor().stream_reader(path.read_bytes(), read_across_frames=True).read()


@pytest.mark.parametrize(
    ("relative", "first_event"),
    [
        ("public/NVIDIA__spark-rapids-tools/event_logs/photon_eventlog.zstd", "SparkListenerLogStart"),
        ("public/NVIDIA__spark-rapids-tools/spark-events-profiling/gpu_oom_eventlog.zstd", "SparkListenerLogStart"),
        ("public/kubeflow__mcp-apache-spark-history-server/application_1713000000000_0001_1.zstd",
         "SparkListenerLogStart"),  # no trailing newline
        ("generated/eventlog_v2_app-20261123232240-0000/events_1_app-20261123232240-0000.zstd",
         "SparkListenerLogStart"),
        ("public/NVIDIA__spark-rapids-tools/spark-events-qualification/db_sim_eventlog/eventlog-2021-06-15--15-00.gz",
         "SparkListenerLogStart"),
        ("public/synccomputingcode__spark_log_parser/databricks.json.gz", "DBCEventLoggingListenerMetadata"),
    ],
)  # fmt: skip
def test_public_log_decodes_to_the_lines_an_independent_decoder_sees(relative: str, first_event: str) -> None:
    path = shared_file(relative)
    codec = codec_for_name(path.name)
    lines, error = lines_until_error(path, codec)
    assert error is None
    assert lines == independent_decode(path, codec).splitlines()
    assert events(lines)[0] == first_event


def test_malformed_json_line_is_delivered_like_any_other_line() -> None:
    path = shared_file("public/NVIDIA__spark-rapids-tools/spark-events-profiling/malformed_json_eventlog.zstd")
    lines, error = lines_until_error(path, "zstd")
    assert error is None and lines == independent_decode(path, "zstd").splitlines()
    bad = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            bad.append(line)
    assert len(bad) == 1


@pytest.mark.parametrize("relative", [
    "public/NVIDIA__spark-rapids-tools/event_logs/photon_eventlog.zstd",
    "public/synccomputingcode__spark_log_parser/databricks.json.gz",
])  # fmt: skip
def test_truncated_public_log_yields_a_prefix_then_raises_truncated(relative: str, tmp_path: Path) -> None:
    path = shared_file(relative)
    codec = codec_for_name(path.name)
    full = independent_decode(path, codec).splitlines()
    cut = tmp_path / path.name
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    lines, error = lines_until_error(cut, codec)
    assert isinstance(error, TruncatedStreamError)
    assert 0 < len(lines) < len(full) and lines == full[: len(lines)]


JAVA_DECODER = """
import java.io.*;
import java.security.MessageDigest;
public class Decode {
  public static void main(String[] args) throws Exception {
    for (int f = 0; f < args.length; f += 2) {
      InputStream in = new BufferedInputStream(new FileInputStream(args[f + 1]));
      switch (args[f]) {
        case "lz4": in = new net.jpountz.lz4.LZ4BlockInputStream(in); break;
        case "snappy": in = new org.xerial.snappy.SnappyInputStream(in); break;
        case "lzf": in = new com.ning.compress.lzf.LZFInputStream(in); break;
        case "zstd": in = new com.github.luben.zstd.ZstdInputStream(in); break;
      }
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
      StringBuilder hex = new StringBuilder();
      for (byte b : sha.digest()) hex.append(String.format("%02x", b));
      System.out.println(hex);
    }
  }
}
"""


@pytest.mark.slow
def test_spark_written_logs_decode_byte_for_byte_like_sparks_own_java_codecs(tmp_path: Path) -> None:
    pyspark = pytest.importorskip("pyspark")
    jars = Path(pyspark.__file__).parent / "jars"
    if not shutil.which("java") or not jars.is_dir():
        pytest.skip("needs a JDK and pyspark's jars to run Spark's own decoders")
    codecs = ["zstd", "lz4", "snappy", "lzf"]
    paths = [generated_log(codec) for codec in codecs]
    (tmp_path / "Decode.java").write_text(JAVA_DECODER)
    args = [str(item) for codec, path in zip(codecs, paths) for item in (codec, path)]
    run = subprocess.run(
        ["java", "-cp", f"{jars}/*", str(tmp_path / "Decode.java"), *args], capture_output=True, text=True
    )
    if run.returncode != 0 and "jdk.compiler" in run.stderr:
        pytest.skip("the java on PATH cannot run a source file (no jdk.compiler module)")
    assert run.returncode == 0, run.stderr
    ours = []
    for codec, path in zip(codecs, paths):
        with open(path, "rb") as raw, open_decompressed(raw, codec) as stream:
            ours.append(hashlib.sha256(stream.read()).hexdigest())
    assert run.stdout.split() == ours
