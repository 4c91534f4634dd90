/*
 * A framed message connection on a libevent loop. Input is read with
 * recvmsg into a buffer of at most one frame, passed descriptors go to a
 * FIFO, and each whole frame is decoded and handed to the callback; a frame
 * that says "fd": true takes the oldest descriptor received. Output is a
 * queue of encoded frames written with sendmsg; a frame's descriptor rides
 * on its first byte.
 *
 * Guarantees: the callback sees every message in order and then exactly one
 * final call (m == NULL), after which the peer reads nothing more; the
 * callback may call peer_free, and the peer is only freed once the dispatch
 * that called it has unwound; write failures found by peer_send are
 * reported from the loop, never from inside peer_send; peer_free closes the
 * socket, every received descriptor not handed out and every queued one.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "wire.h"

#define PEER_BUF_MIN 4096
#define PEER_BUF_MAX (FRAME_HEADER_SIZE + FRAME_MAX)
/* Descriptors received but not yet claimed by a frame. */
#define PEER_FDS_MAX 16

struct peer_out {
	TAILQ_ENTRY(peer_out) entry;
	char *buf;
	size_t len;
	size_t off;
	/* Our duplicate of the message's descriptor until it is sent. */
	int fd;
};

struct peer {
	struct event_base *base;
	int fd;
	unsigned dirs;
	peer_cb cb;
	void *arg;
	struct event *ev_read;
	struct event *ev_write;

	char *in;
	size_t inlen;
	size_t incap;
	int fds[PEER_FDS_MAX];
	int nfds;

	TAILQ_HEAD(, peer_out) out;
	size_t pending;

	/* Nesting of our own event handlers, so peer_free can defer. */
	int busy;
	/* The final callback has been made. */
	bool done;
	/* peer_free was called while busy. */
	bool dying;
	/* A write failed; the error is reported from the write handler. */
	bool write_failed;
	char write_error[128];
};

enum peer_io { PEER_IO_DATA, PEER_IO_AGAIN, PEER_IO_EOF, PEER_IO_ERROR };

static void peer_on_read(evutil_socket_t fd, short what, void *arg);
static void peer_on_write(evutil_socket_t fd, short what, void *arg);
static void peer_drop_output(struct peer *p);

struct peer *
peer_new(struct event_base *base, int fd, unsigned dirs, peer_cb cb, void *arg)
{
	struct peer *p;
	int flags;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	p->base = base;
	p->fd = fd;
	p->dirs = dirs;
	p->cb = cb;
	p->arg = arg;
	TAILQ_INIT(&p->out);
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		goto fail;
	p->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, peer_on_read, p);
	p->ev_write =
	    event_new(base, fd, EV_WRITE | EV_PERSIST, peer_on_write, p);
	if (p->ev_read == NULL || p->ev_write == NULL ||
	    event_add(p->ev_read, NULL) != 0)
		goto fail;
	return p;
fail:
	if (p != NULL) {
		if (p->ev_read != NULL)
			event_free(p->ev_read);
		if (p->ev_write != NULL)
			event_free(p->ev_write);
		free(p);
	}
	close(fd);
	return NULL;
}

