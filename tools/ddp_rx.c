/*
 * ddp_rx.c - DDP packet validation and frame reassembly (see ddp_rx.h).
 */
#include "ddp_rx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ddprx_fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ddprx_fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ddprx_parse(const uint8_t *pkt, size_t len, ddprx_packet *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (len < DDPRX_HEADER)
        return ddprx_fail(err, err_len, "packet of %zu bytes, shorter than the %d-byte DDP header",
                          len, DDPRX_HEADER);
    out->flags = pkt[0];
    if ((out->flags & DDPRX_VERSION_MASK) != DDPRX_VERSION1)
        return ddprx_fail(err, err_len, "flags 0x%02X: protocol version %u, expected 1",
                          out->flags, out->flags >> 6);
    if (pkt[1] & 0xF0)
        return ddprx_fail(err, err_len, "sequence byte 0x%02X: the high nibble must be 0", pkt[1]);
    out->sequence = pkt[1];
    out->data_type = pkt[2];
    out->id = pkt[3];
    out->offset = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 | pkt[7];
    out->length = (uint16_t)(pkt[8] << 8 | pkt[9]);
    out->push = (out->flags & DDPRX_FLAG_PUSH) != 0;
    size_t header = DDPRX_HEADER + ((out->flags & DDPRX_FLAG_TIMECODE) ? DDPRX_TIMECODE : 0);
    if (len < header)
        return ddprx_fail(err, err_len, "timecode flag set, but the packet is only %zu bytes", len);
    /* A query carries no data whatever its length field says. */
    if (!(out->flags & DDPRX_FLAG_QUERY) && len - header != out->length)
        return ddprx_fail(err, err_len, "length field %u, but the packet carries %zu data bytes",
                          out->length, len - header);
    out->data = pkt + header;
    return 0;
}

int ddprx_init(ddprx_assembler *a, size_t frame_bytes) {
    memset(a, 0, sizeof *a);
    if (frame_bytes == 0) return -1;
    a->frame = malloc(frame_bytes);
    if (!a->frame) return -1;
    a->frame_bytes = frame_bytes;
    return 0;
}

void ddprx_free(ddprx_assembler *a) {
    free(a->frame);
    memset(a, 0, sizeof *a);
}

/* Places the packet's data; false when it does not continue the frame in order. */
static bool ddprx_place(ddprx_assembler *a, const ddprx_packet *p) {
    if (p->offset == 0) { /* a new frame, whatever happened to the last one */
        a->next = 0;
        a->broken = false;
    }
    if (a->broken || p->offset != a->next) return false;
    memcpy(a->frame + p->offset, p->data, p->length);
    a->next = (size_t)p->offset + p->length;
    return true;
}

ddprx_result ddprx_feed(ddprx_assembler *a, const uint8_t *pkt, size_t len, char *err,
                        size_t err_len) {
    ddprx_packet p;
    if (ddprx_parse(pkt, len, &p, err, err_len) != 0) return DDPRX_MALFORMED;
    if (p.flags & (DDPRX_FLAG_QUERY | DDPRX_FLAG_REPLY | DDPRX_FLAG_STORAGE)) return DDPRX_IGNORED;
    if (p.data_type != DDPRX_TYPE_RGB8) {
        a->broken = true;
        ddprx_fail(err, err_len, "data type 0x%02X, expected 0x%02X (RGB, 8 bits a channel)",
                   p.data_type, DDPRX_TYPE_RGB8);
        return DDPRX_MALFORMED;
    }
    /* 64-bit sum: offset and length are both the sender's, and may not overflow anything. */
    if ((uint64_t)p.offset + p.length > a->frame_bytes) {
        a->broken = true;
        ddprx_fail(err, err_len,
                   "offset %u + length %u ends past the frame's %zu bytes (%zu LEDs in the "
                   "frame file)",
                   p.offset, p.length, a->frame_bytes, a->frame_bytes / 3);
        return DDPRX_MALFORMED;
    }
    if (!ddprx_place(a, &p)) a->broken = true;
    if (!p.push) return DDPRX_DATA;
    bool whole = !a->broken && a->next == a->frame_bytes;
    a->next = 0;
    a->broken = false;
    return whole ? DDPRX_FRAME : DDPRX_INCOMPLETE;
}
