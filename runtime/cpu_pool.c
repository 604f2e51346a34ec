/*
 * cpu_pool.c - the CPU backend's worker threads: one frame's LEDs split into
 * contiguous runs, one per thread (the caller's thread runs the first), each
 * written straight into the destination (the frame file's slot).
 *
 * A frame of plasma.sky on 103,680 LEDs takes about 0.25 ms per core, so the
 * hand-off must cost microseconds: workers spin on a generation counter for
 * a short while after each frame and only then sleep on a condition variable.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sky/runtime.h"

/* Spins (reads of the counter) before a worker sleeps: ~50 us on an x86-64 core. */
#define POOL_SPINS 20000
/* Runs start at multiples of this many LEDs: whole cache lines of output (3 bytes per LED). */
#define POOL_ALIGN 64u
#define POOL_MAX_THREADS 256u

typedef struct pool_worker {
    struct sky_cpu_pool *pool;
    uint32_t index;
    pthread_t thread;
} pool_worker;

struct sky_cpu_pool {
    uint32_t threads; /* including the caller */
    pool_worker *workers;
    uint32_t started;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    atomic_uint generation;
    atomic_uint remaining;
    atomic_bool stop;
    /* the job of the current generation */
    const sky_cpu_kernel *kernel;
    const sky_cpu_args *args;
};

/* LEDs [begin, end) of thread `index` of `threads`. */
static void pool_range(uint32_t led_count, uint32_t threads, uint32_t index, uint32_t *begin,
                       uint32_t *end) {
    uint64_t per = ((uint64_t)led_count + threads - 1) / threads;
    per = (per + POOL_ALIGN - 1) / POOL_ALIGN * POOL_ALIGN;
    uint64_t b = per * index, e = b + per;
    *begin = (uint32_t)(b < led_count ? b : led_count);
    *end = (uint32_t)(e < led_count ? e : led_count);
}

static void pool_run_part(struct sky_cpu_pool *pool, uint32_t index) {
    uint32_t begin, end;
    pool_range(pool->args->led_count, pool->threads, index, &begin, &end);
    sky_cpu_kernel_run(pool->kernel, pool->args, begin, end);
}

static void *pool_main(void *context) {
    pool_worker *w = context;
    struct sky_cpu_pool *pool = w->pool;
    /* 0, not a load: a run may bump the counter before this thread first looks at it */
    unsigned seen = 0;
    for (;;) {
        unsigned now = seen;
        for (int spin = 0; spin < POOL_SPINS && now == seen; spin++)
            now = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (now == seen) {
            pthread_mutex_lock(&pool->lock);
            while ((now = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->work, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = now;
        pool_run_part(pool, w->index);
        if (atomic_fetch_sub_explicit(&pool->remaining, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
}

uint32_t sky_cpu_threads_default(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : (n > (long)POOL_MAX_THREADS ? POOL_MAX_THREADS : (uint32_t)n);
}

sky_status sky_cpu_pool_create(uint32_t threads, sky_cpu_pool **out, char *error,
                               size_t error_len) {
    if (!out) return SKY_ERR_INVALID_ARG;
    *out = NULL;
    if (threads == 0) threads = sky_cpu_threads_default();
    if (threads > POOL_MAX_THREADS) {
        if (error && error_len)
            snprintf(error, error_len, "CPU backend: %u threads asked for, at most %u", threads,
                     POOL_MAX_THREADS);
        return SKY_ERR_INVALID_ARG;
    }
    struct sky_cpu_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return SKY_ERR_NOMEM;
    pool->threads = threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->workers = calloc(threads, sizeof *pool->workers);
    if (!pool->workers) {
        sky_cpu_pool_free(pool);
        return SKY_ERR_NOMEM;
    }
    for (uint32_t i = 1; i < threads; i++) {
        pool->workers[i] = (pool_worker){.pool = pool, .index = i};
        int rc = pthread_create(&pool->workers[i].thread, NULL, pool_main, &pool->workers[i]);
        if (rc != 0) {
            if (error && error_len)
                snprintf(error, error_len, "CPU backend: cannot start worker thread %u: %s", i,
                         strerror(rc));
            sky_cpu_pool_free(pool);
            return SKY_ERR_NOMEM;
        }
        pool->started = i;
    }
    *out = pool;
    return SKY_OK;
}

uint32_t sky_cpu_pool_threads(const sky_cpu_pool *pool) {
    return pool ? pool->threads : 0;
}

void sky_cpu_pool_run(sky_cpu_pool *pool, const sky_cpu_kernel *kernel, const sky_cpu_args *args) {
    if (!pool || !kernel || !args) return;
    if (pool->threads == 1 || args->led_count <= POOL_ALIGN) {
        sky_cpu_kernel_run(kernel, args, 0, args->led_count);
        return;
    }
    pool->kernel = kernel;
    pool->args = args;
    atomic_store(&pool->remaining, pool->threads - 1);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    pool_run_part(pool, 0);
    for (int spin = 0; spin < POOL_SPINS && atomic_load(&pool->remaining) != 0; spin++) {
    }
    if (atomic_load(&pool->remaining) != 0) {
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->remaining) != 0) pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
}

void sky_cpu_pool_free(sky_cpu_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (uint32_t i = 1; i <= pool->started; i++) pthread_join(pool->workers[i].thread, NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->done);
    free(pool->workers);
    free(pool);
}
