#!/usr/bin/env python3
"""plasma_numpy.py - examples/plasma.sky written with numpy, for bench_runtime.

The same formula as the pattern (and as bench_runtime's C loop), vectorised
over all LEDs in float32, writing RGB8 bytes into a numpy.memmap of a file:
what a Python user would write instead of a .sky pattern. bench_runtime runs
this as a subprocess with the LED positions it uses itself and reads back one
line: `ms_per_frame <float> frames <int>`.

usage: plasma_numpy.py POSITIONS OUT FRAMES
  POSITIONS  raw little-endian float32 (x, y) pairs, one per LED
  OUT        output file (created, LEDs * 3 bytes, memory-mapped)
  FRAMES     frames to time (after 2 warm-up frames)
"""
import sys
import time

import numpy as np


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    xy = np.fromfile(argv[1], dtype="<f4").reshape(-1, 2)
    frames = int(argv[3])
    n = xy.shape[0]
    x = xy[:, 0].copy()
    y = xy[:, 1].copy()
    # r is computed in double and rounded once, as sky_led_inputs_build does.
    r = np.sqrt(x.astype(np.float64) ** 2 + y.astype(np.float64) ** 2).astype(np.float32)
    out = np.memmap(argv[2], dtype=np.uint8, mode="w+", shape=(n, 3))
    speed, scale = np.float32(1.0), np.float32(4.0)
    offsets = np.array([1.0, 2.0 / 3.0, 1.0 / 3.0], dtype=np.float32)
    xs, ys, rs, xys = x * scale, y * scale, r * scale * np.float32(2), (x + y) * scale * np.float32(0.7)

    def frame(t):
        tt = np.float32(t * speed)
        v = np.sin(xs + tt)
        v += np.sin(ys - tt * np.float32(1.3))
        v += np.sin(xys + tt * np.float32(0.7))
        v += np.sin(rs - tt * np.float32(2))
        h = v / np.float32(8) + tt * np.float32(0.05)
        val = np.clip(np.float32(0.6) + np.float32(0.4) * np.sin(v * np.float32(np.pi)), 0, 1)
        q = h[:, None] + offsets[None, :]
        q -= np.floor(q)
        c = np.clip(np.abs(q * np.float32(6) - np.float32(3)) - np.float32(1), 0, 1)
        c *= val[:, None]
        out[:] = np.floor(np.clip(c, 0, 1) * np.float32(255) + np.float32(0.5))

    for f in range(2):
        frame(f / 60.0)
    start = time.perf_counter()
    for f in range(frames):
        frame((f + 2) / 60.0)
    elapsed = time.perf_counter() - start
    out.flush()
    print("ms_per_frame %.4f frames %d" % (elapsed * 1e3 / frames, frames))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
