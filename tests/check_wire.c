/*
 * Blocking framed messages over a real socketpair: descriptors arrive and
 * work, frames are found however the bytes arrive, the timeout holds, and
 * EOF, garbage, a missing descriptor or a wrong direction are errors.
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
#include "util.h"
#include "wire.h"

static int sv[2];
static struct wire w;

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wire_init(&w, sv[1]);
}

static void
teardown(void)
{
	wire_release(&w);
	close(sv[0]);
	close(sv[1]);
}

static void
progress(struct msg *m, uint32_t permille)
{
	msg_init(m, MSG_PROGRESS);
	m->u.progress.gen = 5;
	m->u.progress.permille = permille;
}

/* Writes m's frame with plain write(2): no descriptor goes with it. */
static void
write_frame(int fd, const struct msg *m)
{
	char *buf;
	size_t len;

	ck_assert_int_eq(msg_encode(m, &buf, &len), 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	free(buf);
}

START_TEST(fd_passing)
{
	char err[256], got[8] = "";
	struct msg m, out;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	msg_init(&m, MSG_UPLOAD);
	str_copy(m.u.upload.filename, "a.mp4", sizeof(m.u.upload.filename));
	m.fd = p[0];
	ck_assert_int_eq(wire_send(sv[0], &m), 0);
	close(p[0]);
	ck_assert_msg(
	    wire_recv(&w, DIR_FROM_CLIENT, 2000, &out, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(out.type, MSG_UPLOAD);
	ck_assert_str_eq(out.u.upload.filename, "a.mp4");
	ck_assert_int_ge(out.fd, 0);
	ck_assert(fcntl(out.fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(write(p[1], "ping", 4), 4);
	ck_assert_int_eq(read(out.fd, got, sizeof(got)), 4);
	ck_assert_str_eq(got, "ping");
	close(out.fd);
	close(p[1]);
}
END_TEST

START_TEST(timeout)
{
	char err[256];
	struct msg out;
	int64_t t0, ms;

	t0 = clock_monotonic_us();
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_WORKER, 150, &out, err, sizeof(err)), -1);
	ms = (clock_monotonic_us() - t0) / 1000;
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_str_eq(err, "timed out");
	ck_assert_int_ge(ms, 150);
	ck_assert_int_lt(ms, 1500);
}
END_TEST

START_TEST(eof)
{
	char err[256];
	struct msg out;

	close(sv[0]);
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_WORKER, 1000, &out, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "connection closed");
	sv[0] = -1;
}
END_TEST

START_TEST(two_frames_one_write)
{
	char *a, *b, *both, err[256];
	size_t alen, blen;
	struct msg m, out;

	progress(&m, 100);
	ck_assert_int_eq(msg_encode(&m, &a, &alen), 0);
	progress(&m, 200);
	ck_assert_int_eq(msg_encode(&m, &b, &blen), 0);
	both = malloc(alen + blen);
	memcpy(both, a, alen);
	memcpy(both + alen, b, blen);
	ck_assert_int_eq(
	    write(sv[0], both, alen + blen), (ssize_t)(alen + blen));
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_WORKER, 1000, &out, err, 256), 0);
	ck_assert_uint_eq(out.u.progress.permille, 100);
	/* The second is already buffered: no wait, even with timeout 0. */
	ck_assert_int_eq(wire_recv(&w, DIR_FROM_WORKER, 0, &out, err, 256), 0);
	ck_assert_uint_eq(out.u.progress.permille, 200);
	free(a);
	free(b);
	free(both);
}
END_TEST

