/*
 * Jobs from submission to their end: the FIFO queue, running stages one
 * worker at a time (audio_analysis beside video_analysis), cancellation and
 * the job timeout. Every state change goes through jobstate.c, so the
 * contract's rules hold here by construction; it is journalled, then
 * published to the shared-memory table. A job holds its processing slot
 * until its last worker has gone, even when it was cancelled earlier, so
 * that no more than --slots workers ever run at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "config.h"
#include "confine.h"
#include "job.h"
#include "jobrecord.h"
#include "jobrun.h"
#include "jobshm.h"
#include "jobstate.h"
#include "jobview.h"
#include "journal.h"
#include "log.h"
#include "util.h"
#include "video.h"
#include "webhook.h"

static TAILQ_HEAD(, job) queue = TAILQ_HEAD_INITIALIZER(queue);
static TAILQ_HEAD(, job) running = TAILQ_HEAD_INITIALIZER(running);
static struct event_base *job_base;
static const struct config *job_cfg;
static bool shutting_down;

static void job_run_stage(struct job *j);
static void job_release(struct job *j);
static void job_count_end(const struct job *j);
static void job_dequeue(struct job *j);
static void job_continue(struct job *j);
static void job_progress_cb(void *arg, unsigned permille);
static void job_finished_cb(void *arg, const struct child_outcome *out);
static void job_early_progress_cb(void *arg, unsigned permille);
static void job_early_finished_cb(void *arg, const struct child_outcome *out);
static void job_stop_workers(struct job *j, const char *code);
static void job_timeout_cb(evutil_socket_t fd, short what, void *arg);

static const struct child_ops job_child_ops = {
    .progress = job_progress_cb,
    .finished = job_finished_cb,
};

static const struct child_ops job_early_ops = {
    .progress = job_early_progress_cb,
    .finished = job_early_finished_cb,
};

void
jobrun_init(struct event_base *base, const struct config *cfg)
{
	job_base = base;
	job_cfg = cfg;
}

/* Submission */

static bool
config_same(const struct msg_config *a, const struct msg_config *b)
{
	if (a->count != b->count)
		return false;
	for (unsigned i = 0; i < a->count; i++) {
		if (strcmp(a->kv[i].key, b->kv[i].key) != 0 ||
		    strcmp(a->kv[i].value, b->kv[i].value) != 0)
			return false;
	}
	return true;
}

/* The same request while an equal one is queued or processing. */
static bool
job_same_request(const struct job *j, const struct msg_submit *req)
{
	return !job_terminal(j) && strcmp(j->j_video, req->video_id) == 0 &&
	       strcmp(j->j_template, req->template_id) == 0 &&
	       j->j_st.template_only == req->template_only &&
	       config_same(&j->j_config, &req->config);
}

static const struct job *
job_duplicate(const struct msg_submit *req)
{
	const struct job *j;

	TAILQ_FOREACH(j, &queue, j_active)
	{
		if (job_same_request(j, req))
			return j;
	}
	TAILQ_FOREACH(j, &running, j_active)
	{
		if (job_same_request(j, req))
			return j;
	}
	return NULL;
}

static int
job_validate(const struct msg_submit *req, char *code, char *detail)
{
	const struct job *dup;

	/* The fields' bounds were checked by request_check(). */
	str_copy(code, ERR_VIDEO_NOT_FOUND, MSG_WORD_SIZE);
	if (video_find(req->video_id) == NULL) {
		snprintf(detail, MSG_TEXT_SIZE,
		    "No video with id '%.32s' exists.", req->video_id);
		return -1;
	}
	if (req->template_id[0] != '\0' &&
	    video_find(req->template_id) == NULL) {
		snprintf(detail, MSG_TEXT_SIZE,
		    "No template video with id '%.32s' exists.",
		    req->template_id);
		return -1;
	}
	if ((dup = job_duplicate(req)) != NULL) {
		str_copy(code, ERR_JOB_ALREADY_PROCESSING, MSG_WORD_SIZE);
		snprintf(detail, MSG_TEXT_SIZE,
		    "Job %s for the same video, template and config is %s.",
		    dup->j_id, job_status_name(dup->j_st.status));
		return -1;
	}
	return 0;
}

static struct job *
job_new(const struct msg_submit *req, const struct caller *owner)
{
	struct job *j = job_alloc();

	do {
		if (reel_id_new("job_", j->j_id) != 0)
			fatal("%s: getrandom", __func__);
	} while (job_lookup(j->j_id) != NULL);
	str_copy(j->j_video, req->video_id, sizeof(j->j_video));
	str_copy(j->j_template, req->template_id, sizeof(j->j_template));
	str_copy(j->j_webhook, req->webhook_url, sizeof(j->j_webhook));
	j->j_config = req->config;
	j->j_owner = owner->uid;
	str_copy(j->j_owner_name, owner->name, sizeof(j->j_owner_name));
	jobstate_init(&j->j_st, req->template_only, clock_realtime_ms());
	return j;
}

