#!/usr/bin/env python3
"""test_read_frame.py - examples/python/read_frame.py against files written by
the C writer (tests/frame/frame_testwriter): the pixels match the C pattern
(frame_test_util.h), live frames read while the writer publishes are never
torn, liveness and replacement are seen, bad headers are rejected naming the
field, headers beyond the format's limits are rejected, and the command line
prints and dumps a frame.

usage: test_read_frame.py WRITER_BINARY MODULE_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

WRITER, MODULE_DIR = sys.argv[1], sys.argv[2]
sys.path.insert(0, MODULE_DIR)
import read_frame  # noqa: E402

MASK = (1 << 64) - 1


def mix(x):
    """splitmix64, as ft_mix in frame_test_util.h."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def expected(frame, leds):
    j = np.arange(leds * 3, dtype=np.uint64)
    m = np.uint64(mix(frame))
    b = (m >> ((j & np.uint64(7)) * np.uint64(8))) ^ (j * np.uint64(31))
    return (b & np.uint64(0xFF)).astype(np.uint8).reshape(leds, 3)


def run_writer(path, leds, strips, frames, seconds=0):
    out = subprocess.run([WRITER, path, str(leds), str(strips), str(frames), str(seconds)],
                         check=True, capture_output=True, text=True)
    assert out.stdout.startswith("ready"), out.stdout


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def test_newest_frame(tmp):
    path = os.path.join(tmp, "frames")
    run_writer(path, 1000, 3, 5)
    f, px = read_frame.read_newest(path)
    check(f == 5, f"frame {f}, expected 5")
    check(px.shape == (1000, 3) and px.dtype == np.uint8, f"shape {px.shape} {px.dtype}")
    check(np.array_equal(px, expected(5, 1000)), "pixels differ from the C writer's")
    with read_frame.FrameFile(path) as ff:
        check(ff.info["led_count"] == 1000 and ff.info["strip_count"] == 3, str(ff.info))
        check(ff.info["layout"] == "strip:test", ff.info["layout"])
        check(ff.strips.tolist() == [334, 333, 333], str(ff.strips))
        check(abs(ff.positions[0, 0] + 1) < 1e-6 and abs(ff.positions[-1, 0] - 1) < 1e-6,
              "positions")
        # version 2: x, y, z per LED; the writer's z runs 0.5, 0, -0.5 (frame_test_util.h)
        check(ff.info["version"] == 2 and ff.positions.shape == (1000, 3), str(ff.positions.shape))
        check(ff.positions[:4, 2].tolist() == [0.5, 0.0, -0.5, 0.5], str(ff.positions[:4]))
        check(ff.writer_state() == "dead", "the writer exited: its lock is free")
        got = ff.read()
        check(got is not None and got[0] == 5, "read")
        check(ff.read() is None, "nothing new after the newest frame")
    # the same with pread only (no mapping)
    f2, px2 = read_frame.read_newest(path, use_pread=True)
    check(f2 == 5 and np.array_equal(px2, px), "pread reader")
    print("newest frame: ok")


def test_live_writer(tmp):
    path = os.path.join(tmp, "live")
    proc = subprocess.Popen([WRITER, path, "20000", "4", "1", "3"], stdout=subprocess.PIPE,
                            text=True)
    try:
        check(proc.stdout.readline().strip() == "ready", "writer did not start")
        with read_frame.FrameFile(path) as ff:
            check(ff.writer_state(timeout=5.0) == "alive", "live writer")
            seen = []
            for _ in range(60):
                got = ff.wait(2.0)
                check(got is not None, "no new frame from the live writer")
                f, px = got
                check(np.array_equal(px, expected(f, 20000)), f"frame {f} torn or wrong")
                check(not seen or f > seen[-1], "frame numbers must increase")
                seen.append(f)
            check(ff.dropped == seen[-1] - seen[0] + 1 - len(seen), "dropped count")
            print(f"live: read {len(seen)} frames {seen[0]}..{seen[-1]}, "
                  f"{ff.dropped} dropped, {ff.retries} retried")
            # restart: a new writer renames a new file over the path
            proc.kill()
            proc.wait()
            check(ff.writer_state() == "dead", "killed writer must be dead")
            run_writer(path, 500, 1, 2)
            check(ff.replaced(), "restart not noticed")
        f, px = read_frame.read_newest(path)
        check(f == 2 and np.array_equal(px, expected(2, 500)), "re-attached reader")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print("live writer, liveness and restart: ok")


