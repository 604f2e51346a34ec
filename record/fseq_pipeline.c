/*
 * fseq_pipeline.c - a ring of frames between a producer that must never
 * wait (the recorder's reader thread) and workers that compress blocks and
 * append them to the FSEQ writer in order (sky/fseq.h).
 *
 * Frames are numbered from 0 as they are committed; frame i lives in ring
 * buffer i % capacity. A worker takes the next block (its frame count from
 * the writer's plan) once the producer has committed all its frames, or
 * whatever is left at finish; copies it out of the ring when it wraps,
 * compresses it outside the lock, then waits for its turn (blocks are
 * appended in the order they were taken) and appends it. Only then are its
 * ring buffers released, so the producer sees a full ring, never a frame
 * overwritten before it was written out. The producer's calls hold the lock
 * for a few loads and stores.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fseq_internal.h"

#define PIPELINE_MAX_WORKERS 64u

struct sky_fseq_pipeline {
    sky_fseq_writer *writer;
    uint32_t frame_bytes;
    int level;
    uint8_t *ring;
    uint32_t capacity; /* frames */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* anything changed: frames committed, blocks written, finishing */
    uint64_t committed;  /* frames the producer handed over */
    uint64_t taken;      /* frames given to workers as blocks */
    uint64_t released;   /* frames written out: their buffers are free */
    uint64_t blocks_taken, blocks_written;
    bool finishing;
    sky_status status; /* the first failure */
    char error[512];
    pthread_t threads[PIPELINE_MAX_WORKERS];
    unsigned workers;
};

static void pipeline_fail(sky_fseq_pipeline *p, sky_status st, const char *error) {
    if (p->status == SKY_OK) {
        p->status = st;
        snprintf(p->error, sizeof p->error, "%s", error[0] ? error : sky_status_str(st));
    }
    pthread_cond_broadcast(&p->wake);
}

/* Under the lock: the next block to take, or false to wait (or stop: *stop). */
static bool pipeline_take(sky_fseq_pipeline *p, uint64_t *first, uint32_t *count, uint64_t *seq,
                          bool *stop) {
    *stop = p->status != SKY_OK || (p->finishing && p->taken == p->committed);
    if (*stop) return false;
    uint64_t want = sky_fseq_writer_block_frames(p->writer);
    uint64_t ready = p->committed - p->taken;
    if (want > p->capacity) want = p->capacity;
    if (ready < want && !(p->finishing && ready > 0)) return false;
    *first = p->taken;
    *count = (uint32_t)(ready < want ? ready : want);
    *seq = p->blocks_taken++;
    p->taken += *count;
    return true;
}

/* The block's frames, contiguous: in place, or copied into *stage when the ring wraps. */
static const uint8_t *pipeline_block_bytes(sky_fseq_pipeline *p, uint64_t first, uint32_t count,
                                           uint8_t **stage, size_t *stage_cap) {
    size_t fb = p->frame_bytes;
    uint64_t start = first % p->capacity;
    if (start + count <= p->capacity) return p->ring + start * fb;
    size_t need = (size_t)count * fb;
    if (*stage_cap < need) {
        uint8_t *bigger = realloc(*stage, need);
        if (!bigger) return NULL;
        *stage = bigger;
        *stage_cap = need;
    }
    size_t head = (size_t)(p->capacity - start);
    memcpy(*stage, p->ring + start * fb, head * fb);
    memcpy(*stage + head * fb, p->ring, (count - head) * fb);
    return *stage;
}

