/*
 * Jobs: submission, the FIFO queue, running stages one worker at a time,
 * cancellation, the job timeout, and publishing to the shared-memory table.
 * This file is the only caller of the jobtab writer functions, and every
 * state change goes through jobstate.c, so the contract's rules hold here by
 * construction. A job holds its processing slot until its last worker has
 * gone, even when it was cancelled earlier, so that no more than --slots
 * workers ever run at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/queue.h>
#include <unistd.h>

#include "child.h"
#include "confine.h"
#include "job.h"
#include "jobstate.h"
#include "journal.h"
#include "jsonfmt.h"
#include "log.h"
#include "util.h"
#include "video.h"
#include "webhook.h"

struct job {
	TAILQ_ENTRY(job) j_all;
	/* In the queue, or in the running list while j_running. */
	TAILQ_ENTRY(job) j_active;
	LIST_ENTRY(job) j_hash;
	bool j_queued;
	/* Processing when reeld stopped: runs its current stage again. */
	bool j_resume;
	uid_t j_owner;
	char j_id[REEL_ID_SIZE];
	char j_video[REEL_ID_SIZE];
	char j_template[REEL_ID_SIZE];
	char j_webhook[MSG_URL_SIZE];
	struct msg_config j_config;
	struct jobstate j_st;
	/* The worker of the job's current stage. */
	struct child *j_child;
	/*
	 * audio_analysis started early, beside video_analysis (docs/jobs.md,
	 * "stages run"), and its outcome, kept until the job reaches that
	 * stage.
	 */
	struct child *j_early;
	bool j_early_ended;
	struct child_outcome j_early_out;
	char j_early_code[MSG_WORD_SIZE];
	/* Set while the job holds one of the --slots processing slots. */
	bool j_running;
	struct event *j_timeout_ev;
	int j_slot;
	json_t *j_style;
	/* Per stage: worker wall time and peak RSS, for the detail view. */
	struct {
		double wall_s;
		long peak_rss_kb;
	} j_stats[STAGE_LAST + 1];
};

#define JOB_HASH_SIZE 4096
/* Room for style_json in a response frame, leaving space for the rest. */
#define STYLE_VIEW_MAX (FRAME_MAX / 2)

static TAILQ_HEAD(jobhead, job) jobs = TAILQ_HEAD_INITIALIZER(jobs);
static TAILQ_HEAD(, job) queue = TAILQ_HEAD_INITIALIZER(queue);
static TAILQ_HEAD(, job) running = TAILQ_HEAD_INITIALIZER(running);
static LIST_HEAD(, job) job_hash[JOB_HASH_SIZE];
/* The job shown in each slot of the shared-memory table, or NULL. */
static struct job **slot_owner;
static struct event_base *job_base;
static const struct config *job_cfg;
static struct jobtab *job_table;
static struct jobtab_info counters;
static bool shutting_down;

static const char *const artifacts[] = {
    "output.mp4",
    "style.json",
    "grade.cube",
    "plan.json",
    "contact.png",
};

static void job_schedule(void);
static void job_run_stage(struct job *j);
static void job_publish(struct job *j);
static void job_release(struct job *j);
static void job_count(const struct job *j);
static void job_count_end(const struct job *j);
static void job_notify(const struct job *j);
static void job_load_style(struct job *j);
static void job_dequeue(struct job *j);
static void job_continue(struct job *j);
static void job_expire_old(void);
static json_t *job_stats_json(const struct job *j);
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
job_init(struct event_base *base, const struct config *cfg, struct jobtab *jt)
{
	job_base = base;
	job_cfg = cfg;
	job_table = jt;
	slot_owner = xcalloc(jobtab_slot_count(jt), sizeof(*slot_owner));
}

static unsigned
job_hash_of(const char *id)
{
	return str_hash(id) % JOB_HASH_SIZE;
}

