/*
 * The shared-memory job table: a file in the runtime dir that reeld maps
 * read-write and every reader maps read-only. reeld is the only writer.
 *
 * Layout: one header, then slot_count fixed-size slots. The header's
 * counters and each slot are guarded by a sequence counter: the writer makes
 * it odd, writes, then makes it even; a reader copies and retries while the
 * counter was odd or changed. No locks, so a stopped or dead reader can never
 * block reeld. Strings are bounded and always NUL-terminated.
 */
#ifndef REEL_JOBTAB_H
#define REEL_JOBTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "contract.h"

#define JOBTAB_MAGIC 0x53424f4a4c454552ULL /* "REELJOBS" little-endian */
#define JOBTAB_ABI_VERSION 2
#define JOBTAB_ERROR_SIZE 200
#define JOBTAB_MAX_SLOTS 65536

/* Counters and identity: what reelstat shows above the table. */
struct jobtab_info {
	int32_t pid;
	uint32_t slot_count;
	int64_t start_ms;     /* CLOCK_REALTIME, ms */
	int64_t heartbeat_ms; /* CLOCK_REALTIME, ms */
	uint64_t submitted;
	uint64_t completed;
	uint64_t failed;
	uint64_t cancelled;
	uint64_t queue_depth;
	uint64_t running;
};

/* One job as published. in_use == 0 marks a free slot. */
struct jobtab_job {
	uint8_t in_use;
	uint8_t status;	  /* enum job_status */
	uint8_t stage;	  /* enum stage; STAGE_NONE unless processing */
	uint8_t progress; /* 0..100 */
	uint8_t error_stage;
	uint8_t template_only;
	uint8_t pad[2];
	int32_t worker_pid; /* 0 when no worker runs */
	uint32_t pad2;
	int64_t created_ms;
	int64_t updated_ms;
	int64_t started_ms;   /* 0 when not started */
	int64_t completed_ms; /* 0 when not terminal */
	char job_id[24];
	char video_id[24];
	char template_id[24];
	char error[JOBTAB_ERROR_SIZE];
	/* ABI 2: whose job it is (reel-httpd checks it) and why it failed. */
	uint32_t owner_uid;
	char owner_name[32]; /* "" for a local client's job */
	char error_code[32];
	uint32_t pad3;
};

struct jobtab;

/* reeld: creates (replacing any old file) and maps read-write, mode 0644. */
struct jobtab *jobtab_create(const char *path, uint32_t slot_count);
/*
 * Readers: maps read-only and validates magic, ABI version, header and slot
 * sizes and the file's length. Returns NULL with err on any mismatch.
 */
struct jobtab *jobtab_open_ro(const char *path, char *err, size_t errlen);
void jobtab_close(struct jobtab *jt);
uint32_t jobtab_slot_count(const struct jobtab *jt);

/* Writer side. */
void jobtab_set_pid(struct jobtab *jt, int32_t pid, int64_t start_ms);
void jobtab_heartbeat(struct jobtab *jt, int64_t now_ms);
void jobtab_write_counters(struct jobtab *jt, const struct jobtab_info *in);
void jobtab_write_job(
    struct jobtab *jt, uint32_t slot, const struct jobtab_job *job);
void jobtab_clear_job(struct jobtab *jt, uint32_t slot);

/* Reader side: consistent copies; retries while the writer is mid-update. */
void jobtab_read_info(const struct jobtab *jt, struct jobtab_info *out);
void jobtab_read_job(
    const struct jobtab *jt, uint32_t slot, struct jobtab_job *out);

/*
 * Additions to the contract above (nothing above changes). The layout sizes
 * are fixed by the ABI version; jobtab.c asserts them at compile time.
 */
#define JOBTAB_HEADER_SIZE 256
#define JOBTAB_SLOT_SIZE 448
/*
 * How long a reader keeps retrying one header or slot. Only a writer
 * stopped in the middle of an update (SIGSTOP, a debugger) holds a counter
 * odd that long: reeld is single-threaded and never blocks inside one.
 */
#define JOBTAB_READ_TIMEOUT_MS 100

/*
 * As jobtab_read_info() and jobtab_read_job(), but return -1 with out
 * zeroed when no consistent copy came within JOBTAB_READ_TIMEOUT_MS (or the
 * slot is out of range), 0 otherwise. The void forms above behave the same
 * and drop the result, so a slot that cannot be read shows as free.
 */
int jobtab_try_read_info(const struct jobtab *jt, struct jobtab_info *out);
int jobtab_try_read_job(
    const struct jobtab *jt, uint32_t slot, struct jobtab_job *out);

#endif
