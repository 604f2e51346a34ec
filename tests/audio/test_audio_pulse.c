/*
 * test_audio_pulse.c - live capture through a real PulseAudio server: each
 * test starts a private `pulseaudio` (its own HOME, runtime directory and
 * socket in a scratch directory, anonymous auth, a 48 kHz mono float
 * null sink `skytest`), plays a generated WAV into the sink with paplay and
 * captures the sink's monitor, `skytest.monitor`, through sky_audio_open
 * (what `--audio` calls); the tones show in their bands and the clicks give
 * beats on the click grid; "default" is that monitor too. A server killed
 * mid-stream, or the source removed under the stream, leaves a source that
 * reads as silence and says why; a stopped (frozen) server does not keep
 * sky_audio_free from returning. And `sky run --audio skytest.monitor` end
 * to end: its frames light with the tone, and it notes the server's death
 * and goes on.
 *
 * The daemon runs as root too: it warns ("not intended to be run as root")
 * but serves a per-user instance, which is all the test needs (--system
 * would want the pulse user and system-wide sockets). It dies with the test
 * process (PR_SET_PDEATHSIG) and is killed and reaped in every teardown.
 * Everything waits on progress (the server answers, hops analysed, paplay
 * exited), never on a guessed delay; STUCK_S only turns a hang into a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"
#include "sky/audio.h"
#include "sky/frame.h"
#include "wav_gen.h"

#define RATE    48000u
#define HOP     256u
#define STUCK_S 120.0

static char dir[256];
static pid_t daemon_pid = -1, player_pid = -1;
static sky_audio *capture;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *path_in(const char *name) {
    static char paths[4][320];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static uint64_t hops_of(const sky_audio *a) {
    return (uint64_t)llround(sky_audio_time(a) * RATE / HOP);
}

/* Kills and reaps a child; SIGCONT first, in case a test left it stopped. */
static void stop_child(pid_t *pid) {
    if (*pid <= 0) return;
    kill(*pid, SIGKILL);
    kill(*pid, SIGCONT);
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {
    }
    *pid = -1;
}