static void
job_dir(const struct job *j, char *buf, size_t len)
{
	snprintf(buf, len, "%s/jobs/%s", job_cfg->state_dir, j->j_id);
}

static struct job *
job_lookup(const char *job_id)
{
	struct job *j;

	LIST_FOREACH(j, &job_hash[job_hash_of(job_id)], j_hash)
	{
		if (strcmp(j->j_id, job_id) == 0)
			return j;
	}
	return NULL;
}

static bool
job_visible(const struct job *j, const struct caller *who)
{
	return who->admin || j->j_owner == who->uid;
}

struct job *
job_find(const char *job_id, const struct caller *who)
{
	struct job *j = job_lookup(job_id);

	return j != NULL && job_visible(j, who) ? j : NULL;
}

const char *
job_id(const struct job *j)
{
	return j->j_id;
}

const char *
job_webhook_url(const struct job *j)
{
	return j->j_webhook;
}

bool
job_terminal(const struct job *j)
{
	return job_status_terminal(j->j_st.status);
}

unsigned
job_active_count(void)
{
	unsigned n = 0;
	struct job *j;

	TAILQ_FOREACH(j, &jobs, j_all)
	{
		if (!job_terminal(j) || j->j_running)
			n++;
	}
	return n;
}

/* Shared memory */

/*
 * A free slot of the shared-memory table; when the table is full, the
 * oldest finished job gives up its slot (it stays queryable by id).
 */
static int
job_find_slot(struct job *j)
{
	uint32_t nslots = jobtab_slot_count(job_table);
	static uint32_t hint;
	struct job *old;

	for (uint32_t i = 0; i < nslots; i++) {
		uint32_t slot = (hint + i) % nslots;

		if (slot_owner[slot] == NULL) {
			hint = slot + 1;
			slot_owner[slot] = j;
			return (int)slot;
		}
	}
	TAILQ_FOREACH(old, &jobs, j_all)
	{
		if (old->j_slot >= 0 && job_terminal(old) && !old->j_running) {
			int slot = old->j_slot;

			old->j_slot = -1;
			slot_owner[slot] = j;
			return slot;
		}
	}
	return -1;
}

static void
job_publish(struct job *j)
{
	struct jobtab_job row;

	if (j->j_slot < 0)
		return;
	memset(&row, 0, sizeof(row));
	row.in_use = 1;
	row.status = (uint8_t)j->j_st.status;
	row.stage = (uint8_t)j->j_st.stage;
	row.progress = (uint8_t)j->j_st.progress;
	row.error_stage = (uint8_t)j->j_st.error_stage;
	row.template_only = j->j_st.template_only;
	row.worker_pid = j->j_child != NULL   ? child_pid(j->j_child)
			 : j->j_early != NULL ? child_pid(j->j_early)
					      : 0;
	row.created_ms = j->j_st.created_ms;
	row.updated_ms = j->j_st.updated_ms;
	row.started_ms = j->j_st.started_ms;
	row.completed_ms = j->j_st.completed_ms;
	str_copy(row.job_id, j->j_id, sizeof(row.job_id));
	str_copy(row.video_id, j->j_video, sizeof(row.video_id));
	str_copy(row.template_id, j->j_template, sizeof(row.template_id));
	str_copy(row.error, j->j_st.error, sizeof(row.error));
	jobtab_write_job(job_table, (uint32_t)j->j_slot, &row);
}

void
job_publish_counters(void)
{
	jobtab_write_counters(job_table, &counters);
}

void
job_heartbeat(void)
{
	jobtab_heartbeat(job_table, clock_realtime_ms());
	journal_tick();
	job_expire_old();
}

/* Journal records: a job's whole state, replayed as an upsert by id. */

static json_t *
job_config_json(const struct msg_config *cfg)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < cfg->count; i++)
		json_object_set_new(
		    o, cfg->kv[i].key, json_string(cfg->kv[i].value));
	return o;
}

