/*
 * Client request validation: one check per field, each answering
 * INVALID_REQUEST with the field and its bounds, so a client learns what
 * to fix from one answer. Nothing here touches reeld's state: whether a
 * video or job exists is for reeld to say.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "request.h"
#include "util.h"

#define KEY_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_.-"

/*
 * A malformed id names nothing: it gets the contract's not-found code
 * (what the engine we replace answers), with the format in the detail.
 */
static int
check_id(const char *field, const char *prefix, const char *id, char *code,
    char *detail)
{
	if (reel_id_valid(prefix, id))
		return 0;
	str_copy(code,
	    strcmp(prefix, "job_") == 0 ? ERR_JOB_NOT_FOUND
					: ERR_VIDEO_NOT_FOUND,
	    MSG_WORD_SIZE);
	snprintf(detail, MSG_TEXT_SIZE,
	    "%s '%.32s' is not %s and 12 lowercase hex digits", field, id,
	    prefix);
	return -1;
}

static int
check_url(const char *url, char *detail)
{
	const char *host;

	if (url[0] == '\0')
		return 0;
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		snprintf(detail, MSG_TEXT_SIZE,
		    "webhook_url must start with http:// or https://");
		return -1;
	}
	if (strcspn(host, "/?#:") == 0) {
		snprintf(detail, MSG_TEXT_SIZE, "webhook_url has no host");
		return -1;
	}
	for (const char *p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(detail, MSG_TEXT_SIZE,
			    "webhook_url contains a space or control "
			    "character");
			return -1;
		}
	}
	return 0;
}

/* An owner's name: what a token file may give (docs/httpd.md). */
static int
check_user(const char *user, char *detail)
{
	if (reel_user_valid(user))
		return 0;
	snprintf(detail, MSG_TEXT_SIZE,
	    "user '%.32s' is not 1 to %d of a-z A-Z 0-9 . _ @ -", user,
	    REEL_USER_LEN);
	return -1;
}

static bool
value_in(const char *v, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++) {
		if (strcmp(v, *allowed) == 0)
			return true;
	}
	return false;
}

static bool
value_unit_interval(const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	return errno == 0 && end != v && *end == '\0' && d >= 0.0 && d <= 1.0;
}

/* source, template or seconds within the bounds style_application takes. */
static bool
value_duration(const char *v)
{
	char *end;
	double d;

	if (strcmp(v, "source") == 0 || strcmp(v, "template") == 0)
		return true;
	errno = 0;
	d = strtod(v, &end);
	return errno == 0 && end != v && *end == '\0' && d >= 1.0 &&
	       d <= 3600.0;
}

/* The keys the stages read (docs/jobs.md), and what each accepts. */
static int
check_config_pair(const char *k, const char *v, char *detail)
{
	static const char *const quality[] = {"low", "medium", "high", NULL};
	static const char *const conform[] = {
	    "auto", "crop", "fill", "pad", "none", NULL};
	static const char *const soundtrack[] = {"source", "template", NULL};

	if (k[0] == '\0' || strspn(k, KEY_CHARS) != strlen(k)) {
		snprintf(detail, MSG_TEXT_SIZE,
		    "config key '%.32s' must be [a-z0-9_.-]+", k);
		return -1;
	}
	if (strcmp(k, "quality") == 0 && !value_in(v, quality))
		snprintf(detail, MSG_TEXT_SIZE,
		    "config quality must be low, medium or high");
	else if (strcmp(k, "conform") == 0 && !value_in(v, conform))
		snprintf(detail, MSG_TEXT_SIZE,
		    "config conform must be auto, crop, fill, pad or none");
	else if (strcmp(k, "grade_strength") == 0 && !value_unit_interval(v))
		snprintf(detail, MSG_TEXT_SIZE,
		    "config grade_strength must be a number from 0 to 1");
	else if (strcmp(k, "soundtrack") == 0 && !value_in(v, soundtrack))
		snprintf(detail, MSG_TEXT_SIZE,
		    "config soundtrack must be source or template");
	else if (strcmp(k, "duration") == 0 && !value_duration(v))
		snprintf(detail, MSG_TEXT_SIZE,
		    "config duration must be source, template or a number of "
		    "seconds from 1 to 3600");
	else if (strcmp(k, "quality") != 0 && strcmp(k, "conform") != 0 &&
		 strcmp(k, "grade_strength") != 0 &&
		 strcmp(k, "duration") != 0 && strcmp(k, "soundtrack") != 0 &&
		 strncmp(k, REQUEST_CONFIG_EXT_PREFIX,
		     strlen(REQUEST_CONFIG_EXT_PREFIX)) != 0)
		snprintf(detail, MSG_TEXT_SIZE,
		    "unknown config key '%.32s': known are quality, conform, "
		    "grade_strength, duration, soundtrack and x-* (passed "
		    "through)",
		    k);
	else
		return 0;
	return -1;
}

static int
check_submit(const struct msg_submit *s, char *code, char *detail)
{
	if (check_id("video_id", "vid_", s->video_id, code, detail) != 0 ||
	    (s->template_id[0] != '\0' &&
		check_id("template_id", "vid_", s->template_id, code, detail) !=
		    0))
		return -1;
	if (check_url(s->webhook_url, detail) != 0)
		return -1;
	for (unsigned i = 0; i < s->config.count; i++) {
		if (check_config_pair(s->config.kv[i].key,
			s->config.kv[i].value, detail) != 0)
			return -1;
	}
	return 0;
}

static int
check_list(const struct msg_list *l, char *detail)
{
	enum job_status unused;

	if (l->page > REQUEST_PAGE_MAX ||
	    l->page_size > REQUEST_PAGE_SIZE_MAX) {
		snprintf(detail, MSG_TEXT_SIZE,
		    "page must be 1..%d and page_size 1..%d", REQUEST_PAGE_MAX,
		    REQUEST_PAGE_SIZE_MAX);
		return -1;
	}
	if (l->status[0] != '\0' && job_status_parse(l->status, &unused) != 0) {
		snprintf(detail, MSG_TEXT_SIZE,
		    "status must be queued, processing, completed, failed or "
		    "cancelled");
		return -1;
	}
	return 0;
}

static int
check_upload(const struct msg_upload *u, char *detail)
{
	if (u->filename[0] == '\0' || strcmp(u->filename, ".") == 0 ||
	    strcmp(u->filename, "..") == 0) {
		snprintf(detail, MSG_TEXT_SIZE, "filename must name a file");
		return -1;
	}
	return 0;
}

int
request_check(
    const struct msg *m, char code[MSG_WORD_SIZE], char detail[MSG_TEXT_SIZE])
{
	int rc = 0;

	detail[0] = '\0';
	str_copy(code, ERR_INVALID_REQUEST, MSG_WORD_SIZE);
	switch (m->type) {
	case MSG_UPLOAD:
		rc = check_upload(&m->u.upload, detail);
		break;
	case MSG_SUBMIT:
		rc = check_submit(&m->u.submit, code, detail);
		break;
	case MSG_LIST:
		rc = check_list(&m->u.list, detail);
		break;
	case MSG_STATUS:
	case MSG_CANCEL:
	case MSG_WEBHOOKS:
	case MSG_REDELIVER:
		rc = check_id(
		    "job_id", "job_", m->u.job_ref.job_id, code, detail);
		break;
	case MSG_RESULT:
		rc = check_id(
		    "job_id", "job_", m->u.result.job_id, code, detail);
		break;
	case MSG_IDENTIFY:
		rc = check_user(m->u.identify.user, detail);
		break;
	default:
		break;
	}
	return rc;
}