static void *pipeline_worker(void *arg) {
    sky_fseq_pipeline *p = arg;
    uint8_t *stage = NULL;
    size_t stage_cap = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        uint64_t first = 0, seq = 0;
        uint32_t count = 0;
        bool stop = false;
        if (!pipeline_take(p, &first, &count, &seq, &stop)) {
            if (stop) break;
            pthread_cond_wait(&p->wake, &p->lock);
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        /* The block's buffers stay the producer's no more: it only writes past `released`. */
        char error[512] = "";
        void *packed = NULL;
        size_t packed_len = 0;
        const uint8_t *bytes = pipeline_block_bytes(p, first, count, &stage, &stage_cap);
        sky_status st = bytes ? sky_fseq_compress(bytes, (size_t)count * p->frame_bytes, p->level,
                                                  &packed, &packed_len, error, sizeof error)
                              : SKY_ERR_NOMEM;
        pthread_mutex_lock(&p->lock);
        while (p->blocks_written != seq && p->status == SKY_OK)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->status != SKY_OK) { /* another block failed: this one is not written after it */
            free(packed);
            break;
        }
        if (st == SKY_OK) {
            /* Our turn: nobody else touches the writer until blocks_written moves on. */
            pthread_mutex_unlock(&p->lock);
            st = sky_fseq_writer_add_compressed(p->writer, count, packed, packed_len, error,
                                                sizeof error);
            pthread_mutex_lock(&p->lock);
        }
        free(packed);
        if (st != SKY_OK) {
            pipeline_fail(p, st, error);
            break;
        }
        p->blocks_written++;
        p->released += count;
        pthread_cond_broadcast(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
    free(stage);
    return NULL;
}

sky_status sky_fseq_pipeline_create(sky_fseq_writer *writer, uint32_t ring_frames, unsigned workers,
                                    sky_fseq_pipeline **pipeline, char *error, size_t error_len) {
    if (!writer || !pipeline) return SKY_ERR_INVALID_ARG;
    *pipeline = NULL;
    if (fseq_writer_level(writer) == 0) {
        fseq_error(error, error_len, "FSEQ pipeline: compressed files only");
        return SKY_ERR_INVALID_ARG;
    }
    if (workers < 1) workers = 1;
    if (workers > PIPELINE_MAX_WORKERS) workers = PIPELINE_MAX_WORKERS;
    uint64_t capacity = fseq_writer_max_block_frames(writer) * (workers + 1);
    if (capacity < ring_frames) capacity = ring_frames;
    uint64_t bytes = capacity * fseq_writer_channels(writer);
    sky_fseq_pipeline *p = calloc(1, sizeof *p);
    if (!p || capacity > UINT32_MAX || bytes > SIZE_MAX || !(p->ring = malloc((size_t)bytes))) {
        fseq_error(error, error_len,
                   "FSEQ pipeline: out of memory for a ring of %llu frames (%llu "
                   "bytes)",
                   (unsigned long long)capacity, (unsigned long long)bytes);
        free(p);
        return SKY_ERR_NOMEM;
    }
    p->writer = writer;
    p->frame_bytes = fseq_writer_channels(writer);
    p->level = fseq_writer_level(writer);
    p->capacity = (uint32_t)capacity;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    for (; p->workers < workers; p->workers++) {
        if (pthread_create(&p->threads[p->workers], NULL, pipeline_worker, p) != 0) {
            fseq_error(error, error_len, "FSEQ pipeline: cannot start a worker thread");
            sky_fseq_pipeline_free(p);
            return SKY_ERR_IO;
        }
    }
    *pipeline = p;
    return SKY_OK;
}

uint8_t *sky_fseq_pipeline_slot(sky_fseq_pipeline *p) {
    pthread_mutex_lock(&p->lock);
    bool room = p->committed - p->released < p->capacity && p->status == SKY_OK;
    uint64_t at = p->committed % p->capacity;
    pthread_mutex_unlock(&p->lock);
    return room ? p->ring + at * p->frame_bytes : NULL;
}

uint8_t *sky_fseq_pipeline_slot_wait(sky_fseq_pipeline *p) {
    pthread_mutex_lock(&p->lock);
    while (p->committed - p->released >= p->capacity && p->status == SKY_OK)
        pthread_cond_wait(&p->wake, &p->lock);
    bool ok = p->status == SKY_OK;
    uint64_t at = p->committed % p->capacity;
    pthread_mutex_unlock(&p->lock);
    return ok ? p->ring + at * p->frame_bytes : NULL;
}

const uint8_t *sky_fseq_pipeline_last(const sky_fseq_pipeline *p) {
    /* Only the producer moves `committed`, and the last frame's buffer is not
     * reused before the next commit (the ring has at least two buffers). */
    uint64_t committed = p->committed;
    return committed ? p->ring + ((committed - 1) % p->capacity) * p->frame_bytes : NULL;
}

void sky_fseq_pipeline_commit(sky_fseq_pipeline *p) {
    pthread_mutex_lock(&p->lock);
    p->committed++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

uint32_t sky_fseq_pipeline_queued(sky_fseq_pipeline *p, uint32_t *capacity) {
    pthread_mutex_lock(&p->lock);
    uint32_t queued = (uint32_t)(p->committed - p->released);
    pthread_mutex_unlock(&p->lock);
    if (capacity) *capacity = p->capacity;
    return queued;
}

sky_status sky_fseq_pipeline_status(sky_fseq_pipeline *p, char *error, size_t error_len) {
    pthread_mutex_lock(&p->lock);
    sky_status st = p->status;
    if (st != SKY_OK) fseq_error(error, error_len, "%s", p->error);
    pthread_mutex_unlock(&p->lock);
    return st;
}

static void pipeline_join(sky_fseq_pipeline *p) {
    pthread_mutex_lock(&p->lock);
    p->finishing = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->workers; i++) pthread_join(p->threads[i], NULL);
    p->workers = 0;
}

sky_status sky_fseq_pipeline_finish(sky_fseq_pipeline *p, char *error, size_t error_len) {
    if (!p) return SKY_ERR_INVALID_ARG;
    pipeline_join(p);
    return sky_fseq_pipeline_status(p, error, error_len);
}

void sky_fseq_pipeline_free(sky_fseq_pipeline *p) {
    if (!p) return;
    if (p->workers) { /* not finished: stop without writing the rest */
        pthread_mutex_lock(&p->lock);
        pipeline_fail(p, SKY_ERR_INVALID_ARG, "the pipeline was freed unfinished");
        pthread_mutex_unlock(&p->lock);
        pipeline_join(p);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->ring);
    free(p);
}