static json_t *
job_record_json(const struct job *j)
{
	const struct jobstate *st = &j->j_st;
	json_t *stats = json_array();

	for (int s = STAGE_FIRST; s <= STAGE_LAST; s++)
		json_array_append_new(
		    stats, json_pack("[f, I]", j->j_stats[s].wall_s,
			       (json_int_t)j->j_stats[s].peak_rss_kb));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:i, s:i, "
			 "s:b, s:I, s:I, s:I, s:I, s:i, s:s, s:s, s:o}",
	    "id", j->j_id, "video", j->j_video, "template", j->j_template,
	    "webhook", j->j_webhook, "config", job_config_json(&j->j_config),
	    "owner", (json_int_t)j->j_owner, "status",
	    job_status_name(st->status), "stage", (int)st->stage, "progress",
	    st->progress, "template_only", st->template_only, "created",
	    (json_int_t)st->created_ms, "updated", (json_int_t)st->updated_ms,
	    "started", (json_int_t)st->started_ms, "completed",
	    (json_int_t)st->completed_ms, "error_stage", (int)st->error_stage,
	    "error_code", st->error_code, "error", st->error, "stats", stats);
}

/* Stable across retries and restarts: a job ends once. */
static void
job_event_id(const struct job *j, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s", j->j_id, job_status_name(j->j_st.status));
}

/* Records the job; a failure leaves the journal behind (journal.c). */
static int
job_record(const struct job *j, bool important)
{
	json_t *rec = job_record_json(j);
	int rc = journal_write(JOURNAL_JOB, rec, important);

	json_decref(rec);
	return rc;
}

int
job_snapshot(struct wal_compaction *c)
{
	struct job *j;
	json_t *rec;
	int rc = 0;

	TAILQ_FOREACH(j, &jobs, j_all)
	{
		rec = job_record_json(j);
		rc = journal_snapshot_add(c, JOURNAL_JOB, rec);
		json_decref(rec);
		if (rc != 0)
			break;
	}
	return rc;
}

static int
job_config_from_json(struct msg_config *cfg, json_t *o)
{
	const char *key;
	json_t *v;

	memset(cfg, 0, sizeof(*cfg));
	json_object_foreach(o, key, v)
	{
		if (cfg->count == MSG_CONFIG_MAX || !json_is_string(v) ||
		    strlen(key) >= MSG_CONFIG_KEY_SIZE ||
		    json_string_length(v) >= MSG_CONFIG_VALUE_SIZE)
			return -1;
		str_copy(cfg->kv[cfg->count].key, key, MSG_CONFIG_KEY_SIZE);
		str_copy(cfg->kv[cfg->count].value, json_string_value(v),
		    MSG_CONFIG_VALUE_SIZE);
		cfg->count++;
	}
	return 0;
}

static void
job_stats_from_json(struct job *j, json_t *stats)
{
	json_t *row;
	size_t i;

	json_array_foreach(stats, i, row)
	{
		if (i >= STAGE_LAST)
			break;
		j->j_stats[STAGE_FIRST + i].wall_s =
		    json_number_value(json_array_get(row, 0));
		j->j_stats[STAGE_FIRST + i].peak_rss_kb =
		    (long)json_integer_value(json_array_get(row, 1));
	}
}