static int
job_refuse_unrecorded(char *code, char *detail, int err)
{
	str_copy(code, err == ENOSPC ? ERR_STORAGE_FULL : ERR_INTERNAL,
	    MSG_WORD_SIZE);
	snprintf(detail, MSG_TEXT_SIZE,
	    "reeld cannot record new jobs in its journal (%s in %s); the job "
	    "was not accepted",
	    strerror(err), job_cfg->state_dir);
	return -1;
}

int
jobrun_submit(const struct msg_submit *req, const struct caller *who,
    json_t **data, char *code, char *detail)
{
	struct job *j;

	if (job_validate(req, code, detail) != 0)
		return -1;
	if (shutting_down) {
		str_copy(code, ERR_INTERNAL, MSG_WORD_SIZE);
		snprintf(detail, MSG_TEXT_SIZE, "reeld is shutting down");
		return -1;
	}
	if (!journal_writable())
		return job_refuse_unrecorded(code, detail, ENOSPC);
	j = job_new(req, who);
	/* Durable before it is acknowledged or published. */
	if (jobrecord_write(j, true) != 0) {
		int err = errno;

		free(j);
		return job_refuse_unrecorded(code, detail, err);
	}
	job_insert(j);
	jobrun_enqueue(j);
	jobshm_claim_slot(j);
	if (j->j_slot < 0)
		log_warnx("job table full: %s is not shown in shared memory",
		    j->j_id);
	jobshm_counters()->submitted++;
	jobshm_publish(j);
	*data = jobview_json(j, false);
	log_info("%s queued: video %s template %s%s", j->j_id, j->j_video,
	    j->j_template[0] != '\0' ? j->j_template : "(source)",
	    j->j_st.template_only ? " template-only" : "");
	jobrun_schedule();
	jobshm_publish_counters();
	return 0;
}

/* Running */

static void
job_dequeue(struct job *j)
{
	if (!j->j_queued)
		return;
	TAILQ_REMOVE(&queue, j, j_active);
	j->j_queued = false;
	jobshm_counters()->queue_depth--;
}

void
jobrun_enqueue(struct job *j)
{
	TAILQ_INSERT_TAIL(&queue, j, j_active);
	j->j_queued = true;
	jobshm_counters()->queue_depth++;
}