def test_bad_headers(tmp):
    path = os.path.join(tmp, "frames")
    run_writer(path, 100, 1, 1)
    good = open(path, "rb").read()
    bad = os.path.join(tmp, "bad")
    cases = [(8, (3).to_bytes(4, "little"), "version"),
             (24, (4).to_bytes(4, "little"), "channels"),
             (28, (2).to_bytes(4, "little"), "slot_count"),
             (32, (4097).to_bytes(8, "little"), "slot_stride"),
             (72, (1).to_bytes(8, "little"), "file_bytes"),
             (92, (1).to_bytes(4, "little"), "flags"),
             (200, b"\x01", "reserved")]
    for offset, value, field in cases:
        data = bytearray(good)
        data[offset:offset + len(value)] = value
        with open(bad, "wb") as f:
            f.write(data)
        try:
            read_frame.read_newest(bad)
        except read_frame.FrameFormatError as e:
            check(field in str(e), f"{field}: message {e}")
        else:
            raise AssertionError(f"{field}: corrupt header accepted")
    with open(bad, "wb") as f:
        f.write(good[:5000])
    try:
        read_frame.read_newest(bad)
        raise AssertionError("truncated file accepted")
    except read_frame.FrameFormatError as e:
        check("truncated" in str(e), str(e))
    print("bad headers: ok")


