/*
 * soak_recv.h - loopback E1.31 and DDP receivers for the soak, one thread each.
 *
 * Each receiver binds 127.0.0.1 on a port the kernel picks, decodes every
 * packet with the independent decoders of tests/driver/decoders.c, checks
 * every header field against what the driver was configured to send,
 * reassembles frames (E1.31: every universe of the frame with one sequence
 * number, closed by the synchronisation packet; DDP: consecutive offsets
 * closed by PUSH), and classifies each complete frame with soak_check.c.
 * The E1.31 receiver applies the standard's sequence rule (section 6.7.2: a
 * packet whose sequence number is 0 to 19 behind the last one is discarded),
 * as strict receivers do. A restart closes the socket, waits, and binds the
 * same port again with no memory of the stream, as a rebooted controller.
 */
#ifndef SOAK_RECV_H
#define SOAK_RECV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "soak_check.h"

typedef enum soak_proto { SOAK_SACN, SOAK_DDP } soak_proto;

/* One complete frame as it arrived. */
typedef struct soak_frame_rec {
    uint64_t t_ns; /* CLOCK_MONOTONIC when its last packet arrived */
    uint32_t value;
    uint8_t kind, pattern;
    uint16_t level_q; /* level * 10000 */
} soak_frame_rec;

typedef struct soak_rx_counts {
    uint64_t packets, bytes, frames, exact, scaled, black, torn;
    uint64_t incomplete;   /* frames with packets missing (dropped or discarded) */
    uint64_t malformed;    /* packets a strict receiver rejects, or unexpected fields */
    uint64_t seq_discards; /* E1.31: packets discarded by the sequence rule */
    uint64_t seq_breaks;   /* DDP: a sequence number out of order within a frame */
    uint64_t mixed;        /* E1.31: universes of one frame with different sequence numbers */
    uint64_t terminated;   /* E1.31: Stream_Terminated packets */
    uint64_t syncs;        /* E1.31: synchronisation packets */
    uint64_t restarts;
} soak_rx_counts;

#define SOAK_RX_MAX_RESTARTS 256

typedef struct soak_rx {
    /* configuration, set before soak_rx_start */
    soak_proto proto;
    const char *name;
    soak_model model;
    uint16_t universe0, sync_universe; /* E1.31 */
    const char *source_name;           /* E1.31 */
    const char *dump_dir;              /* torn frames are written here */

    int port; /* chosen at start */

    /* shared with the receiving thread */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    atomic_int restart_gap_ms; /* > 0: a restart requested */
    pthread_mutex_t lock;      /* guards everything below */
    soak_rx_counts counts;
    soak_frame_rec *recs;
    size_t rec_count, rec_cap;
    bool recs_lost; /* out of memory for records */
    uint64_t restart_closed_ns[SOAK_RX_MAX_RESTARTS], restart_open_ns[SOAK_RX_MAX_RESTARTS];
    char first_problem[512];
    bool bind_failed;

    /* the receiving thread's own state */
    int fd;
    uint8_t *frame;
    uint8_t *got; /* E1.31: per universe */
    uint32_t universes, got_count;
    uint8_t *last_seq, *have_seq; /* E1.31 per universe */
    bool in_frame, broken;
    uint8_t frame_seq;
    uint32_t next_offset; /* DDP */
    uint8_t ddp_seq;
    soak_verdict last_exact;
    bool have_last_exact;
    unsigned dumps;
} soak_rx;

/* Binds, allocates and starts the thread; -1 with a message on failure. */
int soak_rx_start(soak_rx *rx, char *err, size_t err_len);
/* Asks the thread to close its socket, wait gap_ms and bind the same port again. */
void soak_rx_restart(soak_rx *rx, int gap_ms);
/* Stops and joins the thread, closes the socket (the records stay). */
void soak_rx_stop(soak_rx *rx);
void soak_rx_free(soak_rx *rx);
/* A consistent copy of the counters. */
soak_rx_counts soak_rx_snapshot(soak_rx *rx);

#endif