/* Created the first time the job runs: the registry needs no event base. */
static void
job_arm_timeout(struct job *j)
{
	struct timeval tv = {job_cfg->job_timeout_seconds, 0};

	if (j->j_timeout_ev == NULL)
		j->j_timeout_ev = evtimer_new(job_base, job_timeout_cb, j);
	if (j->j_timeout_ev == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(j->j_timeout_ev, &tv);
}

void
jobrun_schedule(void)
{
	struct job *j;

	while (!shutting_down && jobshm_counters()->running < job_cfg->slots &&
	       (j = TAILQ_FIRST(&queue)) != NULL) {
		job_dequeue(j);
		if (j->j_resume)
			j->j_resume = false;
		else if (jobstate_start(&j->j_st, clock_realtime_ms()) == 0)
			jobrecord_write(j, false);
		else
			fatalx("%s: %s cannot start from %s", __func__, j->j_id,
			    job_status_name(j->j_st.status));
		j->j_running = true;
		TAILQ_INSERT_TAIL(&running, j, j_active);
		jobshm_counters()->running++;
		job_arm_timeout(j);
		job_run_stage(j);
	}
}

/*
 * The inputs of a job's workers: see docs/jobs.md for the rules. -1 when
 * a video is no longer registered (its files were removed by hand while
 * the job waited, e.g. across a restart).
 */
static int
job_inputs(const struct job *j, struct msg_job_start *start)
{
	const struct video *src = video_find(j->j_video);
	const struct video *tpl =
	    j->j_template[0] != '\0' ? video_find(j->j_template) : src;

	if (tpl == NULL || (src == NULL && !j->j_st.template_only))
		return -1;
	str_copy(start->template_path, video_path(tpl),
	    sizeof(start->template_path));
	if (!j->j_st.template_only)
		str_copy(start->source, video_path(src), sizeof(start->source));
	return 0;
}

/* The stage cannot start: the job fails there, before any worker. */
static void
job_fail_to_start(struct job *j, const char *code, const char *why)
{
	jobstate_fail(&j->j_st, j->j_st.stage, code, why, clock_realtime_ms());
	job_count_end(j);
	job_release(j);
}

/* A worker for stage; NULL when it cannot start (logged). */
static struct child *
job_start_worker(struct job *j, struct msg_job_start *start, enum stage stage,
    const struct child_ops *ops)
{
	struct child *c;

	str_copy(start->stage, stage_name(stage), sizeof(start->stage));
	if ((c = child_start(start, ops, j)) != NULL)
		log_info("%s %s: worker pid %d", j->j_id, start->stage,
		    (int)child_pid(c));
	return c;
}

/*
 * audio_analysis needs nothing from video_analysis, and video_analysis
 * leaves part of a second core idle: the two run together. When the early
 * worker cannot start, audio_analysis runs in its turn.
 */
static void
job_run_stage(struct job *j)
{
	struct msg_job_start start;

	memset(&start, 0, sizeof(start));
	str_copy(start.job_id, j->j_id, sizeof(start.job_id));
	job_dir(j, start.job_dir, sizeof(start.job_dir));
	/* Every stage: a restart or a new --worker-user needs it again. */
	if (mkdir_p(start.job_dir, 0750) != 0 ||
	    confine_grant(start.job_dir) != 0) {
		log_warn("%s: mkdir %s", __func__, start.job_dir);
		job_fail_to_start(
		    j, ERR_INTERNAL, "cannot create the job directory");
		return;
	}
	if (job_inputs(j, &start) != 0) {
		job_fail_to_start(j, ERR_VIDEO_NOT_FOUND,
		    "the job's video or template is no longer stored");
		return;
	}
	start.template_only = j->j_st.template_only;
	start.config = j->j_config;
	j->j_child = job_start_worker(j, &start, j->j_st.stage, &job_child_ops);
	if (j->j_child == NULL) {
		job_fail_to_start(
		    j, ERR_INTERNAL, "cannot start a worker process");
		return;
	}
	if (j->j_st.stage == STAGE_VIDEO_ANALYSIS)
		j->j_early = job_start_worker(
		    j, &start, STAGE_AUDIO_ANALYSIS, &job_early_ops);
	jobshm_publish(j);
}

static void
job_progress_cb(void *arg, unsigned permille)
{
	struct job *j = arg;

	if (jobstate_progress(
		&j->j_st, j->j_st.stage, permille, clock_realtime_ms()) == 0)
		jobshm_publish(j);
}

static void
job_early_progress_cb(void *arg, unsigned permille)
{
	struct job *j = arg;

	if (j->j_st.stage == STAGE_AUDIO_ANALYSIS)
		job_progress_cb(j, permille);
}

/* The job has just ended: journal it (synced), then tell the world. */
static void
job_count_end(const struct job *j)
{
	jobshm_count_end(j);
	jobrecord_write(j, true);
	job_clean_files(j, "proxy-", "(the job has ended)");
	log_info("%s %s%s%s", j->j_id, job_status_name(j->j_st.status),
	    j->j_st.error[0] != '\0' ? ": " : "", j->j_st.error);
	if (j->j_webhook[0] != '\0')
		jobrun_notify(j);
}

/* The job's end, as an event for its webhook_url (webhook.c retries it). */
void
jobrun_notify(const struct job *j)
{
	char event_id[REEL_ID_SIZE + 16];
	json_t *body = jobview_webhook_body(j);

	jobview_event_id(j, event_id, sizeof(event_id));
	webhook_post(j->j_id, j->j_webhook, event_id, body);
	json_decref(body);
}

/*
 * The job has ended or stopped: once no worker is left, give back its
 * processing slot. An early worker still running is no longer needed.
 */
static void
job_release(struct job *j)
{
	j->j_child = NULL;
	if (j->j_early != NULL) {
		child_stop(
		    j->j_early, shutting_down ? "SHUTDOWN" : "CANCELLED");
		jobshm_publish(j);
		return;
	}
	j->j_early_ended = false;
	if (j->j_timeout_ev != NULL)
		evtimer_del(j->j_timeout_ev);
	if (j->j_running) {
		j->j_running = false;
		TAILQ_REMOVE(&running, j, j_active);
		jobshm_counters()->running--;
	}
	jobshm_publish(j);
	jobshm_publish_counters();
	jobrun_schedule();
}

static void
job_stage_ok(struct job *j)
{
	enum stage done = j->j_st.stage;

	if (done == STAGE_STYLE_EXTRACTION)
		jobview_load_style(j);
	if (jobstate_stage_done(&j->j_st, done, clock_realtime_ms()) != 0)
		fatalx("%s: %s cannot finish %s", __func__, j->j_id,
		    stage_name(done));
	if (job_terminal(j)) {
		job_count_end(j);
		job_release(j);
		return;
	}
	/* The finished stage's artifacts are now a checkpoint. */
	jobrecord_write(j, false);
	job_continue(j);
}

/*
 * The job's next stage: a worker for it, unless it ran early. Its early
 * outcome is then taken as if it had run now, so running early changes a
 * job's time, never its result or which stage a failure names.
 */
static void
job_continue(struct job *j)
{
	struct child_outcome out;

	if (j->j_st.stage != STAGE_AUDIO_ANALYSIS ||
	    (j->j_early == NULL && !j->j_early_ended)) {
		job_run_stage(j);
		return;
	}
	if (j->j_early != NULL) {
		jobshm_publish(j); /* its end is this stage's end */
		return;
	}
	out = j->j_early_out;
	j->j_early_ended = false;
	job_finished_cb(j, &out);
}

static void
job_early_finished_cb(void *arg, const struct child_outcome *out)
{
	struct job *j = arg;

	j->j_early = NULL;
	if (!job_terminal(j) && j->j_st.stage == STAGE_AUDIO_ANALYSIS) {
		job_finished_cb(j, out);
		return;
	}
	if (!job_terminal(j) && j->j_child != NULL &&
	    out->end != CHILD_CANCELLED) {
		j->j_early_out = *out;
		j->j_early_out.result = NULL;
		if (out->code != NULL) {
			str_copy(j->j_early_code, out->code,
			    sizeof(j->j_early_code));
			j->j_early_out.code = j->j_early_code;
		}
		j->j_early_ended = true;
		log_info("%s audio_analysis: worker ended early; its outcome "
			 "counts after video_analysis",
		    j->j_id);
		return;
	}
	/* The job ended or stopped while it ran. */
	if (j->j_child == NULL)
		job_release(j);
}

static void
job_stage_stopped(struct job *j, const struct child_outcome *out)
{
	char msg[MSG_TEXT_SIZE];
	int64_t now = clock_realtime_ms();

	if (strcmp(out->code, ERR_JOB_TIMEOUT) == 0) {
		snprintf(msg, sizeof(msg),
		    "job exceeded the processing timeout of %u s during %s",
		    job_cfg->job_timeout_seconds, stage_name(j->j_st.stage));
		jobstate_fail(
		    &j->j_st, j->j_st.stage, ERR_JOB_TIMEOUT, msg, now);
	} else {
		jobstate_cancel(&j->j_st, now);
	}
}

static void
job_finished_cb(void *arg, const struct child_outcome *out)
{
	struct job *j = arg;

	j->j_child = NULL;
	if (!job_terminal(j)) {
		j->j_stats[j->j_st.stage].wall_s = out->wall_s;
		j->j_stats[j->j_st.stage].cpu_s = out->cpu_s;
		j->j_stats[j->j_st.stage].peak_rss_kb = out->peak_rss_kb;
		log_info("%s %s: %s in %.2f s (%.2f CPU s), peak RSS %ld MiB",
		    j->j_id, stage_name(j->j_st.stage),
		    out->end == CHILD_OK ? "done" : "ended", out->wall_s,
		    out->cpu_s, out->peak_rss_kb / 1024);
	}
	if (job_terminal(j)) {
		/* Cancelled earlier; its worker has now gone. */
		job_release(j);
		return;
	}
	switch (out->end) {
	case CHILD_OK:
		job_stage_ok(j);
		return;
	case CHILD_FAILED:
		jobstate_fail(&j->j_st, j->j_st.stage, out->code, out->message,
		    clock_realtime_ms());
		break;
	case CHILD_CANCELLED:
		if (strcmp(out->code, "SHUTDOWN") == 0) {
			log_info("%s: stopped at %s; resumes there when reeld "
				 "starts again",
			    j->j_id, stage_name(j->j_st.stage));
			job_release(j);
			return;
		}
		job_stage_stopped(j, out);
		break;
	}
	job_count_end(j);
	job_release(j);
}

/* Both of a job's workers, the current stage's and the early one. */
static void
job_stop_workers(struct job *j, const char *code)
{
	if (j->j_child != NULL)
		child_stop(j->j_child, code);
	if (j->j_early != NULL)
		child_stop(j->j_early, code);
}

static void
job_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	log_warnx("%s exceeded %u s", j->j_id, job_cfg->job_timeout_seconds);
	job_stop_workers(j, ERR_JOB_TIMEOUT);
}

int
jobrun_cancel(struct job *j, char *code, char *detail)
{
	if (job_terminal(j)) {
		str_copy(code, ERR_JOB_ALREADY_TERMINAL, MSG_WORD_SIZE);
		snprintf(detail, MSG_TEXT_SIZE, "Job %s is already %s.",
		    j->j_id, job_status_name(j->j_st.status));
		return -1;
	}
	job_dequeue(j);
	jobstate_cancel(&j->j_st, clock_realtime_ms());
	job_count_end(j);
	/* The slot stays taken until the worker group is gone. */
	job_stop_workers(j, "CANCELLED");
	jobshm_publish(j);
	jobshm_publish_counters();
	return 0;
}

void
jobrun_shutdown(void)
{
	shutting_down = true;
	child_stop_all("SHUTDOWN");
}
