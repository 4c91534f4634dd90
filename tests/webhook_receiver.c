/*
 * Test helper: a minimal single-threaded HTTP/1.1 server that records the
 * webhooks reeld sends. It listens on 127.0.0.1 on a port the system picks
 * and prints that port as its first line of output. For each request it
 * writes the request exactly as received (head, blank line, body) to
 * LOGDIR/<n>.req (n from 1; written under a temporary name, then renamed),
 * then appends "<n> <status>" to LOGDIR/replies. It answers 500 to the
 * first FAIL_FIRST_N requests and 200 afterwards, always with
 * Connection: close.
 *
 * With -w FILE it binds at once (so the port is known and stays reserved)
 * but listens only once FILE exists: until then connections are refused,
 * like a receiver that is down. It exits after IDLE_S seconds without a
 * request (default 60), so a test can never leave it behind.
 *
 * usage: webhook_receiver [-f FAIL_FIRST_N] [-w FILE] [-t IDLE_S] LOGDIR
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECV_MAX (1024 * 1024)
#define RECV_CONN_TIMEOUT_MS 5000
#define RECV_HOLD_POLL_MS 20

struct recv_opts {
	long fail_first;
	const char *hold_file;
	long idle_s;
	const char *logdir;
};

static int
recv_parse(struct recv_opts *o, int argc, char **argv)
{
	int ch;

	o->fail_first = 0;
	o->hold_file = NULL;
	o->idle_s = 60;
	while ((ch = getopt(argc, argv, "f:w:t:")) != -1) {
		switch (ch) {
		case 'f':
			o->fail_first = atol(optarg);
			break;
		case 'w':
			o->hold_file = optarg;
			break;
		case 't':
			o->idle_s = atol(optarg);
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 1 || o->idle_s < 1)
		return -1;
	o->logdir = argv[optind];
	return 0;
}

static int
recv_bind(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd, on = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		perror("webhook_receiver: bind");
		exit(1);
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

static void
recv_hold(const char *file, long idle_s)
{
	struct timespec ts = {0, RECV_HOLD_POLL_MS * 1000000L};
	long waited_ms = 0;

	while (file != NULL && access(file, F_OK) != 0) {
		if (waited_ms >= idle_s * 1000)
			exit(1);
		nanosleep(&ts, NULL);
		waited_ms += RECV_HOLD_POLL_MS;
	}
}

/* The value of Content-Length in a request head, 0 if absent. */
static long
recv_content_length(const char *head)
{
	const char *p = head;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return atol(p + 15);
	}
	return 0;
}

/* Reads one request into buf; returns its length or -1. */
static long
recv_request(int fd, char *buf, long size)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	long have = 0, want = -1;
	char *end;
	ssize_t n;

	while (want < 0 || have < want) {
		if (poll(&pfd, 1, RECV_CONN_TIMEOUT_MS) != 1)
			return -1;
		if ((n = read(fd, buf + have, size - 1 - have)) <= 0)
			return -1;
		have += n;
		buf[have] = '\0';
		if (want < 0 && (end = strstr(buf, "\r\n\r\n")) != NULL)
			want = end + 4 - buf + recv_content_length(buf);
		if (want > size - 1 || (want < 0 && have == size - 1))
			return -1;
	}
	return have;
}

static void
recv_log(const char *logdir, long n, const char *buf, long len, int status)
{
	char tmp[4096], path[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.%ld.tmp", logdir, n);
	snprintf(path, sizeof(path), "%s/%ld.req", logdir, n);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fwrite(buf, 1, len, f) != (size_t)len || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		perror("webhook_receiver: log");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/replies", logdir);
	if ((f = fopen(path, "a")) == NULL) {
		perror("webhook_receiver: replies");
		exit(1);
	}
	fprintf(f, "%ld %d\n", n, status);
	fclose(f);
}

static void
recv_reply(int fd, int status)
{
	char out[256];
	const char *body = status == 200 ? "ok\n" : "try again\n";
	int len;

	len = snprintf(out, sizeof(out),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    status, status == 200 ? "OK" : "Internal Server Error",
	    strlen(body), body);
	if (write(fd, out, len) != len)
		perror("webhook_receiver: reply");
}

static void
recv_serve(int lfd, const struct recv_opts *o)
{
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	static char buf[RECV_MAX];
	long n = 0, len;
	int fd, status;

	while (poll(&pfd, 1, (int)o->idle_s * 1000) == 1) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		if ((len = recv_request(fd, buf, sizeof(buf))) > 0) {
			n++;
			status = n <= o->fail_first ? 500 : 200;
			recv_log(o->logdir, n, buf, len, status);
			recv_reply(fd, status);
		}
		close(fd);
	}
}

int
main(int argc, char **argv)
{
	struct recv_opts o;
	int lfd;

	if (recv_parse(&o, argc, argv) != 0) {
		fprintf(stderr, "usage: webhook_receiver [-f FAIL_FIRST_N] "
				"[-w FILE] [-t IDLE_S] LOGDIR\n");
		return 2;
	}
	lfd = recv_bind();
	recv_hold(o.hold_file, o.idle_s);
	if (listen(lfd, 64) != 0) {
		perror("webhook_receiver: listen");
		return 1;
	}
	recv_serve(lfd, &o);
	return 0;
}