def header_for(leds, strips, slots, stride=None, slots_offset=None, version=2):
    """A consistent header (the writer's layout unless stride or slots_offset
    is given) and the file size it claims."""
    seq, strips_at = 256, 256 + 64 * slots
    positions = (strips_at + 4 * strips + 7) // 8 * 8
    per_led = 12 if version >= 2 else 8
    slots_offset = slots_offset or (positions + per_led * leds + 4095) // 4096 * 4096
    stride = stride or (max(1, (leds + 3) // 4 * 12) + 4095) // 4096 * 4096
    file_bytes = slots_offset + slots * stride
    raw = read_frame._HEADER.pack(b"SKYFRAME", version, 256, leds, strips, 3, slots, stride,
                                  slots_offset, strips_at, positions, seq, file_bytes,
                                  os.getpid(), 0, 0, b"")
    return raw + bytes(256 - len(raw)), file_bytes


def test_limits():
    raw, size = header_for(4, 4, 3)
    read_frame.validate_header(raw, size)  # the writer's layout passes
    raw, size = header_for(4, 4, 3, version=1)
    read_frame.validate_header(raw, size)  # version 1: x, y only, still read
    cases = [((1 << 24) + 4, 1, 3, None, None, "led_count = 16777220, at most 16777216"),
             (100_000_000, 1, 3, None, None, "led_count = 100000000"),
             (4, 5, 3, None, None, "strip_count = 5, at most led_count = 4"),
             (4, 1, 3, 8192, None, "slot_stride = 8192, at most 4096"),
             (4, 1, 3, None, 1 << 30, "slots_offset = 1073741824, at most 4096")]
    for leds, strips, slots, stride, slots_offset, expect in cases:
        raw, size = header_for(leds, strips, slots, stride, slots_offset)
        try:
            read_frame.validate_header(raw, size, "limits")
        except read_frame.FrameFormatError as e:
            check(expect in str(e), f"expected {expect!r} in {e}")
        else:
            raise AssertionError(f"accepted beyond the limits: {expect}")
    print("limits: ok")


def test_not_regular_files(tmp):
    """A FIFO (or a directory) at the path is refused at once. The open runs in
    a child with a generous watchdog, so a reader blocked in open() fails the
    test instead of hanging it."""
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    script = os.path.join(MODULE_DIR, "read_frame.py")
    for path, kind in ((fifo, "a FIFO"), (tmp, "a directory")):
        try:
            out = subprocess.run([sys.executable, script, path], capture_output=True, text=True,
                                 timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"read_frame.py blocked opening {kind} for 60 s")
        check(out.returncode == 1 and f"is {kind}, not a regular file" in out.stderr,
              f"{kind}: status {out.returncode}, {out.stderr}")
    os.unlink(fifo)
    print("not regular files: ok")


def test_future_heartbeat(tmp):
    """A hung writer whose heartbeat is in the future (another time namespace)
    is stale once the heartbeat stops advancing, not alive forever."""
    path = os.path.join(tmp, "future")
    proc = subprocess.Popen([WRITER, path, "100", "1", "1", "600"], stdout=subprocess.PIPE,
                            text=True)
    try:
        check(proc.stdout.readline().strip() == "ready", "writer did not start")
        proc.send_signal(signal.SIGSTOP)  # holds its lock, beats no more
        os.waitpid(proc.pid, os.WUNTRACED)
        ahead = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 3600 * 10**9
        fd = os.open(path, os.O_RDWR)
        os.pwrite(fd, ahead.to_bytes(8, "little"), 136)
        os.close(fd)
        with read_frame.FrameFile(path) as ff:
            check(ff.writer_state(timeout=0.05) == "alive", "first look")
            end = time.monotonic() + 0.2
            while time.monotonic() < end:
                time.sleep(0.01)
            check(ff.writer_state(timeout=0.05) == "stale", "a future heartbeat that stopped")
    finally:
        proc.kill()
        proc.wait()
    print("future heartbeat: ok")


def test_pread_truncated(tmp):
    """--pread on a file truncated under the reader: an error, not a traceback."""
    path = os.path.join(tmp, "shrinks")
    run_writer(path, 100, 1, 3)
    for keep in (100, 5000):  # inside the header page; inside the slots
        with read_frame.FrameFile(path, use_pread=True) as ff:
            os.truncate(path, keep)
            try:
                ff.read()
                ff.writer_state()
            except read_frame.FrameFormatError as e:
                check("shrank" in str(e) or "truncated" in str(e), str(e))
            else:
                raise AssertionError(f"a file truncated to {keep} bytes was read")
        run_writer(path, 100, 1, 3)
    print("pread on a truncated file: ok")


def test_command_line(tmp):
    path = os.path.join(tmp, "frames")
    run_writer(path, 64, 2, 9)
    npy = os.path.join(tmp, "frame.npy")
    script = os.path.join(MODULE_DIR, "read_frame.py")
    out = subprocess.run([sys.executable, script, path, "--dump", npy], capture_output=True,
                         text=True)
    check(out.returncode == 0, out.stderr)
    check("frame 9" in out.stdout and "64 LEDs" in out.stdout, out.stdout)
    check(np.array_equal(np.load(npy), expected(9, 64)), "dumped frame")
    out = subprocess.run([sys.executable, script, os.path.join(tmp, "missing")],
                         capture_output=True, text=True)
    check(out.returncode == 1 and "missing" in out.stderr, out.stderr)
    # nothing new within --wait: status 2
    out = subprocess.run([sys.executable, script, path, "--frames", "2", "--wait", "0.05"],
                         capture_output=True, text=True)
    check(out.returncode == 0, out.stderr)  # one frame read, the second never came: still ok
    print("command line: ok")


def main():
    tmp = tempfile.mkdtemp(prefix="skyframe-py-",
                           dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    try:
        test_newest_frame(tmp)
        test_live_writer(tmp)
        test_bad_headers(tmp)
        test_limits()
        test_not_regular_files(tmp)
        test_future_heartbeat(tmp)
        test_pread_truncated(tmp)
        test_command_line(tmp)
    finally:
        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
