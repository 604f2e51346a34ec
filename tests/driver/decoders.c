/*
 * decoders.c - strict, independent decoders for E1.31, Art-Net, DDP and OPC.
 *
 * Written from the wire tables in docs/protocols.md (offsets and constants
 * field by field), deliberately not from driver/out_*.c: a test that decodes
 * with the encoder's own assumptions would pass a wrong encoder. Reads are bounds-checked against
 * the packet length before every access.
 */
#include "decoders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t be16(const uint8_t *p) {
    return (uint16_t)((p[0] << 8) | p[1]);
}
static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint16_t le16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

#define FAIL(...)                            \
    do {                                     \
        snprintf(err, err_len, __VA_ARGS__); \
        return -1;                           \
    } while (0)

/* ------------------------------------------------------------ E1.31 */

static const uint8_t acn_packet_id[12] = {0x41, 0x53, 0x43, 0x2D, 0x45, 0x31,
                                          0x2E, 0x31, 0x37, 0x00, 0x00, 0x00};

/* A flags&length word: top nibble 0x7, low 12 bits the PDU length from `at` to the end. */
static int e131_pdu_length(const uint8_t *pkt, size_t len, size_t at, const char *layer, char *err,
                           size_t err_len) {
    uint16_t fl = be16(pkt + at);
    if ((fl & 0xF000) != 0x7000) FAIL("%s flags: 0x%X, expected 0x7", layer, fl >> 12);
    if ((fl & 0x0FFF) != len - at)
        FAIL("%s length %u, but %zu bytes follow offset %zu", layer, fl & 0x0FFFu, len - at, at);
    return 0;
}

int dec_e131_parse(const uint8_t *pkt, size_t len, dec_e131 *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (len < 38) FAIL("packet of %zu bytes is shorter than the root layer", len);
    if (be16(pkt) != 0x0010) FAIL("preamble size 0x%04X, expected 0x0010", be16(pkt));
    if (be16(pkt + 2) != 0x0000) FAIL("post-amble size 0x%04X, expected 0", be16(pkt + 2));
    if (memcmp(pkt + 4, acn_packet_id, 12) != 0) FAIL("bad ACN packet identifier");
    if (e131_pdu_length(pkt, len, 16, "root", err, err_len)) return -1;
    uint32_t root_vector = be32(pkt + 18);
    memcpy(out->cid, pkt + 22, 16);
    if (root_vector == 0x00000008 && len >= 44 && be32(pkt + 40) == 0x00000002) {
        /* Universe discovery: 120 bytes + 2 per universe, at most 512 per page. */
        if (len < 120 || (len - 120) % 2 != 0 || len > 120 + 2 * 512)
            FAIL("discovery packet of %zu bytes: expected 120 + 2n, n <= 512", len);
        if (e131_pdu_length(pkt, len, 38, "framing", err, err_len)) return -1;
        const uint8_t *dname = pkt + 44;
        size_t dlen = strnlen((const char *)dname, 64);
        if (dlen == 64) FAIL("discovery source name is not NUL-terminated");
        memcpy(out->source_name, dname, dlen);
        for (int i = 108; i < 112; i++)
            if (pkt[i]) FAIL("discovery reserved byte %d not zero", i);
        if (e131_pdu_length(pkt, len, 112, "universe discovery", err, err_len)) return -1;
        if (be32(pkt + 114) != 0x00000001)
            FAIL("universe discovery vector 0x%08X, expected 1", be32(pkt + 114));
        out->is_discovery = true;
        out->page = pkt[118];
        out->last_page = pkt[119];
        if (out->page > out->last_page)
            FAIL("page %u after last page %u", out->page, out->last_page);
        out->universe_count = (uint16_t)((len - 120) / 2);
        out->universe_list = pkt + 120;
        for (size_t i = 1; i < out->universe_count; i++)
            if (be16(pkt + 120 + 2 * i) <= be16(pkt + 118 + 2 * i))
                FAIL("universe list not sorted ascending at entry %zu", i);
        return 0;
    }
    if (root_vector == 0x00000008) {
        /* Synchronization packet: 49 bytes. */
        if (len != 49) FAIL("synchronization packet of %zu bytes, expected 49", len);
        if (e131_pdu_length(pkt, len, 38, "framing", err, err_len)) return -1;
        if (be32(pkt + 40) != 0x00000001)
            FAIL("extended framing vector 0x%08X, expected 1 (sync)", be32(pkt + 40));
        out->is_sync = true;
        out->sequence = pkt[44];
        out->sync_address = be16(pkt + 45);
        if (out->sync_address == 0) FAIL("sync packet with synchronization address 0");
        if (be16(pkt + 47) != 0) FAIL("sync packet reserved bytes not zero");
        return 0;
    }
    if (root_vector != 0x00000004) FAIL("root vector 0x%08X, expected 4 (data)", root_vector);
    if (len < 126) FAIL("data packet of %zu bytes, shorter than its 126-byte header", len);
    if (len > 638) FAIL("data packet of %zu bytes, longer than 638", len);
    if (e131_pdu_length(pkt, len, 38, "framing", err, err_len)) return -1;
    if (be32(pkt + 40) != 0x00000002) FAIL("framing vector 0x%08X, expected 2", be32(pkt + 40));
    const uint8_t *name = pkt + 44;
    size_t name_len = strnlen((const char *)name, 64);
    if (name_len == 64) FAIL("source name is not NUL-terminated within 64 bytes");
    for (size_t i = name_len; i < 64; i++)
        if (name[i] != 0) FAIL("source name not zero-padded at byte %zu", i);
    memcpy(out->source_name, name, name_len);
    out->priority = pkt[108];
    if (out->priority > 200) FAIL("priority %u > 200", out->priority);
    out->sync_address = be16(pkt + 109);
    out->sequence = pkt[111];
    out->options = pkt[112];
    if (out->options & 0x1F) FAIL("reserved option bits set: 0x%02X", out->options);
    out->universe = be16(pkt + 113);
    if (out->universe < 1 || out->universe > 63999)
        FAIL("universe %u outside 1..63999", out->universe);
    if (e131_pdu_length(pkt, len, 115, "DMP", err, err_len)) return -1;
    if (pkt[117] != 0x02) FAIL("DMP vector 0x%02X, expected 0x02", pkt[117]);
    if (pkt[118] != 0xA1) FAIL("address & data type 0x%02X, expected 0xA1", pkt[118]);
    if (be16(pkt + 119) != 0) FAIL("first property address %u, expected 0", be16(pkt + 119));
    if (be16(pkt + 121) != 1) FAIL("address increment %u, expected 1", be16(pkt + 121));
    uint16_t count = be16(pkt + 123);
    if (count != len - 125)
        FAIL("property value count %u, but %zu values follow", count, len - 125);
    if (count < 1) FAIL("property value count 0 (no START code)");
    out->start_code = pkt[125];
    out->slot_count = (uint16_t)(count - 1);
    out->slots = pkt + 126;
    return 0;
}