/* Fills j from rec; -1 when the record is not one reeld wrote. */
static int
job_from_record(struct job *j, json_t *rec)
{
	struct jobstate *st = &j->j_st;
	const char *id, *video, *tpl, *hook, *status, *code, *error;
	json_t *cfg, *stats;
	json_int_t owner, created, updated, started, completed;
	int stage, progress, estage, tonly;

	if (json_unpack(rec,
		"{s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:i, s:i, s:b, s:I, "
		"s:I, s:I, s:I, s:i, s:s, s:s, s:o}",
		"id", &id, "video", &video, "template", &tpl, "webhook", &hook,
		"config", &cfg, "owner", &owner, "status", &status, "stage",
		&stage, "progress", &progress, "template_only", &tonly,
		"created", &created, "updated", &updated, "started", &started,
		"completed", &completed, "error_stage", &estage, "error_code",
		&code, "error", &error, "stats", &stats) != 0 ||
	    !reel_id_valid("job_", id) ||
	    job_status_parse(status, &st->status) != 0 ||
	    job_config_from_json(&j->j_config, cfg) != 0)
		return -1;
	str_copy(j->j_id, id, sizeof(j->j_id));
	str_copy(j->j_video, video, sizeof(j->j_video));
	str_copy(j->j_template, tpl, sizeof(j->j_template));
	str_copy(j->j_webhook, hook, sizeof(j->j_webhook));
	j->j_owner = (uid_t)owner;
	st->stage = (enum stage)stage;
	st->progress = progress;
	st->template_only = tonly;
	st->created_ms = created;
	st->updated_ms = updated;
	st->started_ms = started;
	st->completed_ms = completed;
	st->error_stage = (enum stage)estage;
	str_copy(st->error_code, code, sizeof(st->error_code));
	str_copy(st->error, error, sizeof(st->error));
	job_stats_from_json(j, stats);
	return jobstate_valid(st) ? 0 : -1;
}

static struct job *
job_alloc(void)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->j_slot = -1;
	j->j_timeout_ev = evtimer_new(job_base, job_timeout_cb, j);
	if (j->j_timeout_ev == NULL)
		fatalx("%s: evtimer_new", __func__);
	return j;
}

static void
job_insert(struct job *j)
{
	TAILQ_INSERT_TAIL(&jobs, j, j_all);
	LIST_INSERT_HEAD(&job_hash[job_hash_of(j->j_id)], j, j_hash);
}

int
job_replay(unsigned type, json_t *rec)
{
	struct job scratch, *j;

	(void)type;
	memset(&scratch, 0, sizeof(scratch));
	if (job_from_record(&scratch, rec) != 0) {
		log_warnx("journal: a job record is invalid");
		return -1;
	}
	if ((j = job_lookup(scratch.j_id)) == NULL) {
		j = job_alloc();
		str_copy(j->j_id, scratch.j_id, sizeof(j->j_id));
		job_insert(j);
	}
	if (job_terminal(j) && !job_status_terminal(scratch.j_st.status)) {
		log_warnx("journal: %s: a terminal job cannot become %s",
		    j->j_id, job_status_name(scratch.j_st.status));
		return -1;
	}
	job_from_record(j, rec);
	return 0;
}

static void job_free(struct job *j);