static void
peer_destroy(struct peer *p)
{
	int i;

	peer_drop_output(p);
	event_free(p->ev_read);
	event_free(p->ev_write);
	for (i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	close(p->fd);
	free(p->in);
	free(p);
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	if (p->busy > 0) {
		p->dying = true;
		event_del(p->ev_read);
		event_del(p->ev_write);
		return;
	}
	peer_destroy(p);
}

static void
peer_unbusy(struct peer *p)
{
	if (--p->busy == 0 && p->dying)
		peer_destroy(p);
}

size_t
peer_pending(const struct peer *p)
{
	return p->pending;
}

int
peer_fd(const struct peer *p)
{
	return p->fd;
}

/* The one final callback: error == NULL for a clean EOF. */
static void
peer_final(struct peer *p, const char *error)
{
	if (p->done || p->dying)
		return;
	p->done = true;
	event_del(p->ev_read);
	p->cb(p, NULL, error, p->arg);
}

static void LOG_PRINTF(2, 3) peer_finish(struct peer *p, const char *fmt, ...)
{
	char error[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	peer_final(p, error);
}

/* Output. */

static void
peer_drop_output(struct peer *p)
{
	struct peer_out *o;

	while ((o = TAILQ_FIRST(&p->out)) != NULL) {
		TAILQ_REMOVE(&p->out, o, entry);
		if (o->fd >= 0)
			close(o->fd);
		free(o->buf);
		free(o);
	}
	p->pending = 0;
	event_del(p->ev_write);
}

/* Writes until the queue is empty or the socket is full; -1 on error. */
static int
peer_flush(struct peer *p)
{
	struct peer_out *o;
	ssize_t n;

	while ((o = TAILQ_FIRST(&p->out)) != NULL) {
		n = wire_sendmsg(
		    p->fd, o->buf + o->off, o->len - o->off, o->fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -1;
		if (o->fd >= 0) {
			close(o->fd);
			o->fd = -1;
		}
		o->off += (size_t)n;
		p->pending -= (size_t)n;
		if (o->off < o->len)
			continue;
		TAILQ_REMOVE(&p->out, o, entry);
		free(o->buf);
		free(o);
	}
	if (TAILQ_EMPTY(&p->out))
		event_del(p->ev_write);
	else
		event_add(p->ev_write, NULL);
	return 0;
}

static void
peer_write_failed(struct peer *p)
{
	p->write_failed = true;
	snprintf(p->write_error, sizeof(p->write_error), "write: %s",
	    strerror(errno));
	peer_drop_output(p);
}

int
peer_send(struct peer *p, const struct msg *m)
{
	struct peer_out *o;

	if (p->dying || p->write_failed) {
		errno = EPIPE;
		return -1;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -1;
	o->fd = -1;
	if (msg_encode(m, &o->buf, &o->len) != 0 ||
	    (m->fd >= 0 && (o->fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0)) == -1)) {
		free(o->buf);
		free(o);
		return -1;
	}
	TAILQ_INSERT_TAIL(&p->out, o, entry);
	p->pending += o->len;
	if (peer_flush(p) != 0) {
		peer_write_failed(p);
		event_active(p->ev_write, EV_WRITE, 0);
	}
	return 0;
}

static void
peer_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	p->busy++;
	if (!p->write_failed && peer_flush(p) != 0)
		peer_write_failed(p);
	if (p->write_failed)
		peer_finish(p, "%s", p->write_error);
	peer_unbusy(p);
}

/* Input. */

static int
peer_pop_fd(struct peer *p)
{
	int fd;

	if (p->nfds == 0)
		return -1;
	fd = p->fds[0];
	p->nfds--;
	memmove(p->fds, p->fds + 1, (size_t)p->nfds * sizeof(int));
	return fd;
}

/* Decodes one whole frame at in + off and hands it to the callback. */
static int
peer_deliver(struct peer *p, size_t off, size_t flen)
{
	char err[320];
	struct msg m;
	bool wants_fd;

	if (msg_decode(p->in + off + FRAME_HEADER_SIZE,
		flen - FRAME_HEADER_SIZE, p->dirs, &m, &wants_fd, err,
		sizeof(err)) != 0) {
		peer_finish(p, "%s", err);
		return -1;
	}
	if (wants_fd && (m.fd = peer_pop_fd(p)) == -1) {
		msg_clear(&m);
		peer_finish(p, "%s: descriptor missing", msg_type_name(m.type));
		return -1;
	}
	p->cb(p, &m, NULL, p->arg);
	return 0;
}

static void
peer_dispatch(struct peer *p)
{
	char err[128];
	size_t off = 0, flen = 0;
	int r;

	while (!p->done && !p->dying) {
		r = frame_check(
		    p->in + off, p->inlen - off, &flen, err, sizeof(err));
		if (r < 0)
			peer_finish(p, "%s", err);
		if (r <= 0 || peer_deliver(p, off, flen) != 0)
			break;
		off += flen;
	}
	if (off > 0) {
		memmove(p->in, p->in + off, p->inlen - off);
		p->inlen -= off;
	}
}

static int
peer_grow(struct peer *p)
{
	size_t cap;
	char *in;

	if (p->inlen < p->incap)
		return 0;
	if (p->incap >= PEER_BUF_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	cap = p->incap == 0 ? PEER_BUF_MIN : p->incap * 2;
	if (cap > PEER_BUF_MAX)
		cap = PEER_BUF_MAX;
	if ((in = realloc(p->in, cap)) == NULL)
		return -1;
	p->in = in;
	p->incap = cap;
	return 0;
}

static enum peer_io
peer_recv(struct peer *p)
{
	bool lost = false;
	ssize_t n;

	if (peer_grow(p) != 0) {
		peer_finish(p, "receive buffer: %s", strerror(errno));
		return PEER_IO_ERROR;
	}
	n = wire_recvmsg(p->fd, p->in + p->inlen, p->incap - p->inlen, p->fds,
	    PEER_FDS_MAX, &p->nfds, &lost);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return PEER_IO_AGAIN;
	if (n < 0)
		peer_finish(p, "read: %s", strerror(errno));
	else if (lost)
		peer_finish(p, "too many descriptors passed");
	if (n < 0 || lost)
		return PEER_IO_ERROR;
	p->inlen += (size_t)n;
	return n == 0 ? PEER_IO_EOF : PEER_IO_DATA;
}

/* One read and the dispatch of what it completed; false: stop reading. */
static bool
peer_read_step(struct peer *p)
{
	switch (peer_recv(p)) {
	case PEER_IO_DATA:
		peer_dispatch(p);
		return !p->done && !p->dying;
	case PEER_IO_EOF:
		peer_dispatch(p);
		if (p->inlen > 0)
			peer_finish(p, "connection closed inside a frame");
		else
			peer_final(p, NULL);
		return false;
	case PEER_IO_AGAIN:
	case PEER_IO_ERROR:
		break;
	}
	return false;
}

static void
peer_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	p->busy++;
	peer_read_step(p);
	peer_unbusy(p);
}

/*
 * Called from the peer's own callback it does nothing: the dispatch in
 * progress already owns the buffer, and the loop reads the rest.
 */
void
peer_drain(struct peer *p)
{
	if (p->busy > 0 || p->done)
		return;
	p->busy++;
	while (peer_read_step(p))
		continue;
	peer_unbusy(p);
}
