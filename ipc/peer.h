/*
 * A framed message connection on a libevent loop (reeld's side of both
 * clients and workers). Reads with recvmsg so that descriptors passed with
 * SCM_RIGHTS are collected; writes with sendmsg so that a message's fd goes
 * out with the first byte of its frame.
 */
#ifndef REEL_PEER_H
#define REEL_PEER_H

#include <event2/event.h>

#include "msg.h"

struct peer;

/*
 * Called for each decoded message, and once at the end with m == NULL:
 * error == NULL means a clean EOF, otherwise it says what went wrong (read
 * error, bad frame, bad message, missing descriptor). After the final call
 * the peer reads nothing more. The callback owns *m (msg_clear it, close
 * m->fd) and may call peer_free() on the peer.
 */
typedef void (*peer_cb)(
    struct peer *peer, struct msg *m, const char *error, void *arg);

/* Takes ownership of fd (made non-blocking). dirs: accepted directions. */
struct peer *peer_new(
    struct event_base *base, int fd, unsigned dirs, peer_cb cb, void *arg);
/* Queues m; m->fd, if any, is duplicated and sent. 0 or -1 (errno). */
int peer_send(struct peer *peer, const struct msg *m);
/* Reads and dispatches what is already buffered in the socket, now. */
void peer_drain(struct peer *peer);
/* Bytes queued but not yet written. */
size_t peer_pending(const struct peer *peer);
int peer_fd(const struct peer *peer);
/* Closes the socket and any received descriptors not handed out. */
void peer_free(struct peer *peer);

#endif
