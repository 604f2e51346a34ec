/*
 * ddp_rx.h - DDP receive side for sky-receive: parse and validate one UDP
 * packet, and reassemble consecutive packets into whole frames.
 *
 * The wire layout is the one driver/out_ddp.c sends (docs/driver.md, "ddp://"):
 * a 10-byte header (flags with version 1 and PUSH, a 4-bit sequence, data type
 * 0x0B = RGB 8 bits, display id, 32-bit byte offset, 16-bit data length, all
 * big-endian), 4 more bytes of timecode when the timecode flag is set, then
 * the data. A frame is the packets from offset 0 upwards, each starting where
 * the previous one ended, closed by PUSH. Packets come from the network: every
 * field is checked before it is used, and nothing a packet says can make the
 * assembler read or write outside its buffers.
 */
#ifndef SKY_DDP_RX_H
#define SKY_DDP_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDPRX_HEADER        10
#define DDPRX_TIMECODE      4
#define DDPRX_VERSION_MASK  0xC0
#define DDPRX_VERSION1      0x40
#define DDPRX_FLAG_TIMECODE 0x10
#define DDPRX_FLAG_STORAGE  0x08
#define DDPRX_FLAG_REPLY    0x04
#define DDPRX_FLAG_QUERY    0x02
#define DDPRX_FLAG_PUSH     0x01
#define DDPRX_TYPE_RGB8     0x0B

/* One validated packet; data points into the packet. */
typedef struct ddprx_packet {
    uint8_t flags, sequence, data_type, id;
    bool push;
    uint32_t offset; /* bytes into the display buffer */
    uint16_t length; /* data bytes */
    const uint8_t *data;
} ddprx_packet;

/*
 * Parses `len` bytes. 0 when the packet is well formed; -1 with a message in
 * err otherwise (too short, another version, a sequence byte with its high
 * nibble set, a length field that disagrees with the bytes received).
 */
int ddprx_parse(const uint8_t *pkt, size_t len, ddprx_packet *out, char *err, size_t err_len);

typedef enum ddprx_result {
    DDPRX_DATA,       /* pixel data taken into the frame being assembled */
    DDPRX_FRAME,      /* ... and it closed a complete frame: ddprx_frame() holds it */
    DDPRX_INCOMPLETE, /* PUSH closed a frame with bytes missing or out of order */
    DDPRX_IGNORED,    /* well formed but not pixel data (query, reply, storage) */
    DDPRX_MALFORMED,  /* rejected: the message says why */
} ddprx_result;

typedef struct ddprx_assembler {
    uint8_t *frame;     /* frame_bytes: the last complete frame, or the one in progress */
    size_t frame_bytes; /* LEDs x 3 */
    size_t next;        /* bytes of the current frame received in order from offset 0 */
    bool broken;        /* a packet was lost or out of place since the frame began */
} ddprx_assembler;

/* 0, or -1 when out of memory or frame_bytes is 0. */
int ddprx_init(ddprx_assembler *a, size_t frame_bytes);
void ddprx_free(ddprx_assembler *a);

/*
 * Takes one packet. A packet whose data would land past frame_bytes, or of
 * another data type, is MALFORMED and breaks the frame in progress. A packet
 * at offset 0 always begins a new frame (a frame whose PUSH was lost is thus
 * dropped, never merged into the next one).
 */
ddprx_result ddprx_feed(ddprx_assembler *a, const uint8_t *pkt, size_t len, char *err,
                        size_t err_len);

#endif
