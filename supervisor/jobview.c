/*
 * The views of a job in the documented envelope's data: the job object,
 * its detail (result) form, the paged list, artifacts by descriptor, and
 * the body of its webhook event.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "jobview.h"
#include "jsonfmt.h"
#include "log.h"
#include "util.h"

/* Room for style_json in a response frame, leaving space for the rest. */
#define STYLE_VIEW_MAX (FRAME_MAX / 2)

static const char *const artifacts[] = {
    "output.mp4",
    "style.json",
    "grade.cube",
    "plan.json",
    "contact.png",
    "report.json",
};

static json_t *job_stats_json(const struct job *j);

/* Stable across retries and restarts: a job ends once. */
void
jobview_event_id(const struct job *j, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s", j->j_id, job_status_name(j->j_st.status));
}

void
jobview_load_style(struct job *j)
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

/*
 * The style-match report, read when asked for: it is small, and keeping
 * it out of memory keeps a retained job's footprint what it was.
 */
static json_t *
job_report_view(const struct job *j)
{
	char path[MSG_PATH_SIZE + 16];
	json_t *report;

	if (j->j_st.status != JOB_COMPLETED)
		return json_null();
	job_dir(j, path, MSG_PATH_SIZE);
	strcat(path, "/report.json");
	report = json_load_file(path, 0, NULL);
	return report != NULL ? report : json_null();
}

static void
job_detail_json(const struct job *j, json_t *o)
{
	char dir[MSG_PATH_SIZE], url[MSG_PATH_SIZE + 32];
	json_t *list = json_array();

	if (j->j_st.status == JOB_COMPLETED &&
	    job_has_artifact(j, "output.mp4")) {
		job_dir(j, dir, sizeof(dir));
		snprintf(url, sizeof(url), "file://%s/output.mp4", dir);
		json_object_set_new(o, "output_video_url", json_string(url));
	} else {
		json_object_set_new(o, "output_video_url", json_null());
	}
	json_object_set_new(o, "style_json", job_style_view(j));
	json_object_set_new(o, "report", job_report_view(j));
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

/* The stages that ran, with their worker's wall and CPU time and peak RSS. */
static json_t *
job_stats_json(const struct job *j)
{
	json_t *list = json_array();

	for (int s = STAGE_FIRST; s <= STAGE_LAST; s++) {
		if (j->j_stats[s].wall_s <= 0)
			continue;
		json_array_append_new(
		    list, json_pack("{s:s, s:f, s:f, s:I}", "stage",
			      stage_name(s), "seconds", j->j_stats[s].wall_s,
			      "cpu_seconds", j->j_stats[s].cpu_s, "peak_rss_kb",
			      (json_int_t)j->j_stats[s].peak_rss_kb));
	}
	return list;
}

json_t *
jobview_json(const struct job *j, bool detail)
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
jobview_list(const char *status, unsigned page, unsigned page_size,
    const struct caller *who)
{
	json_t *list = json_array();
	unsigned total = 0, first = (page - 1) * page_size;
	enum job_status want = JOB_QUEUED;
	bool filter = status[0] != '\0' && job_status_parse(status, &want) == 0;
	struct job *j;

	/* Newest first, as the engine we replace lists them. */
	for (j = job_last(); j != NULL; j = job_prev(j)) {
		if ((filter && j->j_st.status != want) || !job_visible(j, who))
			continue;
		if (total >= first && total < first + page_size)
			json_array_append_new(list, jobview_json(j, false));
		total++;
	}
	return json_pack("{s:o, s:i, s:i, s:i}", "jobs", list, "total",
	    (int)total, "page", (int)page, "page_size", (int)page_size);
}

int
jobview_artifact_open(const struct job *j, const char *artifact, int *fd,
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
		    "grade.cube, plan.json, contact.png, report.json",
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

/*
 * The webhook body: the documented envelope with the job's detail as data,
 * plus the flat fields of the webhooks guide, so receivers written against
 * either page of the docs work (docs/jobs.md).
 */
json_t *
jobview_webhook_body(const struct job *j)
{
	char message[64];
	json_t *detail = jobview_json(j, true), *body;

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
	return body;
}
