#!/usr/bin/env python3
"""read_frame.py - read the newest frame from a Skyscreen frame file.

The runtime publishes frames into a memory-mapped file (default
/dev/shm/skyscreen, format in the frame file spec, docs/frame-format.md).
This module reads it from Python with numpy.memmap(mode="r"), following the
same protocol as the C reader:

  * validate every header field against the file's size (read with os.pread,
    which never faults) before mapping anything;
  * load the newest frame number f, check its slot's sequence word is 2f,
    copy the pixels, check the sequence word again: if it changed the writer
    lapped the copy, so the copy is discarded and the newest frame is tried
    again;
  * count dropped frames (gaps in the frame numbers of successive reads);
  * tell a dead writer (its exclusive flock is free) from a stale one (lock
    held, heartbeat older than a timeout), and notice a restarted writer (the
    path names a new inode).

Python cannot issue memory fences: on x86-64 (TSO) the loads above are
ordered anyway; on ARM the re-check still catches a lapped copy in practice
because the slot read is never the one being written: with 4 slots the
writer comes back to the newest frame's slot only 3 frame periods later,
far longer than copying a frame (311,040 bytes on the 103,680-LED disc) takes. Python cannot catch
SIGBUS either: if something truncates the file under a mapping, the process
dies. The writer never truncates a live file; for extra safety pass
use_pread=True, which reads everything with os.pread and maps nothing.

As a module:
    from read_frame import FrameFile, read_newest
    frame_no, pixels = read_newest()          # pixels: uint8 (led_count, 3)
    with FrameFile("/dev/shm/skyscreen") as ff:
        got = ff.read()                       # None when nothing new
        print(ff.info["layout"], ff.writer_state(timeout=0.5), ff.dropped)

As a command:
    read_frame.py [PATH] [--wait S] [--dump OUT.npy] [--frames N] [--pread]
prints the header, the writer's state and a summary of the newest frame;
--dump saves it as a (led_count, 3) uint8 .npy; --frames N reads N new
frames and reports dropped frames and retries. Exit status: 0 ok, 1 error,
2 no frame within --wait.
"""

import argparse
import errno
import fcntl
import os
import stat
import struct
import sys
import time

import numpy as np

DEFAULT_PATH = "/dev/shm/skyscreen"
MAGIC = b"SKYFRAME"
VERSION = 2          # what writers write
VERSION_OLDEST = 1   # the oldest this reader reads: version 1 has no z
HEADER_BYTES = 256
PAGE = 4096
SEQ_STRIDE = 64
MIN_SLOTS, MAX_SLOTS = 3, 256
MAX_LEDS = 1 << 24  # the format's limits (docs/frame-format.md, "Limits")
ALIGN_SLACK = 128
OFF_FRAME, OFF_HEARTBEAT = 128, 136
MAX_ATTEMPTS = 10000

# magic, version, header_bytes, led_count, strip_count, channels, slot_count,
# slot_stride, slots_offset, strips_offset, positions_offset, seq_offset,
# file_bytes, writer_pid, fps_nominal, flags, layout  (bytes 0..127)
_HEADER = struct.Struct("<8s6I7Q2I32s")
_FIELDS = ("magic", "version", "header_bytes", "led_count", "strip_count", "channels",
           "slot_count", "slot_stride", "slots_offset", "strips_offset", "positions_offset",
           "seq_offset", "file_bytes", "writer_pid", "fps_nominal", "flags", "layout")


class FrameFormatError(ValueError):
    """The file is not a valid frame file; the message names the field."""


def _fail(path, message):
    raise FrameFormatError(f"{path}: {message}")


def _check_region(path, h, field, count_field, entry, align):
    begin, count = h[field], h[count_field]
    if begin % align:
        _fail(path, f"header field {field} = {begin} is not a multiple of {align}")
    if begin < h["header_bytes"]:
        _fail(path, f"header field {field} = {begin} points into the {HEADER_BYTES}-byte header")
    end = begin + count * entry
    if end > h["slots_offset"]:
        _fail(path, f"header field {field} = {begin} with {count_field} = {count} "
                    f"({count * entry} bytes) runs past slots_offset = {h['slots_offset']}")
    return (field, begin, end)


