/*
 * Blocking framed messages over a stream socket, for processes without an
 * event loop (reel-worker, reelctl). It also holds the sendmsg and recvmsg
 * primitives that the event-driven peer.c uses.
 *
 * Guarantees: a message's descriptor is attached to the first byte of its
 * frame, so it is in the receiver's queue by the time the frame is whole;
 * received descriptors are close-on-exec; bytes after a frame stay buffered
 * for the next wire_recv; the receive buffer never grows past one frame.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"
#include "wire.h"

#define WIRE_CMSG_FDS 8
#define WIRE_BUF_MIN 4096
#define WIRE_BUF_MAX (FRAME_HEADER_SIZE + FRAME_MAX)
#define WIRE_NFDS ((int)(sizeof(((struct wire *)0)->fds) / sizeof(int)))

ssize_t
wire_sendmsg(int sock, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

static void
wire_take_fds(struct msghdr *mh, int *fds, int maxfds, int *nfds, bool *lost)
{
	struct cmsghdr *c;
	size_t i, n;
	int fd;

	if (mh->msg_flags & MSG_CTRUNC)
		*lost = true;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(
			    &fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < maxfds) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				*lost = true;
			}
		}
	}
}

ssize_t
wire_recvmsg(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds,
    bool *lost)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * WIRE_CMSG_FDS)];
	} cm;
	struct iovec iov = {buf, len};
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		wire_take_fds(&mh, fds, maxfds, nfds, lost);
	return n;
}

void
wire_init(struct wire *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
}

void
wire_release(struct wire *w)
{
	int i;

	for (i = 0; i < w->nfds; i++)
		close(w->fds[i]);
	w->nfds = 0;
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* Waits for events until deadline (monotonic us, -1: none): 1, 0, -1. */
static int
wire_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {fd, events, 0};
	int64_t left;
	int n;

	for (;;) {
		left = -1;
		if (deadline >= 0) {
			left = (deadline - clock_monotonic_us() + 999) / 1000;
			if (left < 0)
				left = 0;
		}
		n = poll(&pfd, 1, (int)left);
		if (n >= 0 || errno != EINTR)
			return n > 0 ? 1 : n;
	}
}

int
wire_send(int fd, const struct msg *m)
{
	char *buf;
	size_t len, off = 0;
	ssize_t n;
	int saved;

	if (msg_encode(m, &buf, &len) != 0)
		return -1;
	while (off < len) {
		n = wire_sendmsg(
		    fd, buf + off, len - off, off == 0 ? m->fd : -1);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wire_wait(fd, POLLOUT, -1) < 0)
				break;
			continue;
		}
		if (n < 0)
			break;
		off += (size_t)n;
	}
	saved = errno;
	free(buf);
	errno = saved;
	return off == len ? 0 : -1;
}

static int
wire_grow(struct wire *w)
{
	size_t cap;
	char *p;

	if (w->len < w->cap)
		return 0;
	if (w->cap >= WIRE_BUF_MAX)
		return -1;
	cap = w->cap == 0 ? WIRE_BUF_MIN : w->cap * 2;
	if (cap > WIRE_BUF_MAX)
		cap = WIRE_BUF_MAX;
	if ((p = realloc(w->buf, cap)) == NULL)
		return -1;
	w->buf = p;
	w->cap = cap;
	return 0;
}

/* Reads what the socket has, waiting until deadline. */
static int
wire_fill(struct wire *w, int64_t deadline, char *err, size_t errlen)
{
	bool lost = false;
	ssize_t n;
	int r;

	if (wire_grow(w) != 0) {
		snprintf(err, errlen, "receive buffer: %s", strerror(ENOMEM));
		return -1;
	}
	if ((r = wire_wait(w->fd, POLLIN, deadline)) < 0) {
		snprintf(err, errlen, "poll: %s", strerror(errno));
		return -1;
	}
	if (r == 0) {
		snprintf(err, errlen, "timed out");
		errno = ETIMEDOUT;
		return -1;
	}
	n = wire_recvmsg(w->fd, w->buf + w->len, w->cap - w->len, w->fds,
	    WIRE_NFDS, &w->nfds, &lost);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		snprintf(err, errlen, "read: %s", strerror(errno));
	else if (lost)
		snprintf(err, errlen, "a passed descriptor was lost");
	else if (n == 0)
		snprintf(err, errlen, "connection closed");
	if (n <= 0 || lost)
		return -1;
	w->len += (size_t)n;
	return 0;
}

/* Decodes and consumes the whole frame at the head of the buffer. */
static int
wire_take(struct wire *w, size_t flen, unsigned dirs, struct msg *out,
    char *err, size_t errlen)
{
	bool wants_fd;
	int rc;

	rc = msg_decode(w->buf + FRAME_HEADER_SIZE, flen - FRAME_HEADER_SIZE,
	    dirs, out, &wants_fd, err, errlen);
	memmove(w->buf, w->buf + flen, w->len - flen);
	w->len -= flen;
	if (rc != 0 || !wants_fd)
		return rc;
	if (w->nfds == 0) {
		snprintf(err, errlen, "%s: descriptor missing",
		    msg_type_name(out->type));
		msg_clear(out);
		return -1;
	}
	out->fd = w->fds[0];
	w->nfds--;
	memmove(w->fds, w->fds + 1, (size_t)w->nfds * sizeof(int));
	return 0;
}

int
wire_recv(struct wire *w, unsigned dirs, int timeout_ms, struct msg *out,
    char *err, size_t errlen)
{
	int64_t deadline = -1;
	size_t flen = 0;
	int r;

	if (timeout_ms >= 0)
		deadline = clock_monotonic_us() + (int64_t)timeout_ms * 1000;
	msg_init(out, (enum msg_type)0);
	while ((r = frame_check(w->buf, w->len, &flen, err, errlen)) == 0) {
		if (wire_fill(w, deadline, err, errlen) != 0)
			return -1;
	}
	if (r < 0)
		return -1;
	return wire_take(w, flen, dirs, out, err, errlen);
}
