/*
 * fuzz_decoders.c - libFuzzer target: the independent LED protocol decoders
 * of tests/driver/decoders.c (E1.31, Art-Net, DDP and the OPC stream).
 *
 * The driver tests trust these decoders to reject any wrong packet the
 * driver might send; a decoder that reads past a short packet or accepts a
 * length it does not have would hide a driver bug. Input: one selector byte
 * (mod 4: E1.31, Art-Net, DDP, OPC), then the packet, or for OPC the TCP
 * byte stream, fed in uneven pieces as recv() would hand it over.
 * Checked beyond "no crash": a rejected packet has a message; an accepted
 * one has its payload inside the packet (every payload byte is read, so
 * ASan sees an overrun); the OPC parser hands out exactly the bytes fed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                  \
    do {                                                \
        fprintf(stderr, "fuzz_decoders: " __VA_ARGS__); \
        fputc('\n', stderr);                            \
        abort();                                        \
    } while (0)

/* Touches every byte of an accepted payload and checks it lies in the packet. */
static unsigned fuzz_payload(const uint8_t *pkt, size_t len, const uint8_t *p, size_t n,
                             const char *what) {
    if (n && (!p || p < pkt || (size_t)(p - pkt) > len || n > len - (size_t)(p - pkt)))
        FUZZ_FAIL("%s: %zu payload bytes at offset %td of a %zu-byte packet", what, n, p - pkt,
                  len);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += p[i];
    return sum;
}

static void fuzz_packet(int kind, const uint8_t *pkt, size_t len) {
    char err[256] = "";
    int rc = -1;
    if (kind == 0) {
        dec_e131 e;
        rc = dec_e131_parse(pkt, len, &e, err, sizeof err);
        if (rc == 0 && !e.is_sync) fuzz_payload(pkt, len, e.slots, e.slot_count, "E1.31");
        if (rc == 0 && strnlen(e.source_name, sizeof e.source_name) == sizeof e.source_name)
            FUZZ_FAIL("E1.31 source name not terminated");
    } else if (kind == 1) {
        dec_artnet a;
        rc = dec_artnet_parse(pkt, len, &a, err, sizeof err);
        if (rc == 0 && a.opcode == DEC_ARTNET_OP_DMX)
            fuzz_payload(pkt, len, a.data, a.length, "ArtDmx");
    } else {
        dec_ddp d;
        rc = dec_ddp_parse(pkt, len, &d, err, sizeof err);
        if (rc == 0 && !d.query) fuzz_payload(pkt, len, d.data, d.length, "DDP");
        if (rc == 0 && d.sequence > 15) FUZZ_FAIL("DDP sequence %u", d.sequence);
    }
    if (rc != 0 && !err[0]) FUZZ_FAIL("packet kind %d rejected without a message", kind);
}

/* Feeds the stream in pieces of 1, 2, 3, ... bytes, taking every complete
 * message after each piece: bytes out + bytes pending == bytes in. */
static void fuzz_opc(const uint8_t *bytes, size_t len) {
    dec_opc_stream s = {0};
    size_t fed = 0, taken = 0, piece = 1;
    while (fed < len) {
        size_t n = len - fed < piece ? len - fed : piece++;
        if (dec_opc_feed(&s, bytes + fed, n) != 0) break;
        fed += n;
        dec_opc_msg m;
        while (dec_opc_next(&s, &m)) {
            if (memcmp(m.data, bytes + taken + 4, m.length) != 0)
                FUZZ_FAIL("OPC message at stream byte %zu: data differs from the stream", taken);
            taken += 4u + m.length;
            free(m.data);
        }
        if (taken + s.len != fed)
            FUZZ_FAIL("OPC: %zu bytes fed, %zu taken, %zu pending", fed, taken, s.len);
    }
    dec_opc_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int kind = data[0] % 4;
    /* An exact-size copy, so that reading one byte past the packet is caught. */
    size_t len = size - 1;
    uint8_t *pkt = malloc(len ? len : 1);
    if (!pkt) return 0;
    memcpy(pkt, data + 1, len);
    if (kind == 3)
        fuzz_opc(pkt, len);
    else
        fuzz_packet(kind, pkt, len);
    free(pkt);
    return 0;
}