int
job_replay_forget(unsigned type, json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	struct job *j = id != NULL ? job_lookup(id) : NULL;

	(void)type;
	if (j != NULL)
		job_free(j);
	return 0;
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
job_new(const struct msg_submit *req, uid_t owner)
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
	j->j_owner = owner;
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
job_submit(const struct msg_submit *req, const struct caller *who,
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
	j = job_new(req, who->uid);
	/* Durable before it is acknowledged or published. */
	if (job_record(j, true) != 0) {
		int err = errno;

		event_free(j->j_timeout_ev);
		free(j);
		return job_refuse_unrecorded(code, detail, err);
	}
	job_insert(j);
	TAILQ_INSERT_TAIL(&queue, j, j_active);
	j->j_queued = true;
	j->j_slot = job_find_slot(j);
	if (j->j_slot < 0)
		log_warnx("job table full: %s is not shown in shared memory",
		    j->j_id);
	counters.submitted++;
	counters.queue_depth++;
	job_publish(j);
	*data = job_json(j, false);
	log_info("%s queued: video %s template %s%s", j->j_id, j->j_video,
	    j->j_template[0] != '\0' ? j->j_template : "(source)",
	    j->j_st.template_only ? " template-only" : "");
	job_schedule();
	job_publish_counters();
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
	counters.queue_depth--;
}

static void
job_schedule(void)
{
	struct job *j;
	struct timeval tv = {0, 0};

	while (!shutting_down && counters.running < job_cfg->slots &&
	       (j = TAILQ_FIRST(&queue)) != NULL) {
		job_dequeue(j);
		if (j->j_resume)
			j->j_resume = false;
		else if (jobstate_start(&j->j_st, clock_realtime_ms()) == 0)
			job_record(j, false);
		else
			fatalx("%s: %s cannot start from %s", __func__, j->j_id,
			    job_status_name(j->j_st.status));
		j->j_running = true;
		TAILQ_INSERT_TAIL(&running, j, j_active);
		counters.running++;
		tv.tv_sec = job_cfg->job_timeout_seconds;
		evtimer_add(j->j_timeout_ev, &tv);
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
	job_publish(j);
}

static void
job_progress_cb(void *arg, unsigned permille)
{
	struct job *j = arg;

	if (jobstate_progress(
		&j->j_st, j->j_st.stage, permille, clock_realtime_ms()) == 0)
		job_publish(j);
}

static void
job_early_progress_cb(void *arg, unsigned permille)
{
	struct job *j = arg;

	if (j->j_st.stage == STAGE_AUDIO_ANALYSIS)
		job_progress_cb(j, permille);
}

static void
job_count(const struct job *j)
{
	switch (j->j_st.status) {
	case JOB_COMPLETED:
		counters.completed++;
		break;
	case JOB_FAILED:
		counters.failed++;
		break;
	case JOB_CANCELLED:
		counters.cancelled++;
		break;
	default:
		fatalx("%s: %s ended as %s", __func__, j->j_id,
		    job_status_name(j->j_st.status));
	}
}

/*
 * Removes the job directory's files whose names start with prefix:
 * temporary files (".name.XXXXXX") of a worker killed mid-write, or the
 * analysis proxies ("proxy-") that no stage needs once the job has ended.
 */
static void
job_clean_files(const struct job *j, const char *prefix, const char *why)
{
	char path[MSG_PATH_SIZE];
	struct dirent *de;
	DIR *d;

	job_dir(j, path, sizeof(path));
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("%s: removed %s %s", j->j_id, de->d_name, why);
	}
	closedir(d);
}

/* The job has just ended: journal it (synced), then tell the world. */
static void
job_count_end(const struct job *j)
{
	job_count(j);
	job_record(j, true);
	job_clean_files(j, "proxy-", "(the job has ended)");
	log_info("%s %s%s%s", j->j_id, job_status_name(j->j_st.status),
	    j->j_st.error[0] != '\0' ? ": " : "", j->j_st.error);
	if (j->j_webhook[0] != '\0')
		job_notify(j);
}

/*
 * The webhook body: the documented envelope with the job's detail as data,
 * plus the flat fields of the webhooks guide, so receivers written against
 * either page of the docs work (docs/jobs.md).
 */
static void
job_notify(const struct job *j)
{
	char event_id[REEL_ID_SIZE + 16], message[64];
	json_t *detail = job_json(j, true), *body;

	job_event_id(j, event_id, sizeof(event_id));
	snprintf(message, sizeof(message), "Job %s",
	    job_status_name(j->j_st.status));
	body = json_pack("{s:b, s:s, s:O, s:s, s:s, s:i, s:O, s:O}", "success",
	    1, "message", message, "data", detail, "job_id", j->j_id, "status",
	    job_status_name(j->j_st.status), "progress_percent",
	    j->j_st.progress, "output_video_url",
	    json_object_get(detail, "output_video_url"),
	    "processing_time_seconds",
	    json_object_get(detail, "processing_time_seconds"));
	json_decref(detail);
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
		job_publish(j);
		return;
	}
	j->j_early_ended = false;
	evtimer_del(j->j_timeout_ev);
	if (j->j_running) {
		j->j_running = false;
		TAILQ_REMOVE(&running, j, j_active);
		counters.running--;
	}
	job_publish(j);
	job_publish_counters();
	job_schedule();
}