/* fork + exec with stdout/stderr appended to dir/log_name; the child dies with us. */
static pid_t spawn(const char *log_name, char *const argv[]) {
    const char *log = path_in(log_name);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        execvp(argv[0], argv);
        dprintf(2,
                "cannot run %s: %s (scripts/install-deps.sh installs pulseaudio and "
                "pulseaudio-utils)\n",
                argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static char *slurp(const char *path) {
    static char text[8192];
    text[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return text;
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int group_setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sky-pulse-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    if (mkdir(path_in("home"), 0700) != 0 || mkdir(path_in("run"), 0700) != 0) return -1;
    FILE *f = fopen(path_in("client.conf"), "w");
    if (!f || fputs("autospawn = no\n", f) < 0 || fclose(f) != 0) return -1;
    /* The daemon and every client (this process, paplay, pactl, sky) see only the scratch
     * directory: no cookie or config written to the real home, no session server found. */
    char server[400];
    snprintf(server, sizeof server, "unix:%s", path_in("native"));
    return setenv("HOME", path_in("home"), 1) || setenv("XDG_RUNTIME_DIR", path_in("run"), 1) ||
                   setenv("PULSE_RUNTIME_PATH", path_in("run"), 1) ||
                   setenv("XDG_CONFIG_HOME", path_in("home"), 1) ||
                   setenv("PULSE_COOKIE", path_in("cookie"), 1) ||
                   setenv("PULSE_CLIENTCONFIG", path_in("client.conf"), 1) ||
                   setenv("PULSE_SERVER", server, 1)
               ? -1
               : 0;
}

static int group_teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* pactl info answers: the daemon serves its socket. */
static int pactl(char *const argv[]);

static bool server_answers(void) {
    char *const argv[] = {"pactl", "info", NULL};
    return pactl(argv) == 0;
}

static int start_daemon(void **state) {
    (void)state;
    unlink(path_in("native"));
    char socket_arg[400];
    snprintf(socket_arg, sizeof socket_arg,
             "module-native-protocol-unix socket=%s auth-anonymous=1", path_in("native"));
    char *const argv[] = {"pulseaudio",
                          "-n", /* no default.pa: only the modules below */
                          "--daemonize=no",
                          "--use-pid-file=no",
                          "--exit-idle-time=-1",
                          "--realtime=no",
                          "--high-priority=no",
                          "--log-target=stderr",
                          "-L",
                          "module-null-sink sink_name=skytest rate=48000 channels=1 "
                          "format=float32le",
                          "-L",
                          socket_arg,
                          NULL};
    daemon_pid = spawn("pulseaudio.log", argv);
    double start = now_s();
    while (!server_answers()) {
        int status;
        if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
            daemon_pid = -1;
            fail_msg("pulseaudio exited (status %d): %s", status, slurp(path_in("pulseaudio.log")));
        }
        if (now_s() - start > STUCK_S)
            fail_msg("pulseaudio did not answer in %g s: %s", STUCK_S,
                     slurp(path_in("pulseaudio.log")));
        usleep(10000);
    }
    return 0;
}

static int stop_all(void **state) {
    cli_kill_children(state); /* a sky run a failed test left */
    stop_child(&player_pid);
    /* A stopped server must be continued before the capture can close (test_server_stalls). */
    if (daemon_pid > 0) kill(daemon_pid, SIGCONT);
    sky_audio_free(capture);
    capture = NULL;
    stop_child(&daemon_pid);
    return 0;
}

static void open_monitor(void) {
    char err[500] = "";
    if (sky_audio_open("skytest.monitor", NULL, &capture, err, sizeof err) != SKY_OK)
        fail_msg("skytest.monitor: %s", err);
}

/* Updates until `hops` more hops have been analysed; the last values. */
static sky_audio_values analyse_hops(uint64_t hops) {
    uint64_t until = hops_of(capture) + hops;
    sky_audio_values v;
    char err[500] = "";
    double start = now_s();
    while (hops_of(capture) < until) {
        if (sky_audio_update(capture, 0, &v, err, sizeof err) != SKY_OK) fail_msg("%s", err);
        if (now_s() - start > STUCK_S) fail_msg("no sound from skytest.monitor in %g s", STUCK_S);
        usleep(1000);
    }
    return v;
}

/* The WAV played: tones, then 120 bpm clicks on the grid of the high tone's end. */
#define LEAD_S      0.3
#define LOW_HZ      100.0
#define LOW_S       1.0
#define GAP_S       0.5
#define HIGH_HZ     6000.0
#define HIGH_S      1.0
#define CLICK_EVERY 0.5
/* How far the beat detector puts two pulses from a whole number of clicks apart, looks aside:
 * a few hops of 5.3 ms (measured: at most 0.017 s in 10 runs here, so 0.05 s is a wide margin;
 * a grid check assuming 0.6 s clicks fails with 0.104 s). */
#define BEAT_JITTER_S 0.05
#define SOUND_S     10.0
/* Offsets from the start of the low tone. */
#define HIGH_AT   (LOW_S + GAP_S)
#define CLICKS_AT (HIGH_AT + HIGH_S + CLICK_EVERY)

static int loudest_band(const sky_audio_values *v) {
    int best = 0;
    for (int k = 1; k < SKY_AUDIO_BANDS; k++)
        if (v->band[k] > v->band[best]) best = k;
    return best;
}

static void test_capture_hears_the_playback(void **state) {
    (void)state;
    size_t n;
    float *s = wav_buffer(RATE, SOUND_S, &n);
    assert_non_null(s);
    wav_add_sine(s, n, RATE, LOW_HZ, 0.5, LEAD_S, LEAD_S + LOW_S);
    wav_add_sine(s, n, RATE, HIGH_HZ, 0.5, LEAD_S + HIGH_AT, LEAD_S + HIGH_AT + HIGH_S);
    wav_add_clicks(s, n, RATE, LEAD_S + CLICKS_AT, CLICK_EVERY, 0.8);
    assert_true(wav_write(path_in("sound.wav"), RATE, 1, s, n));
    free(s);

    open_monitor();
    /* The stream runs (the null sink's silence) before anything plays. */
    sky_audio_values v = analyse_hops(10);
    assert_true(v.level == 0);
    char *const argv[] = {"paplay", "--device=skytest", (char *)path_in("sound.wav"), NULL};
    player_pid = spawn("paplay.log", argv);
    /* Stream times (s) of the values seen, relative to the first hop where the bass rose:
     * the low tone's start, whenever playback began. A look analyses all that arrived since
     * the last one and shows the last hop's values, so an edge seen in a look happened within
     * its span: on a busy machine a look may cover 0.2 s or more, and tone_span widens the
     * margins by the span of the look that saw the tone start. */
    double tone_at = -1, tone_span = 0, played_until = -1, start = now_s();
    unsigned low = 0, high = 0, pulses = 0, off_grid = 0;
    double last_beat = 0, last_span = 0, worst_dev = 0;
    float prev_beat = 0;
    double first_sound = -1; /* the first stream time with level > 0.01 */
    char err[500] = "";
    for (;;) {
        uint64_t before = hops_of(capture);
        double t_before = sky_audio_time(capture);
        if (sky_audio_update(capture, 0, &v, err, sizeof err) != SKY_OK) fail_msg("%s", err);
        double t = sky_audio_time(capture);
        double span = t - t_before;
        if (player_pid > 0) {
            int status;
            pid_t done = waitpid(player_pid, &status, WNOHANG);
            if (done == player_pid) {
                player_pid = -1;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    fail_msg("paplay failed (%d): %s", status, slurp(path_in("paplay.log")));
                played_until = t;
            }
        }
        /* paplay exits once the sink played everything; 0.3 s more covers the monitor's
         * fragments still on their way. */
        if (played_until >= 0 && t > played_until + 0.3) break;
        if (now_s() - start > STUCK_S + SOUND_S) fail_msg("the playback never ended");
        if (hops_of(capture) == before) {
            usleep(1000);
            continue;
        }
        if (first_sound < 0 && v.level > 0.01) first_sound = t;
        if (tone_at < 0 && v.bass > 0.5) tone_at = t, tone_span = span;
        if (tone_at < 0) continue;
        double r = t - tone_at;
        /* Margins of 0.15 s around each edge: the time between two looks, and the FFT
         * window (43 ms) and the release (100 ms) at the edges; the tone began up to
         * tone_span before tone_at. */
        if (r > 0.15 && r + tone_span < LOW_S - 0.15) {
            if (v.level < 0.5 || v.bass < 0.5 || v.treble > 0.1 || loudest_band(&v) != 2)
                fail_msg("%.3f s into the low tone: level %.3f bass %.3f treble %.3f band %d", r,
                         v.level, v.bass, v.treble, loudest_band(&v));
            low++;
        }
        if (r > HIGH_AT + 0.15 && r + tone_span < HIGH_AT + HIGH_S - 0.15) {
            if (v.level < 0.5 || v.treble < 0.5 || v.bass > 0.1 || loudest_band(&v) != 13)
                fail_msg("%.3f s into the high tone: level %.3f bass %.3f treble %.3f band %d",
                         r - HIGH_AT, v.level, v.bass, v.treble, loudest_band(&v));
            high++;
        }
        if (v.beat > prev_beat + 0.3) {
            /* The clicks come every CLICK_EVERY: each pulse a whole number of clicks after
             * the one before, within BEAT_JITTER_S + the spans of the two looks that saw
             * them (a pulse may have risen anywhere in its look). */
            if (pulses > 0) {
                double gap = r - last_beat;
                double off = fmod(gap, CLICK_EVERY);
                double allowed = BEAT_JITTER_S + span + last_span;
                double dev = fmin(off, CLICK_EVERY - off);
                if (gap < CLICK_EVERY - allowed || dev > allowed) {
                    printf("a beat %.3f s after the one before, off the click grid by %.3f s "
                           "(allowed %.3f)\n", gap, dev, allowed);
                    off_grid++;
                }
                worst_dev = fmax(worst_dev, dev);
            }
            last_beat = r, last_span = span;
            pulses++;
        }
        prev_beat = v.beat;
    }
    printf("tone at %.3f s of stream (seen in a look of %.3f s); %u/%u looks in the low/high tone; %u beat pulses, %u off "
           "the grid (worst %.3f s); bpm %.2f; first sound at %.3f s; %llu blocks dropped\n",
           tone_at, tone_span, low, high, pulses, off_grid, worst_dev, v.bpm, first_sound, sky_audio_dropped(capture));
    assert_true(tone_at > 0);
    /* Silence until the tone: the level rises at once, the bass within the FFT window. */
    assert_true(first_sound >= tone_at - 0.1);
    assert_true(low > 0 && high > 0);
    assert_true(pulses >= 4); /* 12 clicks */
    assert_int_equal(off_grid, 0);
}

/* The server dies mid-stream: the source says why, naming the device, and reads as silence. */
static void test_server_dies_mid_stream(void **state) {
    (void)state;
    open_monitor();
    analyse_hops(10);
    stop_child(&daemon_pid);
    sky_audio_values v;
    char err[500] = "";
    sky_status st;
    double start = now_s();
    while ((st = sky_audio_update(capture, 0, &v, err, sizeof err)) == SKY_OK) {
        if (now_s() - start > STUCK_S) fail_msg("the capture never noticed the server's death");
        usleep(1000);
    }
    printf("%s\n", err);
    assert_int_equal(st, SKY_ERR_STALE);
    assert_non_null(strstr(err, "skytest.monitor"));
    assert_non_null(strstr(err, "PulseAudio"));
    assert_true(v.level == 0);
}

/* `--audio default` is the server's default source: here the null sink's monitor. */
static void test_default_is_the_servers_default(void **state) {
    (void)state;
    size_t n;
    float *s = wav_buffer(RATE, 0.5, &n);
    assert_non_null(s);
    wav_add_sine(s, n, RATE, 440, 0.5, 0, 0.5);
    assert_true(wav_write(path_in("beep.wav"), RATE, 1, s, n));
    free(s);
    char err[500] = "";
    if (sky_audio_open("default", NULL, &capture, err, sizeof err) != SKY_OK)
        fail_msg("default: %s", err);
    analyse_hops(10);
    char *const argv[] = {"paplay", "--device=skytest", (char *)path_in("beep.wav"), NULL};
    player_pid = spawn("paplay.log", argv);
    sky_audio_values v = {0};
    double played_until = -1, start = now_s();
    /* Until the level shows the beep, or 0.3 s of stream after paplay is done without it. */
    while (v.level < 0.5 && (played_until < 0 || sky_audio_time(capture) < played_until + 0.3)) {
        if (sky_audio_update(capture, 0, &v, err, sizeof err) != SKY_OK) fail_msg("%s", err);
        int status;
        if (player_pid > 0 && waitpid(player_pid, &status, WNOHANG) == player_pid) {
            player_pid = -1;
            played_until = sky_audio_time(capture);
        }
        if (now_s() - start > STUCK_S) fail_msg("the beep never ended");
        usleep(1000);
    }
    assert_true(v.level >= 0.5);
}

/* Runs `pactl args...` to its end; its exit status. */
static int pactl(char *const argv[]) {
    pid_t pid = spawn("pactl.log", argv);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) fail_msg("waitpid: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        fail_msg("%s", slurp(path_in("pactl.log")));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The source goes away (a USB microphone unplugged: here its sink's module unloaded, and no
 * other source to move to): the server ends the stream and the source says so. */
static void test_source_removed(void **state) {
    (void)state;
    open_monitor();
    analyse_hops(10);
    char *const argv[] = {"pactl", "unload-module", "module-null-sink", NULL};
    assert_int_equal(pactl(argv), 0);
    sky_audio_values v;
    char err[500] = "";
    sky_status st;
    double start = now_s();
    while ((st = sky_audio_update(capture, 0, &v, err, sizeof err)) == SKY_OK) {
        if (now_s() - start > STUCK_S) fail_msg("the capture never noticed the source go");
        usleep(1000);
    }
    printf("%s\n", err);
    assert_int_equal(st, SKY_ERR_STALE);
    assert_non_null(strstr(err, "skytest.monitor"));
    assert_non_null(strstr(err, "the source went away"));
    assert_non_null(strstr(err, "PulseAudio"));
}

/* A frozen server (SIGSTOP: its socket open, no data): closing returns all the same. */
static void test_server_stalls(void **state) {
    (void)state;
    open_monitor();
    analyse_hops(10);
    assert_int_equal(kill(daemon_pid, SIGSTOP), 0);
    int status;
    assert_int_equal(waitpid(daemon_pid, &status, WUNTRACED), daemon_pid);
    assert_true(WIFSTOPPED(status));
    /* What the capture thread had in hand; then nothing more comes. */
    sky_audio_values v;
    char err[500] = "";
    assert_int_equal(sky_audio_update(capture, 0, &v, err, sizeof err), SKY_OK);
    sky_audio_free(capture); /* a hang here is the failure (ctest's TIMEOUT) */
    capture = NULL;
}

/* The sky run of test_sky_run_hears_the_monitor: its frames, as they come. */
typedef struct {
    cli_proc proc;
    sky_frame_reader *reader;
    uint8_t pixels[3 * 4]; /* strip:4 */
    uint64_t last;
} show_t;

/* The next new frame of the show; its brightest byte (the pattern's audio.level * 255). */
static int next_frame(show_t *show) {
    double start = now_s();
    for (;;) {
        uint64_t frame = 0;
        char error[512] = "";
        sky_status st = sky_frame_reader_read(show->reader, show->pixels, sizeof show->pixels,
                                              &frame, error, sizeof error);
        if (st == SKY_OK && frame > show->last) {
            show->last = frame;
            int brightest = 0;
            for (size_t i = 0; i < sizeof show->pixels; i++)
                if (show->pixels[i] > brightest) brightest = show->pixels[i];
            return brightest;
        }
        if (st != SKY_OK && st != SKY_ERR_AGAIN) fail_msg("reading the frame file: %s", error);
        if (!cli_alive(&show->proc))
            fail_msg("sky run exited with %d: %s", cli_exit_code(&show->proc),
                     cli_slurp(show->proc.err_path));
        if (now_s() - start > STUCK_S) fail_msg("no new frame in %g s", STUCK_S);
        usleep(1000);
    }
}

static bool player_done(void) {
    int status;
    if (player_pid <= 0) return true;
    if (waitpid(player_pid, &status, WNOHANG) != player_pid) return false;
    player_pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("paplay failed (%d): %s", status, slurp(path_in("paplay.log")));
    return true;
}

/*
 * `sky run --audio skytest.monitor` end to end: a pattern that shows audio.level is dark while
 * the sink is silent, lights while paplay plays a tone into it, and goes dark again after;
 * when the server dies the show notes it once and goes on.
 */
static void test_sky_run_hears_the_monitor(void **state) {
    (void)state;
    size_t n;
    float *s = wav_buffer(RATE, 1.0, &n);
    assert_non_null(s);
    wav_add_sine(s, n, RATE, 440, 0.5, 0, 1.0);
    assert_true(wav_write(path_in("tone.wav"), RATE, 1, s, n));
    free(s);
    FILE *f = fopen(path_in("level.sky"), "w");
    assert_non_null(f);
    assert_true(fputs("out vec3(audio.level)\n", f) >= 0 && fclose(f) == 0);
    static show_t show;
    memset(&show, 0, sizeof show);
    char frame_path[320], pattern[320];
    snprintf(frame_path, sizeof frame_path, "%s", path_in("leds.frame"));
    snprintf(pattern, sizeof pattern, "%s", path_in("level.sky"));
    cli_spawn(&show.proc, dir,
              (const char *const[]){"run", pattern, "--device", "cpu", "--layout", "strip:4",
                                    "--fps", "30", "--frame", frame_path, "--audio",
                                    "skytest.monitor", NULL});
    double start = now_s();
    char error[512] = "";
    while (sky_frame_reader_open(frame_path, &show.reader, error, sizeof error) != SKY_OK) {
        if (!cli_alive(&show.proc))
            fail_msg("sky run exited with %d: %s", cli_exit_code(&show.proc),
                     cli_slurp(show.proc.err_path));
        if (now_s() - start > STUCK_S) fail_msg("no frame file in %g s: %s", STUCK_S, error);
        usleep(10000);
    }
    assert_int_equal(sky_frame_reader_info(show.reader)->led_count, 4);
    /* Silence: 10 frames, all dark. */
    for (int i = 0; i < 10; i++) {
        int b = next_frame(&show);
        if (b > 2)
            fail_msg("frame %llu lit (%d) before anything played", (unsigned long long)show.last,
                     b);
    }
    char *const argv[] = {"paplay", "--device=skytest", (char *)path_in("tone.wav"), NULL};
    player_pid = spawn("paplay.log", argv);
    /* The tone: a bright frame before paplay is done, or within 30 frames (1 s) after. */
    int brightest = 0, after = 0;
    unsigned lit = 0, frames = 0;
    while (brightest < 200) {
        int b = next_frame(&show);
        frames++;
        if (b > brightest) brightest = b;
        if (b >= 200) lit++;
        if (player_done() && ++after > 30) break;
    }
    /* Dark again: the level falls with its 100 ms time constant; within 60 frames (2 s). */
    int dark_after = -1;
    for (int i = 0; i < 60 * 4 && dark_after < 0; i++) {
        int b = next_frame(&show);
        frames++;
        if (b >= 200) lit++;
        if (player_done() && b <= 2) dark_after = i;
        if (player_done() && i > 60 + after) break;
    }
    printf("sky run: brightest %d, %u of %u frames lit, dark again %d frames after it first lit\n",
           brightest, lit, frames, dark_after);
    assert_true(brightest >= 200);
    assert_true(dark_after >= 0);
    /* The server dies: one note, the show goes on (5 more frames), exit 0 on SIGTERM. */
    stop_child(&daemon_pid);
    start = now_s();
    for (;;) {
        char *err = cli_slurp(show.proc.err_path);
        bool noted =
            strstr(err, "note: audio capture `skytest.monitor` stopped: PulseAudio") != NULL;
        free(err);
        if (noted) break;
        next_frame(&show);
        if (now_s() - start > STUCK_S) fail_msg("no note on the server's death");
    }
    for (int i = 0; i < 5; i++) next_frame(&show);
    assert_int_equal(kill(show.proc.pid, SIGTERM), 0);
    assert_true(cli_wait(&show.proc, STUCK_S));
    char *err = cli_slurp(show.proc.err_path);
    printf("%s", err);
    assert_int_equal(cli_exit_code(&show.proc), 0);
    free(err);
    sky_frame_reader_free(show.reader);
}

/* One test by name when given one (scripts/test-arm64.sh runs them so, leaving out the last). */
int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capture_hears_the_playback, start_daemon, stop_all),
        cmocka_unit_test_setup_teardown(test_default_is_the_servers_default, start_daemon,
                                        stop_all),
        cmocka_unit_test_setup_teardown(test_server_dies_mid_stream, start_daemon, stop_all),
        cmocka_unit_test_setup_teardown(test_source_removed, start_daemon, stop_all),
        cmocka_unit_test_setup_teardown(test_server_stalls, start_daemon, stop_all),
        cmocka_unit_test_setup_teardown(test_sky_run_hears_the_monitor, start_daemon, stop_all),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
