/*
 * The client side of reeld.sock for reelctl and the benchmarks: connect,
 * one request and its response, and the response as a JSON envelope.
 */
#ifndef REEL_CLIENT_H
#define REEL_CLIENT_H

#include <jansson.h>

#include "msg.h"
#include "wire.h"

struct client_conn {
	struct wire w;
	char path[108];
};

/* The socket: explicit, else <runtime dir>/reeld.sock (see util.h). */
const char *client_socket_path(const char *explicit_path);
/* 0, or -1 with err. */
int client_connect(
    struct client_conn *c, const char *path, char *err, size_t errlen);
void client_disconnect(struct client_conn *c);
/*
 * Sends req and waits for its RESPONSE. Returns 0 (the envelope may still
 * say success false), or -1 with err on a transport or protocol failure.
 */
int client_request(struct client_conn *c, const struct msg *req,
    struct msg *resp, char *err, size_t errlen);
/* {success, message, data} or {success, message, error: {code, detail}}. */
json_t *client_envelope(const struct msg_response *r);

#endif