static void
job_load_style(struct job *j)
{
	char path[MSG_PATH_SIZE + 16];
	json_error_t err;

	job_dir(j, path, MSG_PATH_SIZE);
	strcat(path, "/style.json");
	json_decref(j->j_style);
	j->j_style = json_load_file(path, 0, &err);
	if (j->j_style == NULL)
		log_warnx("%s: %s: %s", j->j_id, path, err.text);
}

static void
job_stage_ok(struct job *j)
{
	enum stage done = j->j_st.stage;

	if (done == STAGE_STYLE_EXTRACTION)
		job_load_style(j);
	if (jobstate_stage_done(&j->j_st, done, clock_realtime_ms()) != 0)
		fatalx("%s: %s cannot finish %s", __func__, j->j_id,
		    stage_name(done));
	if (job_terminal(j)) {
		job_count_end(j);
		job_release(j);
		return;
	}
	/* The finished stage's artifacts are now a checkpoint. */
	job_record(j, false);
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
		job_publish(j); /* its end is this stage's end */
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
		j->j_stats[j->j_st.stage].peak_rss_kb = out->peak_rss_kb;
		log_info("%s %s: %s in %.2f s, peak RSS %ld MiB", j->j_id,
		    stage_name(j->j_st.stage),
		    out->end == CHILD_OK ? "done" : "ended", out->wall_s,
		    out->peak_rss_kb / 1024);
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
job_cancel(struct job *j, char *code, char *detail)
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
	job_publish(j);
	job_publish_counters();
	return 0;
}

/*
 * Stops every worker. Their jobs stay processing in the journal and run
 * their current stage again when reeld next starts.
 */
void
job_shutdown(void)
{
	shutting_down = true;
	child_stop_all("SHUTDOWN");
}

/* Recovery */

static void
job_recover_one(struct job *j)
{
	char event_id[REEL_ID_SIZE + 16];

	counters.submitted++;
	if (job_terminal(j)) {
		job_count(j);
		if (j->j_st.status == JOB_COMPLETED)
			job_load_style(j);
		job_event_id(j, event_id, sizeof(event_id));
		/* Reeld died between the terminal record and the event's. */
		if (j->j_webhook[0] != '\0' && !webhook_known(event_id))
			job_notify(j);
		return;
	}
	counters.queue_depth++;
	j->j_queued = true;
	if (j->j_st.status == JOB_PROCESSING) {
		j->j_resume = true;
		job_clean_files(j, ".", "left by a killed worker");
		log_info(
		    "%s resumes at %s", j->j_id, stage_name(j->j_st.stage));
	}
	if (j->j_st.stage > STAGE_STYLE_EXTRACTION)
		job_load_style(j);
}

/*
 * Jobs that were processing go first, in their order of starting, then
 * the queued ones in their order of submission: nobody loses their place.
 */
void
job_recover(void)
{
	struct job *j;

	TAILQ_FOREACH(j, &jobs, j_all)
	{
		job_recover_one(j);
		if (j->j_resume)
			TAILQ_INSERT_TAIL(&queue, j, j_active);
	}
	TAILQ_FOREACH(j, &jobs, j_all)
	{
		if (j->j_queued && !j->j_resume)
			TAILQ_INSERT_TAIL(&queue, j, j_active);
		j->j_slot = job_find_slot(j);
		job_publish(j);
	}
	job_publish_counters();
	job_schedule();
}

/* Retention */

static void
job_free(struct job *j)
{
	if (j->j_queued)
		job_dequeue(j);
	if (j->j_slot >= 0) {
		slot_owner[j->j_slot] = NULL;
		jobtab_clear_job(job_table, (uint32_t)j->j_slot);
	}
	TAILQ_REMOVE(&jobs, j, j_all);
	LIST_REMOVE(j, j_hash);
	event_free(j->j_timeout_ev);
	json_decref(j->j_style);
	free(j);
}

