/*
 * Journal records of jobs: a job's whole state, replayed as an upsert by
 * id, so a snapshot is one record per job.
 */
#include <string.h>

#include "job.h"
#include "jobrecord.h"
#include "jobstate.h"
#include "journal.h"
#include "log.h"
#include "util.h"

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
		    stats, json_pack("[f, I, f]", j->j_stats[s].wall_s,
			       (json_int_t)j->j_stats[s].peak_rss_kb,
			       j->j_stats[s].cpu_s));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:s, s:i, s:i, "
			 "s:b, s:I, s:I, s:I, s:I, s:i, s:s, s:s, s:o}",
	    "id", j->j_id, "video", j->j_video, "template", j->j_template,
	    "webhook", j->j_webhook, "config", job_config_json(&j->j_config),
	    "owner", (json_int_t)j->j_owner, "owner_name", j->j_owner_name,
	    "status", job_status_name(st->status), "stage", (int)st->stage,
	    "progress", st->progress, "template_only", st->template_only,
	    "created", (json_int_t)st->created_ms, "updated",
	    (json_int_t)st->updated_ms, "started", (json_int_t)st->started_ms,
	    "completed", (json_int_t)st->completed_ms, "error_stage",
	    (int)st->error_stage, "error_code", st->error_code, "error",
	    st->error, "stats", stats);
}

int
jobrecord_write(const struct job *j, bool important)
{
	json_t *rec = job_record_json(j);
	int rc = journal_write(JOURNAL_JOB, rec, important);

	json_decref(rec);
	return rc;
}

int
jobrecord_snapshot(struct wal_compaction *c)
{
	struct job *j;
	json_t *rec;
	int rc = 0;

	for (j = job_first(); j != NULL; j = job_next(j)) {
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
		/* Absent from records of reelds before it was kept: 0. */
		j->j_stats[STAGE_FIRST + i].cpu_s =
		    json_number_value(json_array_get(row, 2));
	}
}

/* Fills j from rec; -1 when the record is not one reeld wrote. */
static int
job_from_record(struct job *j, json_t *rec)
{
	struct jobstate *st = &j->j_st;
	const char *id, *video, *tpl, *hook, *status, *code, *error;
	const char *owner_name = "";
	json_t *cfg, *stats;
	json_int_t owner, created, updated, started, completed;
	int stage, progress, estage, tonly;

	if (json_unpack(rec,
		"{s:s, s:s, s:s, s:s, s:o, s:I, s?s, s:s, s:i, s:i, s:b, s:I, "
		"s:I, s:I, s:I, s:i, s:s, s:s, s:o}",
		"id", &id, "video", &video, "template", &tpl, "webhook", &hook,
		"config", &cfg, "owner", &owner, "owner_name", &owner_name,
		"status", &status, "stage", &stage, "progress", &progress,
		"template_only", &tonly, "created", &created, "updated",
		&updated, "started", &started, "completed", &completed,
		"error_stage", &estage, "error_code", &code, "error", &error,
		"stats", &stats) != 0 ||
	    !reel_id_valid("job_", id) ||
	    (owner_name[0] != '\0' && !reel_user_valid(owner_name)) ||
	    job_status_parse(status, &st->status) != 0 ||
	    job_config_from_json(&j->j_config, cfg) != 0)
		return -1;
	str_copy(j->j_id, id, sizeof(j->j_id));
	str_copy(j->j_video, video, sizeof(j->j_video));
	str_copy(j->j_template, tpl, sizeof(j->j_template));
	str_copy(j->j_webhook, hook, sizeof(j->j_webhook));
	j->j_owner = (uid_t)owner;
	str_copy(j->j_owner_name, owner_name, sizeof(j->j_owner_name));
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

int
jobrecord_replay(unsigned type, json_t *rec)
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
