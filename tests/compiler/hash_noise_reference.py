#!/usr/bin/env python3
# hash_noise_reference.py - the stand-alone reference that produced the expected
# values of test_hash_noise.c, written from the spec text (docs/language.md,
# "Pattern helpers") and the op semantics (compiler/kernels.h), independently of
# the C kernels. Not run by the tests; rerun it to re-derive the constants:
#   python3 tests/compiler/hash_noise_reference.py
#
# float32 arithmetic: every operation is done in double and rounded to float32
# with struct, which is exactly IEEE float32 for + - * of float32 operands.
import math
import struct

M32 = 0xFFFFFFFF


def f32(x):
    return struct.unpack('<f', struct.pack('<f', float(x)))[0]


def bits(f):
    f = f32(f)
    return 0 if f == 0 else struct.unpack('<I', struct.pack('<f', f))[0]


def pcg(v):
    s = (v * 747796405 + 2891336453) & M32
    w = (((s >> ((s >> 28) + 4)) ^ s) * 277803737) & M32
    return ((w >> 22) ^ w) & M32


def hash1(a):
    return pcg(bits(a))


def hash2(a, b):
    return pcg((pcg(bits(a)) + bits(b)) & M32)


def hash3(a, b, c):
    return pcg((pcg((pcg(bits(a)) + bits(b)) & M32) + bits(c)) & M32)


def unit(h):
    return f32((h >> 8) * 2.0 ** -24)


def fade(f):  # f*f*f*(f*(f*6 - 15) + 10), left to right
    return f32(f32(f32(f * f) * f) * f32(f32(f * f32(f32(f * 6) - 15)) + 10))


def mix(a, b, t):  # a*(1 - t) + b*t
    return f32(f32(a * f32(1 - t)) + f32(b * t))


S = f32(0.70710678118654752)
G2 = [(1, 0), (-1, 0), (0, 1), (0, -1), (S, S), (-S, S), (S, -S), (-S, -S)]
G3 = [(1, 1, 0), (-1, 1, 0), (1, -1, 0), (-1, -1, 0), (1, 0, 1), (-1, 0, 1),
      (1, 0, -1), (-1, 0, -1), (0, 1, 1), (0, -1, 1), (0, 1, -1), (0, -1, -1)]


def dot(g, d):
    acc = f32(g[0] * d[0])
    for k in range(1, len(d)):
        acc = f32(acc + f32(g[k] * d[k]))
    return acc


def corner(i, f, off, hashfn, table):
    h = hashfn(*[f32(i[k] + off[k]) for k in range(len(i))])
    return dot(table[h % len(table)], [f32(f[k] - off[k]) for k in range(len(i))])


def noise2(x, y):
    p = [f32(x), f32(y)]
    i = [f32(math.floor(v)) for v in p]
    f = [f32(p[k] - i[k]) for k in range(2)]
    u = [fade(v) for v in f]
    c = {o: corner(i, f, o, hash2, G2) for o in [(0, 0), (1, 0), (0, 1), (1, 1)]}
    a = mix(c[(0, 0)], c[(1, 0)], u[0])
    b = mix(c[(0, 1)], c[(1, 1)], u[0])
    return f32(mix(a, b, u[1]) * f32(math.sqrt(2)))


def noise3(x, y, z):
    p = [f32(x), f32(y), f32(z)]
    i = [f32(math.floor(v)) for v in p]
    f = [f32(p[k] - i[k]) for k in range(3)]
    u = [fade(v) for v in f]

    def c(ox, oy, oz):
        return corner(i, f, (ox, oy, oz), hash3, G3)
    x00 = mix(c(0, 0, 0), c(1, 0, 0), u[0])
    x10 = mix(c(0, 1, 0), c(1, 1, 0), u[0])
    x01 = mix(c(0, 0, 1), c(1, 0, 1), u[0])
    x11 = mix(c(0, 1, 1), c(1, 1, 1), u[0])
    return mix(mix(x00, x10, u[1]), mix(x01, x11, u[1]), u[2])


def hexf(v):
    h = float(f32(v)).hex()
    mant, exp = h.split('p')
    if '.' in mant:
        mant = mant.rstrip('0').rstrip('.')
    if mant in ('0x0', '-0x0'):
        return mant + '.0p+0f'
    return mant + 'p' + exp + 'f'


if __name__ == '__main__':
    print('pcg')
    for v in [0, 1, 2, 0xdeadbeef, 0xffffffff, 123456789]:
        print(f'    {{0x{v:08x}u, 0x{pcg(v):08x}u}},')
    print('hash1')
    for a in [0.0, -0.0, 1.0, 0.5, -3.25, 1e6, 12345.678]:
        h = hash1(a)
        print(f'    {{{hexf(a)}, 0x{h:08x}u, {hexf(unit(h))}}},')
    print('hash2')
    for a, b in [(0, 0), (1, 2), (-1.5, 7.25), (3, -0.0), (100.5, 0.001)]:
        h = hash2(a, b)
        print(f'    {{{hexf(a)}, {hexf(b)}, 0x{h:08x}u, {hexf(unit(h))}}},')
    print('hash3')
    for a, b, c in [(0, 0, 0), (1, 2, 3), (-4.5, 0.25, 1000), (7, 7, 7)]:
        h = hash3(a, b, c)
        print(f'    {{{hexf(a)}, {hexf(b)}, {hexf(c)}, 0x{h:08x}u, {hexf(unit(h))}}},')
    print('noise2')
    for x, y in [(0, 0), (0.5, 0.5), (0.25, 0.75), (1.3, -2.7), (-0.1, 0.9), (10.77, 3.14),
                 (3, 4), (-5.5, -5.5)]:
        print(f'    {{{hexf(x)}, {hexf(y)}, {hexf(noise2(x, y))}}},')
    print('noise3')
    for x, y, z in [(0, 0, 0), (0.5, 0.5, 0.5), (0.25, 0.75, 0.1), (1.3, -2.7, 0.6),
                    (-0.1, 0.9, -3.3), (10.77, 3.14, 2.71)]:
        print(f'    {{{hexf(x)}, {hexf(y)}, {hexf(z)}, {hexf(noise3(x, y, z))}}},')
