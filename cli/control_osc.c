/*
 * control_osc.c - the control API over OSC (UDP): /sky/param/NAME f [f f],
 * /sky/brightness f, /sky/blackout, /sky/freeze, /sky/next, /sky/select.
 *
 * The socket is this file's own (so that it binds 127.0.0.1 unless asked
 * otherwise: liblo 0.31's servers bind every interface); each datagram is
 * decoded by liblo (lo_message_deserialise, through control_parse.c, the code
 * the fuzz target drives) and run against the show on this thread. OSC has
 * no replies: a message that cannot be used is reported on stderr and
 * ignored, at most one report a second (a flood of bad packets must not fill
 * a log), with a count of the ones not printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control_parse.h"
#include "sky/frame.h"

/* The largest UDP payload: every datagram fits, none is cut short. */
#define OSC_DATAGRAM_MAX 65536
#define OSC_REPORT_INTERVAL_NS 1000000000ull

struct control_osc {
    const char *cmd;
    live_show *show;
    int fd, stop_fd;
    pthread_t thread;
    bool started;
    uint64_t last_report;
    unsigned long suppressed;
    unsigned char buffer[OSC_DATAGRAM_MAX];
};

static void osc_report(control_osc *osc, const char *what) {
    uint64_t now = sky_frame_now_ns();
    if (osc->last_report && now - osc->last_report < OSC_REPORT_INTERVAL_NS) {
        osc->suppressed++;
        return;
    }
    if (osc->suppressed)
        fprintf(stderr, "%s: OSC: %s (and %lu more messages ignored)\n", osc->cmd, what,
                osc->suppressed);
    else
        fprintf(stderr, "%s: OSC: %s; ignored\n", osc->cmd, what);
    osc->last_report = now;
    osc->suppressed = 0;
}

static void osc_handle(control_osc *osc, size_t size) {
    char message[512];
    control_command command;
    if (!control_osc_parse_datagram(osc->buffer, size, &command, message, sizeof message)) {
        osc_report(osc, message);
        return;
    }
    char *response = NULL;
    int status = control_execute(osc->show, &command, &response);
    if (status != 200) {
        char what[768];
        snprintf(what, sizeof what, "%s", response ? response : "out of memory");
        osc_report(osc, what);
    }
    free(response);
    control_command_clear(&command);
}

static void *osc_thread(void *arg) {
    control_osc *osc = arg;
    struct pollfd fds[2] = {{.fd = osc->fd, .events = POLLIN}, {.fd = osc->stop_fd, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "%s: OSC: poll failed: %s; OSC stops\n", osc->cmd, strerror(errno));
            break;
        }
        if (fds[1].revents) break;
        ssize_t n = recv(osc->fd, osc->buffer, sizeof osc->buffer, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            /* ICMP errors and the like surface here on UDP; the socket stays usable. */
            continue;
        }
        osc_handle(osc, (size_t)n);
    }
    return NULL;
}

bool control_osc_start(const char *cmd, const char *spec, bool have_token, live_show *show,
                       control_osc **out) {
    *out = NULL;
    uint32_t ip = 0;
    uint16_t port = 0;
    if (!control_parse_address(cmd, "--osc", spec, "127.0.0.1", &ip, &port)) return false;
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &ip, host, sizeof host);
    if (!control_is_loopback(ip) && !have_token) {
        fprintf(stderr, "%s: --osc %s: %s\n", cmd, spec, CONTROL_OSC_OPEN);
        return false;
    }
    control_osc *osc = calloc(1, sizeof *osc);
    if (!osc) return fprintf(stderr, "%s: out of memory\n", cmd), false;
    osc->cmd = cmd;
    osc->show = show;
    osc->stop_fd = eventfd(0, EFD_CLOEXEC);
    osc->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = ip;
    socklen_t addr_len = sizeof addr;
    if (osc->stop_fd < 0 || osc->fd < 0 || bind(osc->fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(osc->fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        fprintf(stderr, "%s: --osc %s: cannot listen on UDP %s:%u: %s\n", cmd, spec, host, port,
                strerror(errno));
        control_osc_stop(osc);
        return false;
    }
    int rc = pthread_create(&osc->thread, NULL, osc_thread, osc);
    if (rc != 0) {
        fprintf(stderr, "%s: --osc: cannot start a thread: %s\n", cmd, strerror(rc));
        control_osc_stop(osc);
        return false;
    }
    osc->started = true;
    fprintf(stderr, "%s: OSC on udp://%s:%u\n", cmd, host, ntohs(addr.sin_port));
    fflush(stderr);
    *out = osc;
    return true;
}

void control_osc_stop(control_osc *osc) {
    if (!osc) return;
    if (osc->started) {
        uint64_t one = 1;
        if (write(osc->stop_fd, &one, sizeof one) != sizeof one)
            fprintf(stderr, "%s: OSC: cannot wake its thread: %s\n", osc->cmd, strerror(errno));
        pthread_join(osc->thread, NULL);
    }
    if (osc->fd >= 0) close(osc->fd);
    if (osc->stop_fd >= 0) close(osc->stop_fd);
    free(osc);
}
