/*
 * Test helper: sends the bytes of stdin to reeld.sock as they are, then
 * prints the response envelope as JSON, or "closed" when reeld closed the
 * connection without one. Used to prove that bad frames get errors.
 * usage: rawclient SOCKET < bytes
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

int
main(int argc, char **argv)
{
	struct client_conn c;
	struct msg resp;
	char buf[65536], err[512];
	ssize_t n;
	json_t *env;

	if (argc != 2) {
		fprintf(stderr, "usage: rawclient SOCKET < bytes\n");
		return 2;
	}
	if (client_connect(&c, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
		if (write(c.w.fd, buf, n) != n)
			break;
	}
	if (wire_recv(&c.w, DIR_TO_CLIENT, 5000, &resp, err, sizeof(err)) !=
	    0) {
		printf("closed: %s\n", err);
		client_disconnect(&c);
		return 0;
	}
	env = client_envelope(&resp.u.response);
	json_dumpf(env, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(env);
	msg_clear(&resp);
	client_disconnect(&c);
	return 0;
}
