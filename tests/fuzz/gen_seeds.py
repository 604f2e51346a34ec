#!/usr/bin/env python3
"""gen_seeds.py - writes the binary seed inputs of two fuzz targets.

  corpus/frame_header/  frame files (u64 file size + the file's first bytes),
                        laid out the way frame/frame_format.c's frame_plan
                        lays them out (docs/frame-format.md), and corrupted
                        copies: one per header rule the validator enforces.
  corpus/decoders/      a selector byte (0 E1.31, 1 Art-Net, 2 DDP, 3 OPC)
                        then a packet or an OPC byte stream, valid and broken,
                        from the wire layouts in docs/protocols.md.
  corpus/control_osc/   OSC 1.0 datagrams for the control API (docs/control.md):
                        each /sky/ address with good and wrong type tags, and
                        broken encodings (unpadded strings, short arguments).

The files are committed; rerun this (python3 tests/fuzz/gen_seeds.py) only to
change the seeds. Output is deterministic. Text seeds (.sky, .ini) are plain
files in their folders and are not generated here. Files named by a SHA-1 in
every corpus folder are inputs found by long fuzzing runs that reach code no
hand-written seed reaches (libFuzzer -merge=1 -use_counters=0 into the folder).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = 256
PAGE = 4096


def up(v, to):
    return (v + to - 1) // to * to


def plan(leds, strips, slots):
    """frame_plan: seq words, strip table, positions, page-aligned slots."""
    seq = up(HEADER, 64)
    strips_off = seq + slots * 64
    pos_off = up(strips_off + strips * 4, 8)
    slots_off = up(pos_off + leds * 8, PAGE)
    stride = up(max((leds + 3) // 4 * 12, 1), PAGE)
    return dict(version=1, header_bytes=HEADER, leds=leds, strips=strips, channels=3,
                slots=slots, stride=stride, slots_off=slots_off, strips_off=strips_off,
                pos_off=pos_off, seq_off=seq, file_bytes=slots_off + stride * slots,
                pid=4242, fps=60, flags=0, layout=b"disc:%dx%d" % (strips, leds // strips))


def header(p, magic=b"SKYFRAME", tail=b""):
    h = bytearray(HEADER)
    h[0:8] = magic
    struct.pack_into("<6I", h, 8, p["version"], p["header_bytes"], p["leds"], p["strips"],
                     p["channels"], p["slots"])
    struct.pack_into("<7Q", h, 32, p["stride"], p["slots_off"], p["strips_off"], p["pos_off"],
                     p["seq_off"], p["file_bytes"], p["pid"])
    struct.pack_into("<2I", h, 88, p["fps"], p["flags"])
    h[96:96 + len(p["layout"])] = p["layout"]
    struct.pack_into("<2Q", h, 128, 17, 123456789)  # frame, heartbeat: not validated
    h[144:144 + len(tail)] = tail
    return bytes(h)


def tables(p, ring=True):
    """Seq words, strip table and positions (a ring of LEDs per strip)."""
    body = bytearray(p["slots_off"] - HEADER)
    per = p["leds"] // p["strips"]
    sizes = [per] * p["strips"]
    sizes[-1] += p["leds"] - per * p["strips"]
    struct.pack_into("<%dI" % p["strips"], body, p["strips_off"] - HEADER, *sizes)
    for i in range(p["leds"]):
        x, y = ((i % 7) / 7.0, (i % 5) / -5.0) if ring else (2.0, float("nan"))
        struct.pack_into("<2f", body, p["pos_off"] - HEADER + 8 * i, x, y)
    return bytes(body)


def frame_seed(p, size=None, with_tables=True, **kw):
    data = header(p, **kw) + (tables(p) if with_tables else b"")
    return struct.pack("<Q", p["file_bytes"] if size is None else size) + data


def frame_seeds():
    out = {}
    base = plan(64, 4, 4)
    out["valid_64x4"] = frame_seed(base)
    out["valid_disc_360x288"] = frame_seed(plan(360 * 288, 360, 4), with_tables=False)
    out["valid_1led_3slots"] = frame_seed(plan(1, 1, 3))
    out["valid_256slots"] = frame_seed(plan(10, 2, 256))
    out["valid_file_larger"] = frame_seed(base, size=base["file_bytes"] + 4096)
    out["header_only"] = frame_seed(base, with_tables=False)
    out["empty_file"] = struct.pack("<Q", 0)
    out["short_file"] = struct.pack("<Q", 100) + b"SKYFRAME"
    out["truncated"] = frame_seed(base, size=base["file_bytes"] - 1)
    out["bad_magic"] = frame_seed(base, magic=b"SKYFRAMX")
    out["binary_magic"] = frame_seed(base, magic=b"\x00\xff\\\x7fRAME")
    out["bad_positions"] = struct.pack("<Q", base["file_bytes"]) + header(base) + tables(base, ring=False)
    bad_strips = bytearray(frame_seed(base))
    struct.pack_into("<I", bad_strips, 8 + base["strips_off"], 1000)
    out["bad_strip_sum"] = bytes(bad_strips)
    out["layout_not_padded"] = frame_seed(dict(base, layout=b"disc\x00junk"))
    out["reserved_set"] = frame_seed(base, tail=b"\x01")
    broken = {
        "version": dict(version=2),
        "header_bytes": dict(header_bytes=512),
        "zero_leds": dict(leds=0),
        "zero_strips": dict(strips=0),
        "channels": dict(channels=4),
        "two_slots": dict(slots=2),
        "many_slots": dict(slots=257),
        "stride_zero": dict(stride=0),
        "stride_unaligned": dict(stride=4097),
        "stride_small": dict(leds=1 << 20),
        "slots_offset_zero": dict(slots_off=0),
        "slots_offset_unaligned": dict(slots_off=base["slots_off"] + 8),
        "slots_overflow": dict(stride=1 << 62, file_bytes=0),
        "file_bytes_mismatch": dict(file_bytes=base["file_bytes"] + 4096),
        "strips_in_header": dict(strips_off=128),
        "strips_unaligned": dict(strips_off=base["strips_off"] + 2),
        "strips_past_slots": dict(strips=1 << 20),
        "positions_overlap": dict(pos_off=base["strips_off"]),
        "seq_past_slots": dict(seq_off=base["slots_off"] - 8),
        "offset_wraps": dict(pos_off=(1 << 64) - 8),
        "pid_zero": dict(pid=0),
        "pid_huge": dict(pid=1 << 40),
        "flags": dict(flags=1),
    }
    for name, change in broken.items():
        p = dict(base, **change)
        out["bad_" + name] = frame_seed(p, size=base["file_bytes"], with_tables=False)
    return out


def e131_data(universe=1, slots=b"\x10\x20\x30" * 10, name=b"sky-driver", sync=0, seq=7,
              priority=100, options=0):
    n = len(slots) + 1
    dmp = struct.pack(">HBBHHH", 0x7000 | (10 + n), 0x02, 0xA1, 0, 1, n) + b"\x00" + slots
    framing = struct.pack(">HI", 0x7000 | (77 + len(dmp)), 2) + name.ljust(64, b"\x00")
    framing += struct.pack(">BHBBH", priority, sync, seq, options, universe) + dmp
    root = struct.pack(">HI", 0x7000 | (22 + len(framing)), 4) + bytes(range(16)) + framing
    return struct.pack(">HH", 0x10, 0) + b"ASC-E1.17\x00\x00\x00" + root


def e131_sync(address=1, seq=3):
    framing = struct.pack(">HIBHH", 0x7000 | 11, 1, seq, address, 0)
    root = struct.pack(">HI", 0x7000 | (22 + len(framing)), 8) + bytes(range(16)) + framing
    return struct.pack(">HH", 0x10, 0) + b"ASC-E1.17\x00\x00\x00" + root


def artnet_dmx(data=b"\x01\x02" * 60, net=0, subuni=1, seq=1):
    return b"Art-Net\x00" + struct.pack("<H", 0x5000) + struct.pack(">H", 14) + \
        bytes([seq, 0, subuni, net]) + struct.pack(">H", len(data)) + data


def artnet_sync():
    return b"Art-Net\x00" + struct.pack("<H", 0x5200) + struct.pack(">H", 14) + b"\x00\x00"


def ddp(data=b"\xff\x80\x00" * 20, flags=0x41, seq=1, offset=0, timecode=None, length=None):
    if timecode is not None:
        flags |= 0x10
    h = bytes([flags, seq, 0x0B, 1]) + struct.pack(">IH", offset, len(data) if length is None else length)
    if timecode is not None:
        h += struct.pack(">I", timecode)
    return h + data


def opc(channel, command, data):
    return bytes([channel, command]) + struct.pack(">H", len(data)) + data


def decoder_seeds():
    out = {}
    E, A, D, O = b"\x00", b"\x01", b"\x02", b"\x03"
    out["e131_data"] = E + e131_data()
    out["e131_full_universe"] = E + e131_data(slots=bytes(range(256)) * 2, universe=63999)
    out["e131_sync"] = E + e131_sync()
    out["e131_sync_address0"] = E + e131_sync(address=0)
    out["e131_universe0"] = E + e131_data(universe=0)
    out["e131_priority"] = E + e131_data(priority=201)
    out["e131_options"] = E + e131_data(options=0x01)
    out["e131_name_unterminated"] = E + e131_data(name=b"n" * 64)
    out["e131_truncated"] = E + e131_data()[:-5]
    out["e131_root_only"] = E + e131_data()[:38]
    out["artnet_dmx"] = A + artnet_dmx()
    out["artnet_dmx_512"] = A + artnet_dmx(data=bytes(512), net=0x7F, subuni=0xFF)
    out["artnet_sync"] = A + artnet_sync()
    out["artnet_odd_length"] = A + artnet_dmx(data=b"\x01\x02\x03")
    out["artnet_net_bit7"] = A + artnet_dmx(net=0x80)
    out["artnet_length_lies"] = A + artnet_dmx()[:-2]
    out["ddp_push"] = D + ddp()
    out["ddp_timecode"] = D + ddp(timecode=0x12345678)
    out["ddp_query"] = D + ddp(data=b"", flags=0x43)
    out["ddp_offset"] = D + ddp(offset=1440 * 3, flags=0x40, seq=15)
    out["ddp_bad_version"] = D + ddp(flags=0x81)
    out["ddp_length_lies"] = D + ddp(length=600)
    out["ddp_short"] = D + ddp()[:9]
    out["opc_stream"] = O + opc(0, 0, b"\x10\x20\x30" * 64) + opc(1, 0, b"") + \
        opc(2, 255, b"\x00\x01\x00\x01\x02")
    out["opc_partial"] = O + opc(0, 0, bytes(range(200))) + b"\x00\x00\x01"
    out["opc_big"] = O + opc(0, 0, bytes(3 * 1000))
    return out


def osc_string(text):
    data = text.encode() + b"\0"
    return data + b"\0" * (up(len(data), 4) - len(data))


def osc(address, types="", *args):
    out = osc_string(address) + osc_string("," + types)
    for t, v in zip(types, args):
        if t == "f":
            out += struct.pack(">f", v)
        elif t == "i":
            out += struct.pack(">i", v)
        elif t == "d":
            out += struct.pack(">d", v)
        elif t == "h":
            out += struct.pack(">q", v)
        elif t == "s":
            out += osc_string(v)
    return out


def osc_seeds():
    out = {}
    out["param_f"] = osc("/sky/param/speed", "f", 1.5)
    out["param_fff"] = osc("/sky/param/tint", "fff", 1.0, 0.5, 0.25)
    out["param_idh"] = osc("/sky/param/centre", "idh", 1, 0.5, 3)
    out["param_string"] = osc("/sky/param/speed", "s", "fast")
    out["param_nan"] = osc("/sky/param/speed", "f", float("nan"))
    out["param_four"] = osc("/sky/param/speed", "ffff", 1.0, 2.0, 3.0, 4.0)
    out["brightness"] = osc("/sky/brightness", "f", 0.5)
    out["blackout_T"] = osc("/sky/blackout", "T")
    out["blackout_i"] = osc("/sky/blackout", "i", 1)
    out["freeze_F"] = osc("/sky/freeze", "F")
    out["next"] = osc("/sky/next")
    out["select"] = osc("/sky/select", "i", 2)
    out["select_negative"] = osc("/sky/select", "i", -1)
    out["unknown"] = osc("/sky/other", "f", 1.0)
    out["no_typetag"] = osc_string("/sky/next")
    out["unpadded"] = b"/sky/next\0,\0"
    out["short_arg"] = osc("/sky/brightness", "f", 0.5)[:-2]
    out["bundle"] = osc_string("#bundle") + b"\0" * 8 + struct.pack(">i", 12) + osc("/sky/next")
    return out


def write(folder, seeds):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(path, name + ".bin"), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (path, len(seeds)))


if __name__ == "__main__":
    write("frame_header", frame_seeds())
    write("decoders", decoder_seeds())
    write("control_osc", osc_seeds())