START_TEST(byte_by_byte)
{
	char *buf, err[256];
	struct msg m, out;
	size_t len, i;
	pid_t pid;
	int status;

	progress(&m, 321);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), 0);
	if ((pid = fork()) == 0) {
		for (i = 0; i < len; i++) {
			if (write(sv[0], buf + i, 1) != 1)
				_exit(1);
			usleep(2000);
		}
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_msg(
	    wire_recv(&w, DIR_FROM_WORKER, 5000, &out, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(out.u.progress.permille, 321);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(buf);
}
END_TEST

START_TEST(bad_input)
{
	const unsigned char garbage[] = {0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1};
	char err[256];
	struct msg m, out;

	/* A wrong direction consumes its frame; the next one is read. */
	progress(&m, 10);
	write_frame(sv[0], &m);
	progress(&m, 20);
	write_frame(sv[0], &m);
	ck_assert_int_eq(
	    wire_recv(&w, DIR_TO_WORKER, 1000, &out, err, 256), -1);
	ck_assert_msg(
	    strstr(err, "PROGRESS (401) is not accepted") != NULL, "%s", err);
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_WORKER, 1000, &out, err, 256), 0);
	ck_assert_uint_eq(out.u.progress.permille, 20);

	ck_assert_int_eq(
	    write(sv[0], garbage, sizeof(garbage)), (ssize_t)sizeof(garbage));
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_WORKER, 1000, &out, err, 256), -1);
	ck_assert_msg(strstr(err, "msgpack") != NULL, "%s", err);
}
END_TEST

START_TEST(oversize_prefix)
{
	const unsigned char prefix[] = {0, 0x10, 0, 0};
	char err[256];
	struct msg out;

	ck_assert_int_eq(write(sv[0], prefix, sizeof(prefix)), 4);
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_WORKER, 1000, &out, err, 256), -1);
	ck_assert_str_eq(err, "frame of 1048576 bytes exceeds limit 65536");
}
END_TEST

START_TEST(missing_fd)
{
	char err[256];
	struct msg m, out;

	msg_init(&m, MSG_UPLOAD);
	str_copy(m.u.upload.filename, "a.mp4", sizeof(m.u.upload.filename));
	m.fd = 0;
	write_frame(sv[0], &m);
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_CLIENT, 1000, &out, err, 256), -1);
	ck_assert_str_eq(err, "UPLOAD: descriptor missing");
}
END_TEST

START_TEST(large_frame)
{
	char err[256], *text;
	struct msg m, out;

	text = calloc(1, 60000 + 1);
	memset(text, 'r', 60000);
	msg_init(&m, MSG_RESPONSE);
	m.u.response.success = true;
	m.u.response.data = json_pack("{s:s}", "blob", text);
	ck_assert_int_eq(wire_send(sv[0], &m), 0);
	ck_assert_int_eq(wire_recv(&w, DIR_TO_CLIENT, 1000, &out, err, 256), 0);
	ck_assert(json_equal(m.u.response.data, out.u.response.data));
	msg_clear(&m);
	msg_clear(&out);
	free(text);
}
END_TEST

START_TEST(release_closes_unclaimed)
{
	char err[256], *buf;
	struct msg m, out;
	size_t len;
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	progress(&m, 1);
	ck_assert_int_eq(msg_encode(&m, &buf, &len), 0);
	/* A descriptor the frame does not claim. */
	ck_assert_int_eq(wire_sendmsg(sv[0], buf, len, p[0]), (ssize_t)len);
	close(p[0]);
	ck_assert_int_eq(
	    wire_recv(&w, DIR_FROM_WORKER, 1000, &out, err, 256), 0);
	ck_assert_int_eq(out.fd, -1);
	ck_assert_int_eq(w.nfds, 1);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	wire_release(&w);
	ck_assert_int_eq(write(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	free(buf);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("wire");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fd_passing);
	tcase_add_test(tc, timeout);
	tcase_add_test(tc, eof);
	tcase_add_test(tc, two_frames_one_write);
	tcase_add_test(tc, byte_by_byte);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, oversize_prefix);
	tcase_add_test(tc, missing_fd);
	tcase_add_test(tc, large_frame);
	tcase_add_test(tc, release_closes_unclaimed);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(wire_suite)
