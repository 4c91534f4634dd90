/*
 * libFuzzer target for the frame and message decoder: every input is
 * treated as buffered socket bytes, split into frames with frame_check and
 * decoded in every direction, as reeld, the worker and the client would.
 * A crash, a leak or a sanitizer report here is a bug in ipc/msg.c or
 * ipc/jsonmp.c. Decoded messages are re-encoded, which must succeed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned fuzz_dirs[] = {
    DIR_FROM_CLIENT,
    DIR_TO_CLIENT,
    DIR_TO_WORKER,
    DIR_FROM_WORKER,
    DIR_FROM_CLIENT | DIR_TO_CLIENT | DIR_TO_WORKER | DIR_FROM_WORKER,
};

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
