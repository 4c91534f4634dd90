/*
 * The event-driven peer over a socketpair on a real event_base: messages
 * arrive in order followed by one final call, descriptors travel both
 * ways and work, bad input ends the peer with an error, large queues are
 * written through partial writes, and peer_free is safe from the callback.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "peer.h"
#include "util.h"
#include "wire.h"

#define REC_MAX 8

struct rec {
	struct event_base *base;
	struct msg msgs[REC_MAX];
	int nmsg;
	int nfinal;
	bool clean_eof;
	char error[320];
	bool free_on_first;
};

static int sv[2];
static struct event_base *base;
static struct peer *peer;
static struct rec rec;

static void
rec_cb(struct peer *p, struct msg *m, const char *error, void *arg)
{
	struct rec *r = arg;

	if (m == NULL) {
		r->nfinal++;
		r->clean_eof = error == NULL;
		snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
		event_base_loopbreak(r->base);
		return;
	}
	if (r->nmsg < REC_MAX)
		r->msgs[r->nmsg] = *m;
	else
		msg_clear(m);
	r->nmsg++;
	if (r->free_on_first) {
		peer_free(p);
		peer = NULL;
	}
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	base = event_base_new();
	memset(&rec, 0, sizeof(rec));
	rec.base = base;
	peer = peer_new(
	    base, sv[1], DIR_FROM_CLIENT | DIR_FROM_WORKER, rec_cb, &rec);
	ck_assert_ptr_nonnull(peer);
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < rec.nmsg && i < REC_MAX; i++) {
		if (rec.msgs[i].fd >= 0)
			close(rec.msgs[i].fd);
		msg_clear(&rec.msgs[i]);
	}
	peer_free(peer);
	event_base_free(base);
	if (sv[0] >= 0)
		close(sv[0]);
}

/* Runs the loop until a callback breaks it or ms pass. */
static void
run(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
progress(struct msg *m, uint32_t permille)
{
	msg_init(m, MSG_PROGRESS);
	m->u.progress.gen = 3;
	m->u.progress.permille = permille;
}

static void
peer_write_all(const void *buf, size_t len)
{
	ck_assert_int_eq(write(sv[0], buf, len), (ssize_t)len);
}

static void
write_frame(const struct msg *m)
{
	char *buf;
	size_t len;

	ck_assert_int_eq(msg_encode(m, &buf, &len), 0);
	peer_write_all(buf, len);
	free(buf);
}

START_TEST(messages_then_eof)
{
	struct msg m;

	msg_init(&m, MSG_HELLO);
	m.u.hello.gen = 3;
	m.u.hello.pid = 1234;
	ck_assert_int_eq(wire_send(sv[0], &m), 0);
	progress(&m, 500);
	ck_assert_int_eq(wire_send(sv[0], &m), 0);
	close(sv[0]);
	sv[0] = -1;
	run(5000);
	ck_assert_int_eq(rec.nmsg, 2);
	ck_assert_int_eq(rec.msgs[0].type, MSG_HELLO);
	ck_assert_int_eq(rec.msgs[0].u.hello.pid, 1234);
	ck_assert_int_eq(rec.msgs[1].type, MSG_PROGRESS);
	ck_assert_uint_eq(rec.msgs[1].u.progress.permille, 500);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert(rec.clean_eof);
}
END_TEST

START_TEST(fd_from_wire)
{
	char got[8] = "";
	struct msg m;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	msg_init(&m, MSG_UPLOAD);
	str_copy(m.u.upload.filename, "v.mp4", sizeof(m.u.upload.filename));
	m.fd = p[0];
	ck_assert_int_eq(wire_send(sv[0], &m), 0);
	close(p[0]);
	close(sv[0]);
	sv[0] = -1;
	run(5000);
	ck_assert_int_eq(rec.nmsg, 1);
	ck_assert_int_ge(rec.msgs[0].fd, 0);
	ck_assert(fcntl(rec.msgs[0].fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(write(p[1], "pong", 4), 4);
	ck_assert_int_eq(read(rec.msgs[0].fd, got, sizeof(got)), 4);
	ck_assert_str_eq(got, "pong");
	close(p[1]);
}
END_TEST

START_TEST(fd_to_wire)
{
	char err[256], got[8] = "";
	struct msg m, out;
	struct wire w;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	msg_init(&m, MSG_RESPONSE);
	m.u.response.success = true;
	m.fd = p[0];
	ck_assert_int_eq(peer_send(peer, &m), 0);
	/* The peer sent a duplicate; ours can go. */
	close(p[0]);
	run(100);
	ck_assert_uint_eq(peer_pending(peer), 0);
	wire_init(&w, sv[0]);
	ck_assert_msg(
	    wire_recv(&w, DIR_TO_CLIENT, 1000, &out, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_ge(out.fd, 0);
	ck_assert_int_eq(write(p[1], "sent", 4), 4);
	ck_assert_int_eq(read(out.fd, got, sizeof(got)), 4);
	ck_assert_str_eq(got, "sent");
	close(out.fd);
	close(p[1]);
	wire_release(&w);
}
END_TEST

START_TEST(garbage_ends_peer)
{
	const unsigned char garbage[] = {0, 0, 0, 5, 0xc1, 0x13, 0x37, 0, 1};
	struct msg m;

	peer_write_all(garbage, sizeof(garbage));
	progress(&m, 10);
	write_frame(&m);
	run(5000);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert_msg(strstr(rec.error, "msgpack") != NULL, "%s", rec.error);
	/* Nothing is read after the final call, not even good frames. */
	write_frame(&m);
	run(200);
	ck_assert_int_eq(rec.nmsg, 0);
	ck_assert_int_eq(rec.nfinal, 1);
}
END_TEST

START_TEST(oversize_ends_peer)
{
	const unsigned char prefix[] = {0, 0x10, 0, 0};

	peer_write_all(prefix, sizeof(prefix));
	run(5000);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert_str_eq(
	    rec.error, "frame of 1048576 bytes exceeds limit 65536");
}
END_TEST

START_TEST(missing_fd)
{
	struct msg m;

	msg_init(&m, MSG_UPLOAD);
	str_copy(m.u.upload.filename, "a", sizeof(m.u.upload.filename));
	m.fd = 0;
	/* write(2) sends no descriptor although the frame says one. */
	write_frame(&m);
	run(5000);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert_str_eq(rec.error, "UPLOAD: descriptor missing");
}
END_TEST

START_TEST(wrong_direction)
{
	struct msg m;

	msg_init(&m, MSG_JOB_START);
	write_frame(&m);
	run(5000);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert_str_eq(
	    rec.error, "JOB_START (300) is not accepted in this direction");
}
END_TEST

START_TEST(eof_inside_frame)
{
	char *buf;
	struct msg m;
	size_t len;

	progress(&m, 1);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), 0);
	peer_write_all(buf, len - 1);
	close(sv[0]);
	sv[0] = -1;
	run(5000);
	ck_assert_int_eq(rec.nmsg, 0);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert_str_eq(rec.error, "connection closed inside a frame");
	free(buf);
}
END_TEST

START_TEST(free_in_callback)
{
	struct msg m;

	rec.free_on_first = true;
	progress(&m, 1);
	write_frame(&m);
	write_frame(&m);
	close(sv[0]);
	sv[0] = -1;
	run(300);
	/* Freed while two frames and an EOF were waiting: nothing more. */
	ck_assert_ptr_null(peer);
	ck_assert_int_eq(rec.nmsg, 1);
	ck_assert_int_eq(rec.nfinal, 0);
}
END_TEST

START_TEST(drain_without_loop)
{
	struct msg m;
	int i;

	for (i = 0; i < 3; i++) {
		progress(&m, (uint32_t)i * 100);
		write_frame(&m);
	}
	peer_drain(peer);
	ck_assert_int_eq(rec.nmsg, 3);
	ck_assert_uint_eq(rec.msgs[2].u.progress.permille, 200);
	ck_assert_int_eq(rec.nfinal, 0);
	close(sv[0]);
	sv[0] = -1;
	peer_drain(peer);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert(rec.clean_eof);
}
END_TEST

START_TEST(byte_by_byte)
{
	char *buf;
	struct msg m;
	size_t len, i;

	progress(&m, 777);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), 0);
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(rec.nmsg, 0);
		peer_write_all(buf + i, 1);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_int_eq(rec.nmsg, 1);
	ck_assert_uint_eq(rec.msgs[0].u.progress.permille, 777);
	free(buf);
}
END_TEST

/* In a child: reads n RESPONSE frames and checks each one's data. */
static int
read_big_frames(int fd, int n, size_t size)
{
	char err[256];
	struct msg out;
	struct wire w;
	json_t *blob;
	int i;

	/* Start late, so that the writer finds the socket full. */
	usleep(300 * 1000);
	wire_init(&w, fd);
	for (i = 0; i < n; i++) {
		if (wire_recv(&w, DIR_TO_CLIENT, 5000, &out, err, 256) != 0)
			return 1;
		blob = json_object_get(out.u.response.data, "blob");
		if (json_string_length(blob) != size ||
		    json_integer_value(
			json_object_get(out.u.response.data, "i")) != i)
			return 2;
		msg_clear(&out);
	}
	wire_release(&w);
	return 0;
}

START_TEST(partial_writes)
{
	const int n = 24;
	const size_t size = 60000;
	char *text;
	struct msg m;
	int i, status;
	int64_t deadline;
	pid_t pid;

	text = calloc(1, size + 1);
	memset(text, 'q', size);
	if ((pid = fork()) == 0)
		_exit(read_big_frames(sv[0], n, size));
	msg_init(&m, MSG_RESPONSE);
	m.u.response.success = true;
	for (i = 0; i < n; i++) {
		m.u.response.data =
		    json_pack("{s:s, s:i}", "blob", text, "i", i);
		ck_assert_int_eq(peer_send(peer, &m), 0);
		msg_clear(&m);
	}
	/* 1.4 MB does not fit in the socket: the rest waits for EV_WRITE. */
	ck_assert_uint_gt(peer_pending(peer), 0);
	deadline = clock_monotonic_us() + 10 * 1000000;
	while (peer_pending(peer) > 0 && clock_monotonic_us() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_eq(peer_pending(peer), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "reader status %d", status);
	free(text);
}
END_TEST

START_TEST(write_error)
{
	struct msg m;

	close(sv[0]);
	sv[0] = -1;
	msg_init(&m, MSG_RESPONSE);
	m.u.response.success = true;
	/* Queued; the failure is reported from the loop, not from here. */
	ck_assert_int_eq(peer_send(peer, &m), 0);
	ck_assert_int_eq(rec.nfinal, 0);
	run(5000);
	ck_assert_int_eq(rec.nfinal, 1);
	ck_assert_int_eq(peer_send(peer, &m), -1);
	ck_assert_int_eq(errno, EPIPE);
	run(100);
	ck_assert_int_eq(rec.nfinal, 1);
}
END_TEST

START_TEST(free_closes_unclaimed)
{
	char *buf;
	struct msg m;
	size_t len;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	progress(&m, 1);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), 0);
	ck_assert_int_eq(wire_sendmsg(sv[0], buf, len, p[0]), (ssize_t)len);
	close(p[0]);
	peer_drain(peer);
	ck_assert_int_eq(rec.nmsg, 1);
	ck_assert_int_eq(rec.msgs[0].fd, -1);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	peer_free(peer);
	peer = NULL;
	ck_assert_int_eq(write(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	free(buf);
}
END_TEST

static Suite *
peer_suite(void)
{
	Suite *s = suite_create("peer");
	TCase *tc = tcase_create("peer");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, messages_then_eof);
	tcase_add_test(tc, fd_from_wire);
	tcase_add_test(tc, fd_to_wire);
	tcase_add_test(tc, garbage_ends_peer);
	tcase_add_test(tc, oversize_ends_peer);
	tcase_add_test(tc, missing_fd);
	tcase_add_test(tc, wrong_direction);
	tcase_add_test(tc, eof_inside_frame);
	tcase_add_test(tc, free_in_callback);
	tcase_add_test(tc, drain_without_loop);
	tcase_add_test(tc, byte_by_byte);
	tcase_add_test(tc, partial_writes);
	tcase_add_test(tc, write_error);
	tcase_add_test(tc, free_closes_unclaimed);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(peer_suite)
