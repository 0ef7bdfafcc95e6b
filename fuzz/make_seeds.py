#!/usr/bin/env python3
"""Writes the starting seeds of each fuzz target into fuzz/corpus/TARGET/ (seed-*), from the
recorded QEMU traffic in ../shared/corpus and a few hand-made operation sequences. The committed
corpora are these seeds merged with what the fuzzers found, minimised with libFuzzer's -merge=1.

usage: fuzz/make_seeds.py [CORPUS_DIR]
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "shared" / "corpus"
MAX_STREAM = 4096  # bytes of a recorded stream kept in a seed, cut at a line end


def head(data: bytes) -> bytes:
    if len(data) <= MAX_STREAM:
        return data
    return data[: data.rfind(b"\n", 0, MAX_STREAM) + 1]


def write(target: str, name: str, data: bytes) -> None:
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def main() -> None:
    for s2c in sorted((CORPUS / "qmp").glob("*.s2c")):
        stream = head(s2c.read_bytes())
        # json_framer: pieces of 8, 1 and 41 bytes; default limits; then with the reset byte.
        write("json_framer", s2c.stem, bytes([3, 7, 0, 40, 0]) + stream)
        write("json_framer", s2c.stem + "-ff", bytes([1, 20, 4]) + stream.replace(b"\r\n", b"\n\xff", 2))
        # qmp_client_stream: execute before each of three pieces (64 bytes, 1025 bytes, the rest).
        write("qmp_client_stream", s2c.stem, bytes([0, 3, 0x3F, 0x03, 0x90, 0x13, 0xFF, 0x03]) + stream)
        # The same, also checking that pieces of 1, 7 and 200 bytes give what the whole gives.
        write("qmp_client_stream", s2c.stem + "-split", bytes([0x80, 3, 0x00, 0x03, 0x06, 0x13, 0x83, 0x03]) + stream)
    for c2s in sorted((CORPUS / "qmp").glob("*.c2s")):
        # qmp_server: one 256-byte piece per step, answering every command after it.
        write("qmp_server", c2s.stem, bytes([0, 1, 0xFF, 0x04]) + head(c2s.read_bytes()))
        write("qmp_server", c2s.stem + "-pretty", bytes([1, 2, 0x10, 0x01, 0x03, 0x14]) + head(c2s.read_bytes()))

    # qmp_client_ops: execute, greeting, write, caps reply, reply to the oldest, event, drain.
    write("qmp_client_ops", "handshake", bytes([0, 0, 0, 0, 3, 0, 0, 9, 3, 2, 0, 3, 3, 0, 3, 6, 0, 11]))
    write("qmp_client_ops", "timeouts",
          bytes([0x40, 0, 0x04, 1, 0, 0x02, 0, 3, 0, 0, 9, 3, 2, 0, 7, 11, 6, 0, 200, 11, 10, 11]))
    write("qmp_client_ops", "oob", bytes([0, 3, 0, 0, 3, 2, 0, 0, 1, 3, 9, 3, 3, 1, 8, 5, 11]))
    # qtest_client: readl, readb, endianness, then their replies, an IRQ, EOF.
    write("qtest_client", "basic", bytes([0, 0, 1, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 8,
                                          3, 1, 3, 2, 3, 9, 7, 3, 5, 10, 4, 10]))
    for s2c in sorted((CORPUS / "qtest").glob("*.s2c")):
        ops = bytearray([0])
        for _ in range(6):
            ops += bytes([0, 13, 0, 0, 4]) + b"ping"  # raw commands so replies have someone to match
        stream = head(s2c.read_bytes())
        for i in range(0, len(stream), 64):
            piece = stream[i : i + 64]
            ops += bytes([2, len(piece)]) + piece
        write("qtest_client", s2c.stem, bytes(ops + bytes([10])))
    # qga_client: sync, its reply, execute, a reply, a stale 0xFF, resync.
    write("qga_client", "sync", bytes([0, 0, 0, 9, 4, 0, 0, 1, 0, 9, 4, 2, 0, 11, 4, 6, 0, 0, 5, 4, 0, 0, 11]))
    write("qga_client", "timeouts", bytes([0x60, 0, 3, 1, 0x20, 9, 6, 0x01, 0x40, 11, 0, 4, 4, 0, 0, 7, 11]))


main()
