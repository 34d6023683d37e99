/* A one-bit wake-up channel over an eventfd: any thread sends, one owner receives or
 * polls the fd. The reactor's mailbox uses it to wake epoll_wait; the socket core can
 * use it to wake a thread blocked in send/recv or to expose SINEW_FD. */
#ifndef SINEW_IO_SIGNALER_H
#define SINEW_IO_SIGNALER_H

typedef struct sn_signaler {
    int fd; /* eventfd, non-blocking, close-on-exec; -1 when closed */
} sn_signaler;

/* Opens the eventfd. 0 or -errno (EMFILE, ENFILE, ENOMEM). */
int sn_signaler_init(sn_signaler *s);

/* Closes the fd; idempotent. No other thread may use s concurrently. */
void sn_signaler_close(sn_signaler *s);

/* Any thread, never blocks: makes the fd readable. Signals coalesce: several sends
 * before one recv are seen as one. 0 or -errno. */
int sn_signaler_send(sn_signaler *s);

/* Owner thread, never blocks: drains pending signals. 1 if at least one was pending,
 * 0 if none, -errno on failure. */
int sn_signaler_recv(sn_signaler *s);

/* Owner thread: blocks until a signal is pending or timeout_ms passes (-1: forever,
 * 0: poll), without consuming it. 0 when signalled, -EAGAIN on timeout, -EINTR. */
int sn_signaler_wait(sn_signaler *s, int timeout_ms);

/* The pollable fd (readable while a signal is pending). */
int sn_signaler_fd(const sn_signaler *s);

#endif
