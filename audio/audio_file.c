/*
 * audio_file.c - a sound file (WAV, FLAC, anything libsndfile reads) as a
 * source of mono hops, looped or followed by silence.
 *
 * libsndfile decodes; the channels are averaged into mono. A file that
 * opens but has no samples, or a truncated one whose first hop cannot be
 * read, is refused at open, naming the file, so that a show never starts on
 * a source that cannot play.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sndfile.h>

#include "audio_int.h"

struct audio_file {
    SNDFILE *sf;
    SF_INFO info;
    bool loop;
    bool ended;
    float *frames; /* AUDIO_HOP * channels interleaved */
    char *path;
};

static sky_status open_error(const char *path, char *error, size_t error_len) {
    struct stat st;
    if (stat(path, &st) != 0) {
        audio_error(error, error_len, "%s: cannot open the audio file: %s", path, strerror(errno));
        return SKY_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        audio_error(error, error_len, "%s: is a directory, not an audio file", path);
        return SKY_ERR_IO;
    }
    audio_error(error, error_len, "%s: not a readable audio file (%s)", path, sf_strerror(NULL));
    return SKY_ERR_FORMAT;
}

static sf_count_t read_mono(audio_file *file, float *mono, sf_count_t want);

void audio_file_close(audio_file *file) {
    if (!file) return;
    if (file->sf) sf_close(file->sf);
    free(file->frames);
    free(file->path);
    free(file);
}

sky_status audio_file_open(const char *path, bool loop, audio_file **out, unsigned *rate,
                           char *error, size_t error_len) {
    *out = NULL;
    audio_file *file = calloc(1, sizeof *file);
    if (!file || !(file->path = strdup(path))) {
        free(file);
        audio_error(error, error_len, "%s: out of memory", path);
        return SKY_ERR_NOMEM;
    }
    file->loop = loop;
    file->sf = sf_open(path, SFM_READ, &file->info);
    if (!file->sf) {
        sky_status st = open_error(path, error, error_len);
        audio_file_close(file);
        return st;
    }
    if (file->info.channels < 1 || file->info.channels > 64 || file->info.frames <= 0 ||
        file->info.samplerate < 4000 || file->info.samplerate > 768000) {
        audio_error(error, error_len,
                    "%s: unusable audio: %d channel(s), %lld sample(s) at %d Hz (need 1 to 64 "
                    "channels, at least one sample, 4000 to 768000 Hz)",
                    path, file->info.channels, (long long)file->info.frames, file->info.samplerate);
        audio_file_close(file);
        return SKY_ERR_FORMAT;
    }
    file->frames = malloc(sizeof(float) * AUDIO_HOP * (size_t)file->info.channels);
    if (!file->frames) {
        audio_file_close(file);
        audio_error(error, error_len, "%s: out of memory", path);
        return SKY_ERR_NOMEM;
    }
    /* A truncated file can announce frames it does not hold: read the first ones now. */
    float probe[AUDIO_HOP];
    sky_status st = SKY_OK;
    if (read_mono(file, probe, AUDIO_HOP) <= 0) {
        audio_error(error, error_len,
                    "%s: no audio samples could be read: the file is truncated or damaged (%s)",
                    path, sf_strerror(file->sf));
        st = SKY_ERR_FORMAT;
    }
    if (st == SKY_OK) st = audio_file_rewind(file, error, error_len);
    if (st != SKY_OK) {
        audio_file_close(file);
        return st;
    }
    *rate = (unsigned)file->info.samplerate;
    *out = file;
    return SKY_OK;
}

sky_status audio_file_rewind(audio_file *file, char *error, size_t error_len) {
    file->ended = false;
    if (sf_seek(file->sf, 0, SEEK_SET) < 0) {
        audio_error(error, error_len, "%s: cannot seek to the start: %s", file->path,
                    sf_strerror(file->sf));
        return SKY_ERR_IO;
    }
    return SKY_OK;
}

sky_status audio_file_seek(audio_file *file, uint64_t frame, char *error, size_t error_len) {
    uint64_t length = (uint64_t)file->info.frames;
    file->ended = !file->loop && frame >= length;
    if (file->ended) return SKY_OK;
    if (sf_seek(file->sf, (sf_count_t)(frame % length), SEEK_SET) < 0) {
        audio_error(error, error_len, "%s: cannot seek: %s", file->path, sf_strerror(file->sf));
        return SKY_ERR_IO;
    }
    return SKY_OK;
}

/* Reads up to `want` frames into mono[0..); returns how many, -1 on an error. */
static sf_count_t read_mono(audio_file *file, float *mono, sf_count_t want) {
    sf_count_t got = sf_readf_float(file->sf, file->frames, want);
    if (got < 0) return -1;
    int ch = file->info.channels;
    for (sf_count_t i = 0; i < got; i++) {
        double sum = 0;
        for (int c = 0; c < ch; c++) sum += file->frames[i * ch + c];
        mono[i] = (float)(sum / ch);
    }
    return got;
}

sky_status audio_file_read_hop(audio_file *file, float *hop, char *error, size_t error_len) {
    sf_count_t filled = 0;
    int restarts = 0;
    while (filled < (sf_count_t)AUDIO_HOP && !file->ended) {
        sf_count_t got = read_mono(file, hop + filled, AUDIO_HOP - filled);
        if (got < 0 || (got == 0 && sf_error(file->sf) != SF_ERR_NO_ERROR)) {
            audio_error(error, error_len, "%s: read failed: %s", file->path, sf_strerror(file->sf));
            return SKY_ERR_IO;
        }
        filled += got;
        if (got > 0) continue;
        /* The end; a file that yields nothing right after a rewind has lost its samples. */
        if (!file->loop || ++restarts > 1) {
            file->ended = true;
            break;
        }
        sky_status st = audio_file_rewind(file, error, error_len);
        if (st != SKY_OK) return st;
    }
    memset(hop + filled, 0, (AUDIO_HOP - (size_t)filled) * sizeof *hop);
    return SKY_OK;
}
