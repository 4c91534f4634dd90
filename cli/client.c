/*
 * Client connection to reeld. Requests are strictly one at a time, so a
 * response always belongs to the request just sent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

const char *
client_socket_path(const char *explicit_path)
{
	static char buf[4096];

	if (explicit_path != NULL)
		return explicit_path;
	snprintf(buf, sizeof(buf), "%s/%s", runtime_dir_default(NULL),
	    REEL_SOCKET_NAME);
	return buf;
}

int
client_connect(
    struct client_conn *c, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) != 0) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen,
		    "cannot connect to %s: %s (is reeld "
		    "running?)",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	wire_init(&c->w, fd);
	str_copy(c->path, path, sizeof(c->path));
	return 0;
}

void
client_disconnect(struct client_conn *c)
{
	int fd = c->w.fd;

	wire_release(&c->w);
	if (fd >= 0)
		close(fd);
}

int
client_request(struct client_conn *c, const struct msg *req, struct msg *resp,
    char *err, size_t errlen)
{
	if (wire_send(c->w.fd, req) != 0) {
		snprintf(
		    err, errlen, "cannot send to reeld: %s", strerror(errno));
		return -1;
	}
	if (wire_recv(&c->w, DIR_TO_CLIENT, -1, resp, err, errlen) != 0)
		return -1;
	if (resp->type != MSG_RESPONSE) {
		snprintf(err, errlen, "reeld sent %s, not a response",
		    msg_type_name(resp->type));
		msg_clear(resp);
		return -1;
	}
	return 0;
}

json_t *
client_envelope(const struct msg_response *r)
{
	if (r->success)
		return json_pack("{s:b, s:s, s:O?}", "success", 1, "message",
		    r->message, "data", r->data);
	return json_pack("{s:b, s:s, s:{s:s, s:s}}", "success", 0, "message",
	    r->message, "error", "code", r->error_code, "detail",
	    r->error_detail);
}