def slot_stride_for(led_count):
    """The writer's slot stride: whole groups of 4 LEDs, page-rounded."""
    groups_bytes = max(1, (led_count + 3) // 4 * 12)
    return (groups_bytes + PAGE - 1) // PAGE * PAGE


def position_bytes(version):
    """Bytes per LED in the positions table: x, y in version 1; x, y, z since 2."""
    return 12 if version >= 2 else 8


def _check_limits(path, h):
    """The writer's limits, checked before anything is read for the file."""
    leds, strips, slots = h["led_count"], h["strip_count"], h["slot_count"]
    if leds > MAX_LEDS:
        _fail(path, f"header field led_count = {leds}, at most {MAX_LEDS} are allowed")
    if strips > leds:
        _fail(path, f"header field strip_count = {strips}, at most led_count = {leds} are allowed")
    if h["slot_stride"] > slot_stride_for(leds):
        _fail(path, f"header field slot_stride = {h['slot_stride']}, at most "
                    f"{slot_stride_for(leds)} for led_count = {leds}")
    tables = (HEADER_BYTES + SEQ_STRIDE * slots + 4 * strips + position_bytes(h["version"]) * leds
              + ALIGN_SLACK)
    slots_max = (tables + PAGE - 1) // PAGE * PAGE
    if h["slots_offset"] > slots_max:
        _fail(path, f"header field slots_offset = {h['slots_offset']}, at most {slots_max} for "
                    f"these tables")


def validate_header(raw, file_size, path="<frame file>"):
    """Decodes and checks the 256-byte header; returns a dict of its fields."""
    if file_size < HEADER_BYTES or len(raw) < HEADER_BYTES:
        _fail(path, f"the file has {file_size} bytes, less than the {HEADER_BYTES}-byte header")
    h = dict(zip(_FIELDS, _HEADER.unpack_from(raw, 0)))
    if h["magic"] != MAGIC:
        _fail(path, f"header field magic is {h['magic']!r}, not {MAGIC!r}")
    if not VERSION_OLDEST <= h["version"] <= VERSION:
        _fail(path, f"header field version = {h['version']}, this reader reads versions "
                    f"{VERSION_OLDEST} to {VERSION}")
    if h["header_bytes"] != HEADER_BYTES:
        _fail(path, f"header field header_bytes = {h['header_bytes']}, must be {HEADER_BYTES}")
    if h["led_count"] == 0:
        _fail(path, "header field led_count = 0, a frame needs an LED")
    if h["strip_count"] == 0:
        _fail(path, "header field strip_count = 0, must be at least 1")
    if h["channels"] != 3:
        _fail(path, f"header field channels = {h['channels']}, must be 3 (R, G, B)")
    if not MIN_SLOTS <= h["slot_count"] <= MAX_SLOTS:
        _fail(path, f"header field slot_count = {h['slot_count']}, must be in "
                    f"{MIN_SLOTS}..{MAX_SLOTS}")
    _check_limits(path, h)
    stride, frame_bytes = h["slot_stride"], h["led_count"] * 3
    if stride == 0 or stride % PAGE or stride < frame_bytes:
        _fail(path, f"header field slot_stride = {stride}, must be a non-zero multiple of {PAGE} "
                    f"and at least led_count * 3 = {frame_bytes}")
    if h["slots_offset"] == 0 or h["slots_offset"] % PAGE:
        _fail(path, f"header field slots_offset = {h['slots_offset']}, must be a non-zero "
                    f"multiple of {PAGE}")
    end = h["slots_offset"] + h["slot_count"] * stride  # Python ints: no overflow
    if end >= 1 << 64:
        _fail(path, "header fields slots_offset + slot_count * slot_stride overflow 64 bits")
    if h["file_bytes"] != end:
        _fail(path, f"header field file_bytes = {h['file_bytes']}, but slots_offset + "
                    f"slot_count * slot_stride = {end}")
    if h["file_bytes"] > file_size:
        _fail(path, f"header field file_bytes = {h['file_bytes']}, but the file has only "
                    f"{file_size} bytes (truncated?)")
    regions = [_check_region(path, h, "strips_offset", "strip_count", 4, 4),
               _check_region(path, h, "positions_offset", "led_count",
                             position_bytes(h["version"]), 4),
               _check_region(path, h, "seq_offset", "slot_count", SEQ_STRIDE, 8)]
    for i in range(3):
        for j in range(i + 1, 3):
            (fi, bi, ei), (fj, bj, ej) = regions[i], regions[j]
            if bi < ej and bj < ei:
                _fail(path, f"header field {fj}: bytes {bj}..{ej} overlap {fi} bytes {bi}..{ei}")
    if not 0 < h["writer_pid"] <= 0x7FFFFFFF:
        _fail(path, f"header field writer_pid = {h['writer_pid']} is not a process id")
    if h["flags"] != 0:
        _fail(path, f"header field flags = {h['flags']:#x}, must be 0 in version {h['version']}")
    name, _, pad = h["layout"].partition(b"\0")
    if pad.strip(b"\0"):
        _fail(path, "header field layout is not NUL-padded")
    h["layout"] = name.decode("utf-8", "replace")
    if any(raw[144:HEADER_BYTES]):
        _fail(path, "header field reserved: bytes 144..255 must be 0")
    del h["magic"]
    return h


def _pread_all(fd, n, offset, path, what):
    data = b""
    while len(data) < n:
        chunk = os.pread(fd, n - len(data), offset + len(data))
        if not chunk:
            _fail(path, f"the file ended while reading the {what} (truncated, or it shrank "
                        f"under the reader: reopen it)")
        data += chunk
    return data


def _open_regular(path):
    """Opens without blocking or following a symbolic link, and only a regular
    file: anyone can put a FIFO in /dev/shm, and open() of a FIFO blocks."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
                     | os.O_NOCTTY)
    except OSError as e:
        if e.errno == errno.ELOOP:
            _fail(path, "is a symbolic link: a frame writer never makes one, so it is not "
                        "followed")
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device")
        _fail(path, f"is {kind}, not a regular file: a frame file is always a regular file")
    return os.fdopen(fd, "rb")


class FrameFile:
    """A reader attached to one frame file (one inode); see the module doc."""

    def __init__(self, path=DEFAULT_PATH, use_pread=False):
        self.path = path
        self.use_pread = use_pread
        self.last = 0
        self.dropped = 0
        self.retries = 0
        self._beat_seen = None  # (heartbeat, when first seen with that value)
        self._file = _open_regular(path)
        try:
            self._attach()
        except BaseException:
            self._file.close()
            raise

    def _attach(self):
        fd = self._file.fileno()
        st = os.fstat(fd)
        self._ident = (st.st_dev, st.st_ino)
        raw = os.pread(fd, HEADER_BYTES, 0) if st.st_size >= HEADER_BYTES else b""
        h = validate_header(raw, st.st_size, self.path)
        self.info = h
        strips = _pread_all(fd, 4 * h["strip_count"], h["strips_offset"], self.path,
                            "strip table")
        self.strips = np.frombuffer(strips, dtype="<u4").copy()
        if int(self.strips.sum(dtype=np.uint64)) != h["led_count"]:
            _fail(self.path, f"the strip table sums to {int(self.strips.sum(dtype=np.uint64))} "
                             f"LEDs, but led_count = {h['led_count']}")
        per_led = position_bytes(h["version"]) // 4  # floats: x, y (version 1) or x, y, z
        pos = _pread_all(fd, 4 * per_led * h["led_count"], h["positions_offset"], self.path,
                         "positions")
        # Always (led_count, 3): x, y, z; z = 0 in a version 1 file.
        self.positions = np.zeros((h["led_count"], 3), dtype=np.float32)
        self.positions[:, :per_led] = np.frombuffer(pos, dtype="<f4").reshape(h["led_count"],
                                                                             per_led)
        bad = ~(np.isfinite(self.positions).all(axis=1) & (np.abs(self.positions) <= 1).all(axis=1))
        if bad.any():
            i = int(np.argmax(bad))
            _fail(self.path, f"positions: LED {i} is at {tuple(self.positions[i])}, outside [-1, 1]")
        self._frame_bytes = h["led_count"] * 3
        self._mm = None
        if not self.use_pread:
            # The mapping is read-only; numpy.memmap never grows a file in mode "r".
            self._mm = np.memmap(self._file, dtype=np.uint8, mode="r", shape=(h["file_bytes"],))
            self._words = self._mm[:h["slots_offset"]].view("<u8")

    # -- words of the header page
    def _word(self, offset):
        if self._mm is None:
            data = os.pread(self._file.fileno(), 8, offset)
            if len(data) < 8:
                _fail(self.path, f"the file shrank under the reader: it ends before byte "
                                 f"{offset + 8}; reopen it to recover")
            return struct.unpack("<Q", data)[0]
        return int(self._words[offset // 8])

    def _copy_slot(self, slot):
        start = self.info["slots_offset"] + slot * self.info["slot_stride"]
        if self._mm is None:
            data = _pread_all(self._file.fileno(), self._frame_bytes, start, self.path, "slot")
            return np.frombuffer(data, dtype=np.uint8).copy()
        return np.array(self._mm[start:start + self._frame_bytes])

    def newest_frame(self):
        """The number of the newest complete frame (0: none yet)."""
        return self._word(OFF_FRAME)

    def read(self):
        """Copies the newest frame if it is newer than the last one read.

        Returns (frame_no, pixels) with pixels a uint8 array (led_count, 3),
        or None when nothing new was published (or the writer kept lapping
        the copy MAX_ATTEMPTS times in a row)."""
        slots, seq_offset = self.info["slot_count"], self.info["seq_offset"]
        for _ in range(MAX_ATTEMPTS):
            f = self._word(OFF_FRAME)
            if f == 0 or f == self.last:
                return None
            if f < self.last:
                _fail(self.path, f"the newest frame went back from {self.last} to {f}; reopen")
            k = f % slots
            s1 = self._word(seq_offset + k * SEQ_STRIDE)
            if s1 != 2 * f:  # overwritten by a newer frame (or a torn load): take the newest
                self.retries += 1
                continue
            pixels = self._copy_slot(k)
            s2 = self._word(seq_offset + k * SEQ_STRIDE)
            if s2 != s1:  # torn: the writer lapped the copy
                self.retries += 1
                continue
            if self.last:
                self.dropped += f - self.last - 1
            self.last = f
            return f, pixels.reshape(self.info["led_count"], 3)
        return None

    def wait(self, timeout=1.0, poll=0.001):
        """Like read(), but waits up to `timeout` seconds for a new frame."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.read()
            if got is not None or time.monotonic() >= deadline:
                return got
            time.sleep(poll)

    def writer_state(self, timeout=1.0):
        """'alive', 'stale' (lock held, heartbeat older than timeout s or not
        changed for timeout s since first seen) or 'dead'."""
        fd = self._file.fileno()
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            beat = self._word(OFF_HEARTBEAT)
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            if self._beat_seen is None or beat != self._beat_seen[0]:
                self._beat_seen = (beat, now)
            # A heartbeat in the future has no age, but one that does not
            # advance is stale all the same (the spec's stale rule).
            age, still = max(0, now - beat), now - self._beat_seen[1]
            return "stale" if max(age, still) > timeout * 1e9 else "alive"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return "dead"

    def replaced(self):
        """True when the path now names another file (the writer restarted)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) != self._ident

    def close(self):
        self._words = None
        self._mm = None  # numpy unmaps when the last view goes away
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_newest(path=DEFAULT_PATH, timeout=0.0, use_pread=False):
    """(frame_no, uint8 array (led_count, 3)) of the newest frame.

    Waits up to `timeout` seconds for a first frame; raises TimeoutError if
    none was published, FrameFormatError if the file is invalid."""
    with FrameFile(path, use_pread=use_pread) as ff:
        got = ff.wait(timeout) if timeout > 0 else ff.read()
        if got is None:
            raise TimeoutError(f"{path}: no frame published yet")
        return got


def _summary(ff, frame_no, pixels):
    h = ff.info
    print(f"{ff.path}: layout {h['layout'] or '(none)'}, {h['led_count']} LEDs in "
          f"{h['strip_count']} strips, {h['slot_count']} slots of {h['slot_stride']} bytes, "
          f"writer pid {h['writer_pid']} ({ff.writer_state()}), fps {h['fps_nominal'] or 'unpaced'}")
    mean = pixels.reshape(-1, 3).mean(axis=0)
    lit = int(np.count_nonzero(pixels.any(axis=1)))
    print(f"frame {frame_no}: mean RGB ({mean[0]:.1f}, {mean[1]:.1f}, {mean[2]:.1f}), "
          f"{lit} LEDs lit, first LEDs {pixels[:4].tolist()}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Read the newest frame of a Skyscreen frame file.")
    ap.add_argument("path", nargs="?", default=DEFAULT_PATH)
    ap.add_argument("--wait", type=float, default=1.0, help="seconds to wait for a frame")
    ap.add_argument("--dump", metavar="OUT.npy", help="save the frame as a (led_count, 3) array")
    ap.add_argument("--frames", type=int, default=1, help="read this many new frames")
    ap.add_argument("--pread", action="store_true", help="read with os.pread, map nothing")
    args = ap.parse_args(argv)
    try:
        with FrameFile(args.path, use_pread=args.pread) as ff:
            got = None
            for _ in range(max(1, args.frames)):
                nxt = ff.wait(args.wait)
                if nxt is None:
                    break
                got = nxt
            if got is None:
                print(f"{args.path}: no new frame within {args.wait} s "
                      f"(writer {ff.writer_state()})", file=sys.stderr)
                return 2
            _summary(ff, *got)
            if args.frames > 1:
                print(f"read up to frame {ff.last}: {ff.dropped} dropped, {ff.retries} retried")
            if args.dump:
                np.save(args.dump, got[1])
                print(f"saved frame {got[0]} to {args.dump}")
    except (OSError, FrameFormatError) as e:
        print(f"read_frame: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
