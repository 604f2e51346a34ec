/*
 * decoders.h - independent decoders for the LED network protocols, used by
 * the driver tests (and meant for a later fuzzing effort).
 *
 * They are written from the wire layouts in docs/protocols.md, not from the
 * driver's encoders, and they validate every field a strict receiver would
 * (lengths against the real packet size, constants, ranges), returning -1
 * with a message naming the field on anything wrong. They never read past
 * `len` and keep pointers into the caller's buffer (no allocation), except
 * the OPC stream parser, which owns a growing buffer.
 */
#ifndef DRV_TEST_DECODERS_H
#define DRV_TEST_DECODERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- E1.31 (sACN): data, synchronization and universe discovery packets ---- */
typedef struct dec_e131 {
    bool is_sync;            /* a synchronization packet (root vector 8, framing vector 1) */
    bool is_discovery;       /* a universe discovery packet (root vector 8, framing vector 2) */
    uint8_t page, last_page; /* discovery */
    uint16_t universe_count; /* discovery: entries in the list */
    const uint8_t *universe_list; /* discovery: big-endian u16s, into the packet */
    uint8_t cid[16];
    char source_name[65];  /* data and discovery packets */
    uint8_t priority;      /* data packets */
    uint16_t sync_address; /* both */
    uint8_t sequence;      /* both */
    uint8_t options;       /* data packets */
    uint16_t universe;     /* data packets */
    uint8_t start_code;    /* data packets */
    uint16_t slot_count;   /* data slots after the START code */
    const uint8_t *slots;  /* into the packet */
} dec_e131;
int dec_e131_parse(const uint8_t *pkt, size_t len, dec_e131 *out, char *err, size_t err_len);

/* ---- Art-Net: ArtDmx and ArtSync ---- */
#define DEC_ARTNET_OP_DMX  0x5000
#define DEC_ARTNET_OP_SYNC 0x5200
typedef struct dec_artnet {
    uint16_t opcode;
    uint16_t protocol_version;
    uint8_t sequence, physical; /* ArtDmx */
    uint16_t port_address;      /* ArtDmx: Net << 8 | SubUni */
    uint16_t length;            /* ArtDmx */
    const uint8_t *data;        /* ArtDmx */
} dec_artnet;
int dec_artnet_parse(const uint8_t *pkt, size_t len, dec_artnet *out, char *err, size_t err_len);

/* ---- DDP ---- */
typedef struct dec_ddp {
    uint8_t flags;
    bool push, query, reply, storage, has_timecode;
    uint8_t sequence; /* 0..15 */
    uint8_t data_type;
    uint8_t id;
    uint32_t offset;
    uint16_t length;
    uint32_t timecode;
    const uint8_t *data;
} dec_ddp;
int dec_ddp_parse(const uint8_t *pkt, size_t len, dec_ddp *out, char *err, size_t err_len);

/* ---- OPC: a TCP byte stream split into messages ---- */
typedef struct dec_opc_stream {
    uint8_t *buf;
    size_t len, cap;
} dec_opc_stream;
typedef struct dec_opc_msg {
    uint8_t channel, command;
    uint16_t length;
    uint8_t *data; /* malloc'd copy, length bytes; free() it */
} dec_opc_msg;
/* Appends received bytes. Returns -1 on allocation failure. */
int dec_opc_feed(dec_opc_stream *s, const uint8_t *bytes, size_t len);
/* Takes the next complete message off the stream; false when none is complete. */
bool dec_opc_next(dec_opc_stream *s, dec_opc_msg *msg);
void dec_opc_free(dec_opc_stream *s);

#endif
