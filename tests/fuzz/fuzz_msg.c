/*
 * libFuzzer target for the frame and message decoder: every input is
 * treated as buffered socket bytes, split into frames with frame_check and
 * decoded in every direction, as reeld, the worker and the client would.
 * A crash, a leak or a sanitizer report here is a bug in ipc/msg.c or
 * ipc/jsonmp.c. Decoded messages are re-encoded, which must succeed.
 * Client messages then go through reeld's field checks (ipc/request.c),
 * so every parser of client input is fuzzed here; an accepted SUBMIT must
 * keep the documented bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract.h"
#include "msg.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned fuzz_dirs[] = {
    DIR_FROM_CLIENT,
    DIR_TO_CLIENT,
    DIR_TO_WORKER,
    DIR_FROM_WORKER,
    DIR_FROM_CLIENT | DIR_TO_CLIENT | DIR_TO_WORKER | DIR_FROM_WORKER,
};

/* What request_check promises about an accepted SUBMIT. */
static void
fuzz_submit_invariants(const struct msg_submit *s)
{
	const char *u = s->webhook_url;

	if (!reel_id_valid("vid_", s->video_id))
		abort();
	if (s->template_id[0] != '\0' && !reel_id_valid("vid_", s->template_id))
		abort();
	if (u[0] != '\0' && strncmp(u, "http://", 7) != 0 &&
	    strncmp(u, "https://", 8) != 0)
		abort();
}

static void
fuzz_request(const struct msg *m)
{
	char code[MSG_WORD_SIZE], detail[MSG_TEXT_SIZE];

	if (request_check(m, code, detail) != 0) {
		if (code[0] == '\0' || detail[0] == '\0')
			abort();
	} else if (m->type == MSG_SUBMIT) {
		fuzz_submit_invariants(&m->u.submit);
	}
}

static void
fuzz_decode(const uint8_t *body, size_t len)
{
	char err[256], *buf;
	size_t i, outlen;
	struct msg m;
	bool wants_fd;

	for (i = 0; i < sizeof(fuzz_dirs) / sizeof(fuzz_dirs[0]); i++) {
		if (msg_decode(body, len, fuzz_dirs[i], &m, &wants_fd, err,
			sizeof(err)) != 0)
			continue;
		if (wants_fd)
			m.fd = STDIN_FILENO;
		if (fuzz_dirs[i] == DIR_FROM_CLIENT)
			fuzz_request(&m);
		/*
		 * What the decoder accepts, the encoder can say again; only
		 * the size may differ (float 32 comes back as float 64).
		 */
		if (msg_encode(&m, &buf, &outlen) == 0)
			free(buf);
		else if (errno != EMSGSIZE)
			abort();
		msg_clear(&m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	size_t off = 0, flen;

	while (
	    frame_check(data + off, size - off, &flen, err, sizeof(err)) == 1) {
		fuzz_decode(
		    data + off + FRAME_HEADER_SIZE, flen - FRAME_HEADER_SIZE);
		off += flen;
	}
	/* The whole input as one body too, so short inputs reach msgpack. */
	if (size <= FRAME_MAX)
		fuzz_decode(data, size);
	return 0;
}
