// frame_file.mjs — a reader of the shared frame file (docs/frame-format.md)
// for the browser tests: reads with pread (nothing mapped, so a replaced file
// cannot fault), follows the sequence-word protocol so a torn copy is retried,
// and validates the header before trusting an offset.
import { openSync, readSync, closeSync, fstatSync } from "node:fs";

const HEADER_BYTES = 256;
const SEQ_STRIDE = 64;

export class FrameFile {
  constructor(path) {
    this.fd = openSync(path, "r");
    const h = this.pread(0, HEADER_BYTES);
    if (h.toString("latin1", 0, 8) !== "SKYFRAME") throw new Error(`${path}: not a frame file (bad magic)`);
    // Versions 1 (positions x, y) and 2 (x, y, z): docs/frame-format.md, "Versions".
    const version = h.readUInt32LE(8);
    if (version !== 1 && version !== 2)
      throw new Error(`${path}: header field version = ${version}, this reader reads versions 1 to 2`);
    this.dims = version === 1 ? 2 : 3;
    this.ledCount = h.readUInt32LE(16);
    this.stripCount = h.readUInt32LE(20);
    this.channels = h.readUInt32LE(24);
    this.slotCount = h.readUInt32LE(28);
    this.slotStride = Number(h.readBigUInt64LE(32));
    this.slotsOffset = Number(h.readBigUInt64LE(40));
    this.stripsOffset = Number(h.readBigUInt64LE(48));
    this.positionsOffset = Number(h.readBigUInt64LE(56));
    this.seqOffset = Number(h.readBigUInt64LE(64));
    this.fileBytes = Number(h.readBigUInt64LE(72));
    this.layout = h.toString("latin1", 96, 128).replace(/\0.*$/s, "");
    const size = fstatSync(this.fd).size;
    const end = this.slotsOffset + this.slotCount * this.slotStride;
    if (this.channels !== 3 || this.slotCount < 3 || this.slotStride < this.ledCount * 3 || end > size)
      throw new Error(`${path}: header does not fit the file (${size} bytes)`);
    const pos = this.pread(this.positionsOffset, this.ledCount * this.dims * 4);
    this.positions = new Float32Array(pos.buffer.slice(pos.byteOffset, pos.byteOffset + pos.length)); // dims floats an LED
  }

  pread(offset, length) {
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buffer, done, length - done, offset + done);
      if (n === 0) throw new Error(`frame file: short read at ${offset + done}`);
      done += n;
    }
    return buffer;
  }

  newestNumber() {
    return Number(this.pread(128, 8).readBigUInt64LE(0));
  }

  // The newest complete frame {frame, rgb}, or null before the first one.
  read() {
    for (;;) {
      const f = this.newestNumber();
      if (f === 0) return null;
      const k = f % this.slotCount;
      const seqAt = this.seqOffset + k * SEQ_STRIDE;
      const s1 = this.pread(seqAt, 8).readBigUInt64LE(0);
      if (s1 !== BigInt(2 * f)) continue; // lapped: start again from the newest
      const rgb = this.pread(this.slotsOffset + k * this.slotStride, this.ledCount * 3);
      const s2 = this.pread(seqAt, 8).readBigUInt64LE(0);
      if (s2 === s1) return { frame: f, rgb };
    }
  }

  close() {
    closeSync(this.fd);
  }
}
