/*
 * The job state machine of the contract (seed-api.md section 4), as pure
 * functions on struct jobstate. Every transition either applies in full or
 * returns -1 and changes nothing. Guarantees:
 *  - terminal states (completed, failed, cancelled) never change again;
 *  - stages run in order, and a template-only job completes after
 *    style_extraction, jumping to 100;
 *  - progress is an integer that never decreases, stays inside the current
 *    stage's range, and is 100 only on completed;
 *  - stage is STAGE_NONE unless processing; the error is set only on failed.
 */
#include <string.h>

#include "jobstate.h"
#include "util.h"

static void touch(struct jobstate *st, int64_t now);
static void raise_progress(struct jobstate *st, int percent);
static void finish(struct jobstate *st, enum job_status status, int64_t now);

static void
touch(struct jobstate *st, int64_t now)
{
	/* A clock step backwards must not make updated_at run backwards. */
	if (now > st->updated_ms)
		st->updated_ms = now;
}

static void
raise_progress(struct jobstate *st, int percent)
{
	if (percent > st->progress)
		st->progress = percent;
}

static void
finish(struct jobstate *st, enum job_status status, int64_t now)
{
	st->status = status;
	st->stage = STAGE_NONE;
	st->completed_ms = now > st->created_ms ? now : st->created_ms;
	touch(st, now);
}

void
jobstate_init(struct jobstate *st, bool template_only, int64_t now)
{
	memset(st, 0, sizeof(*st));
	st->status = JOB_QUEUED;
	st->stage = STAGE_NONE;
	st->template_only = template_only;
	st->created_ms = now;
	st->updated_ms = now;
}

int
jobstate_start(struct jobstate *st, int64_t now)
{
	int lo, hi;

	if (st->status != JOB_QUEUED)
		return -1;
	st->status = JOB_PROCESSING;
	st->stage = STAGE_FIRST;
	st->started_ms = now;
	stage_progress_range(st->stage, &lo, &hi);
	raise_progress(st, lo);
	touch(st, now);
	return 0;
}

int
jobstate_progress(
    struct jobstate *st, enum stage stage, unsigned permille, int64_t now)
{
	int before = st->progress;

	if (st->status != JOB_PROCESSING || stage != st->stage ||
	    permille > 1000)
		return -1;
	raise_progress(st, stage_progress_percent(stage, permille));
	if (st->progress != before)
		touch(st, now);
	return 0;
}

int
jobstate_stage_done(struct jobstate *st, enum stage stage, int64_t now)
{
	int lo, hi;

	if (st->status != JOB_PROCESSING || stage != st->stage)
		return -1;
	if (stage == STAGE_LAST ||
	    (st->template_only && stage == STAGE_STYLE_EXTRACTION)) {
		st->progress = 100;
		finish(st, JOB_COMPLETED, now);
		return 0;
	}
	st->stage = (enum stage)(stage + 1);
	stage_progress_range(st->stage, &lo, &hi);
	raise_progress(st, lo);
	touch(st, now);
	return 0;
}

int
jobstate_fail(struct jobstate *st, enum stage stage, const char *code,
    const char *message, int64_t now)
{
	if (job_status_terminal(st->status))
		return -1;
	/* Only a running stage can fail; a queued job fails as "none". */
	if (st->status == JOB_PROCESSING && stage != st->stage)
		return -1;
	if (st->status == JOB_QUEUED && stage != STAGE_NONE)
		return -1;
	st->error_stage = stage;
	str_copy(st->error_code, code, sizeof(st->error_code));
	str_copy(st->error, message, sizeof(st->error));
	finish(st, JOB_FAILED, now);
	return 0;
}

int
jobstate_cancel(struct jobstate *st, int64_t now)
{
	if (job_status_terminal(st->status))
		return -1;
	finish(st, JOB_CANCELLED, now);
	return 0;
}

/* For replay: whether a state read back from the journal is one this
 * machine could have produced. */
bool
jobstate_valid(const struct jobstate *st)
{
	int lo, hi;

	if ((unsigned)st->status >= JOB_STATUS_COUNT || st->progress < 0 ||
	    st->progress > 100 || st->created_ms <= 0)
		return false;
	if (st->status != JOB_PROCESSING)
		return st->stage == STAGE_NONE &&
		       (st->status == JOB_COMPLETED) == (st->progress == 100);
	if (st->stage < STAGE_FIRST || st->stage > STAGE_LAST ||
	    (st->template_only && st->stage > STAGE_STYLE_EXTRACTION))
		return false;
	stage_progress_range(st->stage, &lo, &hi);
	return st->progress >= lo && st->progress <= hi;
}
