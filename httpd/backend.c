/*
 * A fresh connection per call keeps no state between requests of
 * different owners; on a local socket it costs tens of microseconds, and
 * the frequent call, a status poll, is answered from shared memory.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "client.h"
#include "util.h"

static char socket_path[108];

void
backend_init(const char *path)
{
	str_copy(socket_path, path, sizeof(socket_path));
}

static int
backend_identify(struct client_conn *c, const struct auth_identity *who,
    char *err, size_t errlen)
{
	struct msg req, resp;
	int rc;

	msg_init(&req, MSG_IDENTIFY);
	str_copy(req.u.identify.user, who->user, sizeof(req.u.identify.user));
	req.u.identify.admin = who->admin;
	if (client_request(c, &req, &resp, err, errlen) != 0)
		return -1;
	rc = resp.u.response.success ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen,
		    "reeld refused to let reel-httpd act "
		    "for its users: %s (%s); run reeld with --api-user set "
		    "to reel-httpd's user",
		    resp.u.response.error_detail, resp.u.response.error_code);
	if (resp.fd >= 0)
		close(resp.fd);
	msg_clear(&resp);
	return rc;
}

int
backend_call(const struct auth_identity *who, const struct msg *req,
    struct msg *resp, char *err, size_t errlen)
{
	struct client_conn c;
	int rc;

	if (client_connect(&c, socket_path, err, errlen) != 0)
		return -1;
	rc = backend_identify(&c, who, err, errlen);
	if (rc == 0)
		rc = client_request(&c, req, resp, err, errlen);
	client_disconnect(&c);
	return rc;
}
