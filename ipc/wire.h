/*
 * Blocking framed messages, for the worker (whose loop is libav's) and the
 * command-line client. Descriptors ride along with SCM_RIGHTS.
 */
#ifndef REEL_WIRE_H
#define REEL_WIRE_H

#include <stdbool.h>
#include <sys/types.h>

#include "msg.h"

struct wire {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
	int fds[8];
	int nfds;
};

void wire_init(struct wire *w, int fd);
/* Frees buffers and closes received descriptors not handed out. */
void wire_release(struct wire *w);
/* Sends m whole; m->fd, if any, goes with it. 0 or -1 with errno. */
int wire_send(int fd, const struct msg *m);
/*
 * Receives one message of an accepted direction. Returns 0, or -1 with err
 * ("connection closed" on EOF). timeout_ms < 0 waits for ever.
 */
int wire_recv(struct wire *w, unsigned dirs, int timeout_ms, struct msg *out,
    char *err, size_t errlen);

/*
 * The socket primitives that peer.c shares. wire_sendmsg is one sendmsg
 * (MSG_NOSIGNAL) of buf with fd, if >= 0, attached by SCM_RIGHTS.
 * wire_recvmsg is one recvmsg (MSG_CMSG_CLOEXEC) that appends passed
 * descriptors to fds[*nfds .. maxfds); any that do not fit, or that the
 * kernel truncated, are closed and set *lost. Both retry EINTR and return
 * the byte count or -1 with errno.
 */
ssize_t wire_sendmsg(int sock, const void *buf, size_t len, int fd);
ssize_t wire_recvmsg(int sock, void *buf, size_t len, int *fds, int maxfds,
    int *nfds, bool *lost);

#endif