/* ------------------------------------------------------------ Art-Net */

int dec_artnet_parse(const uint8_t *pkt, size_t len, dec_artnet *out, char *err, size_t err_len) {
    static const uint8_t id[8] = {0x41, 0x72, 0x74, 0x2D, 0x4E, 0x65, 0x74, 0x00};
    memset(out, 0, sizeof *out);
    if (len < 12) FAIL("packet of %zu bytes is too short for Art-Net", len);
    if (memcmp(pkt, id, 8) != 0) FAIL("bad Art-Net ID");
    out->opcode = le16(pkt + 8); /* little-endian */
    out->protocol_version = be16(pkt + 10);
    if (out->protocol_version != 14) FAIL("ProtVer %u, expected 14", out->protocol_version);
    if (out->opcode == DEC_ARTNET_OP_SYNC) {
        if (len != 14) FAIL("ArtSync of %zu bytes, expected 14", len);
        if (pkt[12] != 0 || pkt[13] != 0) FAIL("ArtSync Aux bytes not zero");
        return 0;
    }
    if (out->opcode != DEC_ARTNET_OP_DMX) FAIL("OpCode 0x%04X, expected OpDmx 0x5000", out->opcode);
    if (len < 18) FAIL("ArtDmx of %zu bytes, shorter than its header", len);
    out->sequence = pkt[12];
    out->physical = pkt[13];
    if (pkt[15] & 0x80) FAIL("Net 0x%02X has bit 7 set", pkt[15]);
    out->port_address = (uint16_t)((pkt[15] << 8) | pkt[14]);
    out->length = be16(pkt + 16); /* big-endian */
    if (out->length < 2 || out->length > 512 || (out->length & 1))
        FAIL("ArtDmx Length %u: must be even, 2..512", out->length);
    if (len != 18u + out->length)
        FAIL("ArtDmx Length %u, but the packet has %zu data bytes", out->length, len - 18);
    out->data = pkt + 18;
    return 0;
}

/* ------------------------------------------------------------ DDP */

int dec_ddp_parse(const uint8_t *pkt, size_t len, dec_ddp *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (len < 10) FAIL("packet of %zu bytes, shorter than the 10-byte DDP header", len);
    out->flags = pkt[0];
    if ((out->flags & 0xC0) != 0x40) FAIL("version bits %u, expected 1", out->flags >> 6);
    out->has_timecode = (out->flags & 0x10) != 0;
    out->storage = (out->flags & 0x08) != 0;
    out->reply = (out->flags & 0x04) != 0;
    out->query = (out->flags & 0x02) != 0;
    out->push = (out->flags & 0x01) != 0;
    if (pkt[1] & 0xF0) FAIL("sequence byte 0x%02X: high nibble must be 0", pkt[1]);
    out->sequence = pkt[1] & 0x0F;
    out->data_type = pkt[2];
    out->id = pkt[3];
    out->offset = be32(pkt + 4);
    out->length = be16(pkt + 8);
    size_t header = out->has_timecode ? 14 : 10;
    if (len < header) FAIL("timecode flag set but the packet is %zu bytes", len);
    if (out->has_timecode) out->timecode = be32(pkt + 10);
    if (!out->query && len != header + out->length)
        FAIL("data length %u, but the packet carries %zu bytes", out->length, len - header);
    out->data = pkt + header;
    return 0;
}

/* ------------------------------------------------------------ OPC */

int dec_opc_feed(dec_opc_stream *s, const uint8_t *bytes, size_t len) {
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len) cap *= 2;
        uint8_t *grown = realloc(s->buf, cap);
        if (!grown) return -1;
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, bytes, len);
    s->len += len;
    return 0;
}

bool dec_opc_next(dec_opc_stream *s, dec_opc_msg *msg) {
    if (s->len < 4) return false;
    uint16_t length = be16(s->buf + 2);
    if (s->len < 4u + length) return false;
    msg->channel = s->buf[0];
    msg->command = s->buf[1];
    msg->length = length;
    msg->data = malloc(length ? length : 1);
    if (!msg->data) return false;
    memcpy(msg->data, s->buf + 4, length);
    memmove(s->buf, s->buf + 4 + length, s->len - 4 - length);
    s->len -= 4u + length;
    return true;
}

void dec_opc_free(dec_opc_stream *s) {
    free(s->buf);
    memset(s, 0, sizeof *s);
}
