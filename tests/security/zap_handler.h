/* Test ZAP handler (RFC 27) on its own thread, a libzmq or a sinew REP socket bound at
 * inproc://zeromq.zap.01 in that library's context. It admits PLAIN requests whose
 * password is zh->password (200, User-Id "alice", property X-Zap-Note "ok") and answers
 * everything else with zh->refuse (300, 400, 500; 200 admits all). It records the last
 * request's frames. Needs interop.h first. Never asserts on its thread. */
#ifndef SINEW_TESTS_SECURITY_ZAP_HANDLER_H
#define SINEW_TESTS_SECURITY_ZAP_HANDLER_H

#include <pthread.h>

#define ZH_FRAMES 10

typedef struct zap_handler {
    bool zmq;
    void *sock;
    pthread_t thread;
    atomic_bool stop;
    const char *password;   /* NULL: PLAIN passwords are not checked */
    int refuse;             /* the status for what is not admitted */
    const char *reply_override[6]; /* non-NULL: send these 6 frames instead (malformed) */
    int noverride;
    atomic_int requests;
    char frame[ZH_FRAMES][256]; /* last request, NUL terminated */
    size_t frame_len[ZH_FRAMES];
    int nframes;
} zap_handler;

static inline int
zh_recv(zap_handler *zh, void *buf, size_t len, bool *more)
{
    int n, m = 0;
    size_t ml = sizeof m;
    if (zh->zmq) {
        n = zmq_recv(zh->sock, buf, len, 0);
        zmq_getsockopt(zh->sock, ZMQ_RCVMORE, &m, &ml);
    } else {
        n = sinew_recv(zh->sock, buf, len, 0);
        sinew_getsockopt(zh->sock, SINEW_RCVMORE, &m, &ml);
    }
    *more = m != 0;
    return n;
}

static inline void
zh_send(zap_handler *zh, const char *s, bool more)
{
    if (zh->zmq)
        zmq_send(zh->sock, s, strlen(s), more ? ZMQ_SNDMORE : 0);
    else
        sinew_send(zh->sock, s, strlen(s), more ? SINEW_SNDMORE : 0);
}

static inline void *
zh_main(void *arg)
{
    zap_handler *zh = arg;
    while (!atomic_load(&zh->stop)) {
        char buf[ZH_FRAMES][256];
        size_t lens[ZH_FRAMES];
        int n = 0;
        bool more = true;
        while (more) {
            char tmp[256];
            int rc = zh_recv(zh, tmp, sizeof tmp - 1, &more);
            if (rc < 0)
                break;
            if (rc > 255)
                rc = 255;
            if (n < ZH_FRAMES) {
                memcpy(buf[n], tmp, (size_t) rc);
                buf[n][rc] = 0;
                lens[n] = (size_t) rc;
                n++;
            }
        }
        if (n == 0)
            continue; /* timeout: look at stop */
        memcpy(zh->frame, buf, sizeof buf);
        memcpy(zh->frame_len, lens, sizeof lens);
        zh->nframes = n;
        if (zh->noverride > 0) {
            for (int i = 0; i < zh->noverride; i++)
                zh_send(zh, zh->reply_override[i], i + 1 < zh->noverride);
            atomic_fetch_add(&zh->requests, 1);
            continue;
        }
        bool plain = n >= 8 && strcmp(buf[5], "PLAIN") == 0;
        bool ok = plain && zh->password != NULL ? strcmp(buf[7], zh->password) == 0
                                                : zh->refuse == 200;
        char status[8];
        snprintf(status, sizeof status, "%d", ok ? 200 : zh->refuse);
        zh_send(zh, "1.0", true);
        zh_send(zh, n > 1 ? buf[1] : "", true);
        zh_send(zh, status, true);
        zh_send(zh, ok ? "OK" : "refused", true);
        zh_send(zh, ok ? "alice" : "", true);
        /* Metadata: one property X-Zap-Note = "ok". */
        static const uint8_t meta[] = {10, 'X', '-', 'Z', 'a', 'p', '-', 'N', 'o', 't', 'e',
                                       0, 0, 0, 2, 'o', 'k'};
        if (zh->zmq)
            zmq_send(zh->sock, meta, ok ? sizeof meta : 0, 0);
        else
            sinew_send(zh->sock, meta, ok ? sizeof meta : 0, 0);
        atomic_fetch_add(&zh->requests, 1);
    }
    return NULL;
}

/* Handlers still running when a test fails: the teardown stops them (a context does
 * not end while their sockets are open). */
static zap_handler *zh_running[4];

static inline void zh_stop(zap_handler *zh);

static inline void
zh_stop_all(void)
{
    for (int i = 0; i < 4; i++)
        if (zh_running[i] != NULL)
            zh_stop(zh_running[i]);
}

/* Binds the handler in the library's context (ctx) and starts its thread. */
static inline void
zh_start(zap_handler *zh, bool zmq, void *ctx)
{
    int timeo = 50, zero = 0;
    zh->zmq = zmq;
    atomic_init(&zh->stop, false);
    atomic_init(&zh->requests, 0);
    zh->sock = zmq ? zmq_socket(ctx, ZMQ_REP) : sinew_socket(ctx, SINEW_REP);
    cr_assert_not_null(zh->sock);
    if (zmq) {
        zmq_setsockopt(zh->sock, ZMQ_RCVTIMEO, &timeo, sizeof timeo);
        zmq_setsockopt(zh->sock, ZMQ_LINGER, &zero, sizeof zero);
        cr_assert_eq(zmq_bind(zh->sock, "inproc://zeromq.zap.01"), 0);
    } else {
        sinew_setsockopt(zh->sock, SINEW_RCVTIMEO, &timeo, sizeof timeo);
        sinew_setsockopt(zh->sock, SINEW_LINGER, &zero, sizeof zero);
        cr_assert_eq(sinew_bind(zh->sock, "inproc://zeromq.zap.01"), 0);
    }
    cr_assert_eq(pthread_create(&zh->thread, NULL, zh_main, zh), 0);
    for (int i = 0; i < 4; i++)
        if (zh_running[i] == NULL) {
            zh_running[i] = zh;
            break;
        }
}

static inline void
zh_stop(zap_handler *zh)
{
    for (int i = 0; i < 4; i++)
        if (zh_running[i] == zh)
            zh_running[i] = NULL;
    atomic_store(&zh->stop, true);
    pthread_join(zh->thread, NULL);
    if (zh->zmq)
        zmq_close(zh->sock);
    else
        sinew_close(zh->sock);
}

#endif
