/*
 * The wire catalogue and message bodies. A frame is a 4-byte big-endian
 * length followed by one msgpack map. Every map carries "v" (protocol
 * version) and "t" (message type); "fd": true says that one descriptor
 * travels with the frame (SCM_RIGHTS). The other keys are the fields of the
 * body structs below, with the same names.
 *
 * Decoding is strict: wrong msgpack types, missing required fields, strings
 * longer than their buffer, integers out of range, a wrong version, an
 * unknown type or a type not allowed in that direction are all errors with
 * a message. Unknown keys are ignored. Nothing here does I/O.
 */
#ifndef REEL_MSG_H
#define REEL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "contract.h"

#define REEL_PROTO_VERSION 1
#define FRAME_HEADER_SIZE 4
/* Largest frame body; the length prefix is not counted. */
#define FRAME_MAX (64 * 1024)

enum msg_dir {
	DIR_FROM_CLIENT = 1 << 0,
	DIR_TO_CLIENT = 1 << 1,
	DIR_TO_WORKER = 1 << 2,
	DIR_FROM_WORKER = 1 << 3,
};

enum msg_type {
#define MSG(name, number, dir) MSG_##name = number,
#include "msg.def"
#undef MSG
};

#define MSG_FILENAME_SIZE 256
#define MSG_URL_SIZE 2048
#define MSG_PATH_SIZE 1024
#define MSG_TEXT_SIZE 512
#define MSG_WORD_SIZE 32
#define MSG_CONFIG_MAX 16
#define MSG_CONFIG_KEY_SIZE 32
#define MSG_CONFIG_VALUE_SIZE 128

/* config: a msgpack map of string to string, at most MSG_CONFIG_MAX pairs. */
struct msg_config {
	unsigned count;
	struct {
		char key[MSG_CONFIG_KEY_SIZE];
		char value[MSG_CONFIG_VALUE_SIZE];
	} kv[MSG_CONFIG_MAX];
};

/* UPLOAD: the open video travels as the frame's descriptor. */
struct msg_upload {
	char filename[MSG_FILENAME_SIZE];
};

/* SUBMIT: template_id and webhook_url are optional ("" when absent). */
struct msg_submit {
	char video_id[REEL_ID_SIZE];
	char template_id[REEL_ID_SIZE];
	bool template_only;
	char webhook_url[MSG_URL_SIZE];
	struct msg_config config;
};

/* STATUS, CANCEL, WEBHOOKS and REDELIVER. */
struct msg_job_ref {
	char job_id[REEL_ID_SIZE];
};

/* LIST: status is optional ("" for every status). */
struct msg_list {
	char status[MSG_WORD_SIZE];
	uint32_t page;
	uint32_t page_size;
};

/* RESULT: artifact is optional; when named, reeld passes it read-only. */
struct msg_result {
	char job_id[REEL_ID_SIZE];
	char artifact[MSG_WORD_SIZE];
};

/*
 * IDENTIFY: the rest of the connection acts for user, as its owner (and
 * sees every job when admin). reeld accepts it only from the user it
 * trusts to have authenticated user (reel-httpd: docs/httpd.md).
 */
struct msg_identify {
	char user[REEL_USER_SIZE];
	bool admin;
};

/*
 * RESPONSE: the documented envelope. On success "data" is any msgpack
 * value (nil allowed); on failure "error" is a map {code, detail}.
 */
struct msg_response {
	bool success;
	char message[MSG_TEXT_SIZE];
	json_t *data;
	char error_code[MSG_WORD_SIZE];
	char error_detail[MSG_TEXT_SIZE];
};

/* JOB_START: what one worker runs. source/template_path may be "". */
struct msg_job_start {
	char job_id[REEL_ID_SIZE];
	uint32_t gen;
	char stage[MSG_WORD_SIZE];
	char job_dir[MSG_PATH_SIZE];
	char source[MSG_PATH_SIZE];
	char template_path[MSG_PATH_SIZE];
	bool template_only;
	struct msg_config config;
};

/* HELLO: the worker's first message. */
struct msg_hello {
	uint32_t gen;
	int32_t pid;
};

/* PROGRESS: the fraction of the worker's own stage, 0..1000. */
struct msg_progress {
	uint32_t gen;
	uint32_t permille;
};

/*
 * STAGE_DONE: result is optional (NULL when absent), e.g. probe metadata.
 * peak_rss_kb, in both final messages, is the worker's own high-water
 * resident set (VmHWM) in KiB, 0 when unknown: the kernel's ru_maxrss of a
 * child started by vfork also counts the parent's memory it ran in.
 */
struct msg_stage_done {
	uint32_t gen;
	json_t *result;
	uint32_t peak_rss_kb;
};

/* STAGE_FAIL: a human-readable cause. */
struct msg_stage_fail {
	uint32_t gen;
	char message[MSG_TEXT_SIZE];
	uint32_t peak_rss_kb;
};

struct msg {
	enum msg_type type;
	/* Descriptor passed with the frame, or -1. */
	int fd;
	union {
		struct msg_upload upload;
		struct msg_submit submit;
		struct msg_job_ref job_ref;
		struct msg_list list;
		struct msg_result result;
		struct msg_identify identify;
		struct msg_response response;
		struct msg_job_start job_start;
		struct msg_hello hello;
		struct msg_progress progress;
		struct msg_stage_done stage_done;
		struct msg_stage_fail stage_fail;
	} u;
};

/* Zeroes m, sets its type and fd = -1. */
void msg_init(struct msg *m, enum msg_type type);
/* Frees the JSON a message owns. Does not close m->fd. */
void msg_clear(struct msg *m);
/* "SUBMIT", "PROGRESS", ...; "unknown" for anything else. */
const char *msg_type_name(int type);
/* The direction bit of a type, or 0 when the type is unknown. */
unsigned msg_type_dir(int type);

/*
 * Encodes m as a whole frame, length prefix included, into a malloc'd
 * buffer. Returns -1 (and sets errno) if it would exceed FRAME_MAX.
 */
int msg_encode(const struct msg *m, char **out, size_t *outlen);

/*
 * Looks at buffered bytes: returns 0 when a whole frame is not there yet,
 * 1 with *frame_len (prefix included) when it is, -1 with err when the
 * declared length is 0 or over FRAME_MAX.
 */
int frame_check(
    const void *buf, size_t avail, size_t *frame_len, char *err, size_t errlen);

/*
 * Decodes one frame body (the bytes after the length prefix). dirs is the
 * set of directions the caller accepts. Returns 0, or -1 with err. On
 * success the caller owns out (msg_clear it); out->fd is -1 and
 * *wants_fd tells whether the frame said a descriptor travels with it.
 */
int msg_decode(const void *body, size_t len, unsigned dirs, struct msg *out,
    bool *wants_fd, char *err, size_t errlen);

#endif
