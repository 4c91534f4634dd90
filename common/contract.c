/*
 * The job contract's names and numbers. Parsing is exact: a name that is
 * not in the contract is refused rather than guessed at.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "contract.h"

static const char *const status_names[JOB_STATUS_COUNT] = {
    "queued",
    "processing",
    "completed",
    "failed",
    "cancelled",
};

static const struct {
	const char *name;
	int lo, hi;
} stages[] = {
    [STAGE_NONE] = {"none", 0, 0},
    [STAGE_VIDEO_ANALYSIS] = {"video_analysis", 1, 20},
    [STAGE_AUDIO_ANALYSIS] = {"audio_analysis", 21, 35},
    [STAGE_MOTION_ANALYSIS] = {"motion_analysis", 36, 55},
    [STAGE_STYLE_EXTRACTION] = {"style_extraction", 56, 65},
    [STAGE_STYLE_APPLICATION] = {"style_application", 66, 85},
    [STAGE_RENDERING] = {"rendering", 86, 99},
    [STAGE_PROBE] = {"probe", 0, 0},
};
#define STAGE_COUNT (sizeof(stages) / sizeof(stages[0]))

const char *
job_status_name(enum job_status status)
{
	if ((unsigned)status >= JOB_STATUS_COUNT)
		return "unknown";
	return status_names[status];
}

int
job_status_parse(const char *name, enum job_status *out)
{
	for (unsigned i = 0; i < JOB_STATUS_COUNT; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum job_status)i;
			return 0;
		}
	}
	return -1;
}

bool
job_status_terminal(enum job_status status)
{
	return status == JOB_COMPLETED || status == JOB_FAILED ||
	       status == JOB_CANCELLED;
}

const char *
stage_name(enum stage stage)
{
	if ((unsigned)stage >= STAGE_COUNT)
		return "unknown";
	return stages[stage].name;
}

int
stage_parse(const char *name, enum stage *out)
{
	for (unsigned i = 1; i < STAGE_COUNT; i++) {
		if (strcmp(name, stages[i].name) == 0) {
			*out = (enum stage)i;
			return 0;
		}
	}
	return -1;
}

void
stage_progress_range(enum stage stage, int *lo, int *hi)
{
	if ((unsigned)stage >= STAGE_COUNT)
		stage = STAGE_NONE;
	*lo = stages[stage].lo;
	*hi = stages[stage].hi;
}

int
stage_progress_percent(enum stage stage, unsigned permille)
{
	int lo, hi;

	stage_progress_range(stage, &lo, &hi);
	if (permille > 1000)
		permille = 1000;
	return lo + (int)(((unsigned)(hi - lo) * permille) / 1000);
}

int
reel_id_new(const char *prefix, char buf[REEL_ID_SIZE])
{
	unsigned char raw[6];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	snprintf(buf, REEL_ID_SIZE, "%.4s%02x%02x%02x%02x%02x%02x", prefix,
	    raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]);
	return 0;
}

bool
reel_user_valid(const char *user)
{
	size_t n = strlen(user);

	return n >= 1 && n <= REEL_USER_LEN &&
	       strspn(user, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == n;
}

bool
reel_id_valid(const char *prefix, const char *id)
{
	if (strlen(id) != REEL_ID_LEN || strncmp(id, prefix, 4) != 0)
		return false;
	for (const char *p = id + 4; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return true;
}
