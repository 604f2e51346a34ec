/*
 * cpu_pool.c - the CPU backend's worker threads: one frame's LEDs split into
 * contiguous runs, one per thread (the caller's thread runs the first), each
 * written straight into the destination (the frame file's slot).
 *
 * A frame of plasma.sky on 103,680 LEDs takes about 0.25 ms per core, so the
 * hand-off must cost microseconds: after each frame the workers spin on a
 * generation counter for up to POOL_SPIN_NS, and the caller on the count of
 * runs still going, before they sleep on a condition variable. A futex
 * wake-up costs tens of microseconds here: with a spin of a fixed ~10 us
 * (20,000 loads) plasma on two threads ran 1.17x the one-thread SIMD loop of
 * bench_runtime (0.209 ms a frame), with 0.5 ms 1.9x (0.127-0.131 ms; idle
 * machine). At 60 fps the spin costs at most 3% of a core per worker.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sky/runtime.h"

/* How long a thread spins before it sleeps. */
#define POOL_SPIN_NS 500000u
/* Runs start at multiples of this many LEDs: whole cache lines of output (3 bytes per LED). */
#define POOL_ALIGN       64u
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

static uint64_t pool_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void pool_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Spins up to POOL_SPIN_NS while *value == unchanged; returns the last value read. */
static unsigned pool_spin(atomic_uint *value, unsigned unchanged) {
    unsigned now = atomic_load_explicit(value, memory_order_acquire);
    uint64_t until = 0;
    for (unsigned k = 0; now == unchanged; k++) {
        if ((k & 63u) == 0) { /* the clock every 64 pauses: ~2 us */
            uint64_t t = pool_now_ns();
            if (!until)
                until = t + POOL_SPIN_NS;
            else if (t >= until)
                break;
        }
        pool_pause();
        now = atomic_load_explicit(value, memory_order_acquire);
    }
    return now;
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
        unsigned now = pool_spin(&pool->generation, seen);
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
    /* spin while some are still running (remaining != 0 means "unchanged" from the start) */
    for (unsigned left; (left = atomic_load(&pool->remaining)) != 0;)
        if (pool_spin(&pool->remaining, left) == left) break;
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