/* A terminal job past --retention-seconds: its files, events and record go. */
static void
job_expire(struct job *j)
{
	char path[MSG_PATH_SIZE];
	json_t *rec = json_pack("{s:s}", "id", j->j_id);

	if (journal_write(JOURNAL_FORGET, rec, false) != 0) {
		json_decref(rec);
		return;
	}
	json_decref(rec);
	job_dir(j, path, sizeof(path));
	if (remove_tree(path) != 0 && errno != ENOENT)
		log_warn("%s: remove %s", j->j_id, path);
	log_info("%s expired after the retention of %u s", j->j_id,
	    job_cfg->retention_seconds);
	webhook_forget_job(j->j_id);
	job_free(j);
}

static void
job_expire_old(void)
{
	static int64_t last_scan;
	int64_t now = clock_realtime_ms();
	int64_t limit = now - (int64_t)job_cfg->retention_seconds * 1000;
	struct job *j, *next;

	/* Retention is counted in seconds: one pass a second is enough. */
	if (now - last_scan < 1000)
		return;
	last_scan = now;

	for (j = TAILQ_FIRST(&jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, j_all);
		if (job_terminal(j) && !j->j_running &&
		    j->j_st.completed_ms < limit)
			job_expire(j);
	}
}

/* Views */

static json_t *
job_error_json(const struct job *j)
{
	return json_pack("{s:s, s:s, s:s}", "stage",
	    stage_name(j->j_st.error_stage), "message", j->j_st.error, "code",
	    j->j_st.error_code);
}

static bool
job_has_artifact(const struct job *j, const char *name)
{
	char path[MSG_PATH_SIZE + 32];

	job_dir(j, path, MSG_PATH_SIZE);
	strcat(path, "/");
	strcat(path, name);
	return access(path, R_OK) == 0;
}

/*
 * style_json as sent in one response frame: whole when it fits; without
 * the bulky "analysis" object when that is what makes it too large; else
 * null. style.json itself is always whole, and reelctl fetches it by
 * descriptor.
 */
static json_t *
job_style_view(const struct job *j)
{
	json_t *copy;

	if (j->j_style == NULL)
		return json_null();
	if (json_dumpb(j->j_style, NULL, 0, JSON_COMPACT) < STYLE_VIEW_MAX)
		return json_incref(j->j_style);
	copy = json_copy(j->j_style);
	json_object_del(copy, "analysis");
	if (json_dumpb(copy, NULL, 0, JSON_COMPACT) < STYLE_VIEW_MAX)
		return copy;
	json_decref(copy);
	return json_null();
}

static void
job_detail_json(const struct job *j, json_t *o)
{
	char url[MSG_PATH_SIZE + 32];
	json_t *list = json_array();

	if (j->j_st.status == JOB_COMPLETED &&
	    job_has_artifact(j, "output.mp4")) {
		snprintf(url, sizeof(url), "file://%s/jobs/%s/output.mp4",
		    job_cfg->state_dir, j->j_id);
		json_object_set_new(o, "output_video_url", json_string(url));
	} else {
		json_object_set_new(o, "output_video_url", json_null());
	}
	json_object_set_new(o, "style_json", job_style_view(j));
	if (j->j_st.completed_ms != 0 && j->j_st.started_ms != 0)
		json_object_set_new(o, "processing_time_seconds",
		    json_real(
			(j->j_st.completed_ms - j->j_st.started_ms) / 1000.0));
	else
		json_object_set_new(o, "processing_time_seconds", json_null());
	for (size_t i = 0; i < sizeof(artifacts) / sizeof(artifacts[0]); i++) {
		if (job_has_artifact(j, artifacts[i]))
			json_array_append_new(list, json_string(artifacts[i]));
	}
	json_object_set_new(o, "artifacts", list);
	json_object_set_new(o, "stages", job_stats_json(j));
}

