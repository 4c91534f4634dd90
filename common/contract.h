/*
 * The job contract shared by every binary (seed-api.md sections 3-4 and 8):
 * statuses, stages in order, the progress range of each stage, identifier
 * formats and the documented error codes. Numbers here are stored in the
 * shared-memory table and sent on the wire, so they never change.
 */
#ifndef REEL_CONTRACT_H
#define REEL_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>

enum job_status {
	JOB_QUEUED = 0,
	JOB_PROCESSING = 1,
	JOB_COMPLETED = 2,
	JOB_FAILED = 3,
	JOB_CANCELLED = 4,
};
#define JOB_STATUS_COUNT 5

enum stage {
	STAGE_NONE = 0,
	STAGE_VIDEO_ANALYSIS = 1,
	STAGE_AUDIO_ANALYSIS = 2,
	STAGE_MOTION_ANALYSIS = 3,
	STAGE_STYLE_EXTRACTION = 4,
	STAGE_STYLE_APPLICATION = 5,
	STAGE_RENDERING = 6,
	/* Not a job stage: the upload probe runs in a worker too. */
	STAGE_PROBE = 7,
};
#define STAGE_FIRST STAGE_VIDEO_ANALYSIS
#define STAGE_LAST STAGE_RENDERING

/* "job_" or "vid_" plus 12 lowercase hex digits, and the NUL. */
#define REEL_ID_LEN 16
#define REEL_ID_SIZE (REEL_ID_LEN + 1)

/* Documented error codes (seed-api.md section 8) and reel's additions. */
#define ERR_UNSUPPORTED_FORMAT "UNSUPPORTED_FORMAT"
#define ERR_FILE_TOO_LARGE "FILE_TOO_LARGE"
#define ERR_MISSING_FIELD "MISSING_FIELD"
#define ERR_VIDEO_NOT_FOUND "VIDEO_NOT_FOUND"
#define ERR_JOB_NOT_FOUND "JOB_NOT_FOUND"
#define ERR_JOB_ALREADY_PROCESSING "JOB_ALREADY_PROCESSING"
#define ERR_JOB_TIMEOUT "JOB_TIMEOUT"
#define ERR_RESULT_NOT_READY "RESULT_NOT_READY"
#define ERR_JOB_ALREADY_TERMINAL "JOB_ALREADY_TERMINAL"
#define ERR_INVALID_REQUEST "INVALID_REQUEST"
#define ERR_RESPONSE_TOO_LARGE "RESPONSE_TOO_LARGE"
#define ERR_STORAGE_FULL "STORAGE_FULL"
#define ERR_INTERNAL "INTERNAL_ERROR"
#define ERR_UNAUTHORIZED "UNAUTHORIZED"
#define ERR_FORBIDDEN "FORBIDDEN"

const char *job_status_name(enum job_status status);
int job_status_parse(const char *name, enum job_status *out);
bool job_status_terminal(enum job_status status);

const char *stage_name(enum stage stage);
int stage_parse(const char *name, enum stage *out);
/* Inclusive progress range of a job stage; 0 for STAGE_NONE. */
void stage_progress_range(enum stage stage, int *lo, int *hi);
/* Maps a worker's fraction of its own stage (per mille) into the range. */
int stage_progress_percent(enum stage stage, unsigned permille);

/* Fills buf with prefix ("job_" or "vid_") and 12 random hex digits. */
int reel_id_new(const char *prefix, char buf[REEL_ID_SIZE]);
bool reel_id_valid(const char *prefix, const char *id);

/*
 * An owner named by reel-httpd for a token: 1 to REEL_USER_LEN of
 * a-z A-Z 0-9 . _ @ -. Local clients are owners by uid and have no name.
 */
#define REEL_USER_LEN 31
#define REEL_USER_SIZE (REEL_USER_LEN + 1)
bool reel_user_valid(const char *user);

#endif
