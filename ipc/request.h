/*
 * Bounds on every field a client sends, checked before reeld acts on a
 * request (docs/jobs.md lists them). The decoder (msg.c) already enforces
 * types and lengths; this adds what the contract means: id formats, URL
 * schemes, config keys and values, page ranges, status names.
 */
#ifndef REEL_REQUEST_H
#define REEL_REQUEST_H

#include "msg.h"

#define REQUEST_PAGE_MAX 1000000
#define REQUEST_PAGE_SIZE_MAX 100
/* Config keys with this prefix are passed to workers unchecked. */
#define REQUEST_CONFIG_EXT_PREFIX "x-"

/*
 * 0 when m may be acted on; else -1 with a documented error code and a
 * message naming the field and its bounds.
 */
int request_check(
    const struct msg *m, char code[MSG_WORD_SIZE], char detail[MSG_TEXT_SIZE]);

#endif