/* The stages that ran, with their worker's wall time and peak RSS. */
static json_t *
job_stats_json(const struct job *j)
{
	json_t *list = json_array();

	for (int s = STAGE_FIRST; s <= STAGE_LAST; s++) {
		if (j->j_stats[s].wall_s <= 0)
			continue;
		json_array_append_new(
		    list, json_pack("{s:s, s:f, s:I}", "stage", stage_name(s),
			      "seconds", j->j_stats[s].wall_s, "peak_rss_kb",
			      (json_int_t)j->j_stats[s].peak_rss_kb));
	}
	return list;
}

json_t *
job_json(const struct job *j, bool detail)
{
	json_t *o, *cfg = json_object();

	for (unsigned i = 0; i < j->j_config.count; i++)
		json_object_set_new(cfg, j->j_config.kv[i].key,
		    json_string(j->j_config.kv[i].value));
	o = json_pack("{s:s, s:s, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o, "
		      "s:b, s:o, s:o}",
	    "job_id", j->j_id, "video_id", j->j_video, "template_video_id",
	    jsonfmt_id(j->j_template), "status",
	    job_status_name(j->j_st.status), "progress_percent",
	    j->j_st.progress, "current_stage",
	    j->j_st.status == JOB_PROCESSING
		? json_string(stage_name(j->j_st.stage))
		: json_null(),
	    "created_at", jsonfmt_time(j->j_st.created_ms), "updated_at",
	    jsonfmt_time(j->j_st.updated_ms), "started_at",
	    jsonfmt_time(j->j_st.started_ms), "completed_at",
	    jsonfmt_time(j->j_st.completed_ms), "template_only",
	    j->j_st.template_only, "webhook_url", jsonfmt_id(j->j_webhook),
	    "config", cfg);
	if (o == NULL)
		fatalx("%s: json_pack", __func__);
	/* The contract: error is present only on failed jobs. */
	if (j->j_st.status == JOB_FAILED)
		json_object_set_new(o, "error", job_error_json(j));
	if (detail)
		job_detail_json(j, o);
	return o;
}

json_t *
job_list_json(const char *status, unsigned page, unsigned page_size,
    const struct caller *who)
{
	json_t *list = json_array();
	unsigned total = 0, first = (page - 1) * page_size;
	enum job_status want = JOB_QUEUED;
	bool filter = status[0] != '\0' && job_status_parse(status, &want) == 0;
	struct job *j;

	/* Newest first, as the engine we replace lists them. */
	TAILQ_FOREACH_REVERSE(j, &jobs, jobhead, j_all)
	{
		if ((filter && j->j_st.status != want) || !job_visible(j, who))
			continue;
		if (total >= first && total < first + page_size)
			json_array_append_new(list, job_json(j, false));
		total++;
	}
	return json_pack("{s:o, s:i, s:i, s:i}", "jobs", list, "total",
	    (int)total, "page", (int)page, "page_size", (int)page_size);
}

int
job_artifact_open(const struct job *j, const char *artifact, int *fd,
    char *code, char *detail)
{
	char path[MSG_PATH_SIZE + 32];
	bool known = false;

	for (size_t i = 0; i < sizeof(artifacts) / sizeof(artifacts[0]); i++)
		known = known || strcmp(artifact, artifacts[i]) == 0;
	if (!known) {
		str_copy(code, ERR_INVALID_REQUEST, MSG_WORD_SIZE);
		snprintf(detail, MSG_TEXT_SIZE,
		    "unknown artifact '%.32s'; known: output.mp4, style.json, "
		    "grade.cube, plan.json, contact.png",
		    artifact);
		return -1;
	}
	job_dir(j, path, MSG_PATH_SIZE);
	strcat(path, "/");
	strcat(path, artifact);
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0) {
		str_copy(code, "ARTIFACT_NOT_FOUND", MSG_WORD_SIZE);
		snprintf(detail, MSG_TEXT_SIZE, "Job %s has no %s.", j->j_id,
		    artifact);
		return -1;
	}
	return 0;
}
