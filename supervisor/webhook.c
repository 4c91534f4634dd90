/*
 * The webhook outbox: POSTs a job's terminal event to its webhook_url with
 * libcurl's multi interface, driven by reeld's libevent loop (curl tells us
 * which sockets to watch and when to wake it; nothing here blocks).
 *
 * Guarantees: an event is journaled before its first attempt, and every
 * attempt's outcome after it, so a restart resumes what was pending (at
 * least once). Attempts go on until one answers 2xx, with exponential
 * backoff and full jitter, for at most --webhook-max-age from the first
 * attempt; every attempt of one event carries the same webhook-id, across
 * restarts and redeliveries, and with --webhook-secret-file a Standard
 * Webhooks signature. Finished events stay, with their last attempts, until
 * their job expires. At most WEBHOOK_MAX_IN_FLIGHT attempts run at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "config.h"
#include "contract.h"
#include "journal.h"
#include "jsonfmt.h"
#include "log.h"
#include "msg.h"
#include "util.h"
#include "webhook.h"

#define WEBHOOK_MAX_IN_FLIGHT 32
#define WEBHOOK_CONNECT_TIMEOUT_MS 5000L
#define WEBHOOK_RETRY_BASE_MS 1000
#define WEBHOOK_RETRY_CAP_MS (5 * 60 * 1000)
#define WEBHOOK_GRACE_MS 5000
#define WEBHOOK_USER_AGENT "reel/1"
#define WEBHOOK_HISTORY 8
#define WEBHOOK_KEY_MAX 128
#define WEBHOOK_SECRET_PREFIX "whsec_"
/* Replay looks an event up per attempt record: keep that O(1). */
#define WEBHOOK_HASH_SIZE 4096

enum delivery_state {
	DELIVERY_READY,	    /* in the ready queue, waiting for a free slot */
	DELIVERY_IN_FLIGHT, /* an attempt is running in the multi handle */
	DELIVERY_WAITING,   /* waiting for its retry timer */
	DELIVERY_DELIVERED, /* a 2xx answer arrived */
	DELIVERY_EXPIRED,   /* given up after --webhook-max-age */
};

static const char *const state_names[] = {
    [DELIVERY_READY] = "pending",
    [DELIVERY_IN_FLIGHT] = "pending",
    [DELIVERY_WAITING] = "pending",
    [DELIVERY_DELIVERED] = "delivered",
    [DELIVERY_EXPIRED] = "expired",
};

/* The outcome of one attempt, kept for `reelctl status --webhooks`. */
struct attempt {
	int64_t at_ms;
	long status; /* HTTP status, 0 when there was no answer */
	char error[128];
};

/* One event to deliver, across all its attempts. */
struct delivery {
	TAILQ_ENTRY(delivery) d_all;   /* every event, oldest first */
	LIST_ENTRY(delivery) d_hash;   /* by event id */
	TAILQ_ENTRY(delivery) d_ready; /* DELIVERY_READY only */
	enum delivery_state d_state;
	char d_job_id[REEL_ID_SIZE];
	char *d_event_id;
	char *d_url;
	char *d_body;
	size_t d_body_len;
	unsigned d_attempts;
	int64_t d_created_ms;
	int64_t d_first_ms; /* wall clock of the first attempt, 0 before */
	long d_last_status; /* HTTP status of the last reply, 0 if none */
	char d_last_error[CURL_ERROR_SIZE];
	struct attempt d_history[WEBHOOK_HISTORY]; /* a ring, by d_attempts */
	CURL *d_easy;				   /* the running attempt */
	struct curl_slist *d_headers;
	struct event *d_retry_ev;
};

/* A socket curl asked us to watch. */
struct wsock {
	LIST_ENTRY(wsock) s_entry;
	struct event *s_ev;
};

static TAILQ_HEAD(, delivery) all = TAILQ_HEAD_INITIALIZER(all);
static TAILQ_HEAD(, delivery) ready = TAILQ_HEAD_INITIALIZER(ready);
static LIST_HEAD(, delivery) by_event[WEBHOOK_HASH_SIZE];
static LIST_HEAD(, wsock) wsocks = LIST_HEAD_INITIALIZER(wsocks);
static unsigned npending;
static unsigned in_flight;
static struct event_base *wh_base;
static CURLM *multi;
static struct event *timer_ev;
static bool closing;
static int64_t retry_base_ms = WEBHOOK_RETRY_BASE_MS;
static int64_t max_age_ms;
static long attempt_timeout_ms;
static const char *ca_file;
static unsigned char signing_key[WEBHOOK_KEY_MAX];
static int signing_key_len; /* 0: no signature */

static void webhook_pump(void);
static void webhook_check_done(void);
static void delivery_free(struct delivery *d);
static bool delivery_pending(const struct delivery *d);

/*
 * A test knob: integration tests cannot wait for second-long backoffs, so
 * the base can be shortened from the environment.
 */
static int64_t
webhook_knob(const char *name, int64_t def, int64_t max)
{
	const char *s = getenv(name);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max) {
		log_warnx(
		    "%s=%s ignored: must be 1..%lld", name, s, (long long)max);
		return def;
	}
	log_info("webhooks: %s=%lld", name, v);
	return v;
}

/* Socket and timer plumbing between curl and libevent. */

static void
webhook_sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int action = 0, running;

	(void)arg;
	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, action, &running);
	webhook_check_done();
}

static void
wsock_free(struct wsock *ws)
{
	LIST_REMOVE(ws, s_entry);
	event_free(ws->s_ev);
	free(ws);
}

static int
webhook_sock_cb(
    CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct wsock *ws = socketp;
	short flags = EV_PERSIST;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ws != NULL)
			wsock_free(ws);
		return 0;
	}
	if (what & CURL_POLL_IN)
		flags |= EV_READ;
	if (what & CURL_POLL_OUT)
		flags |= EV_WRITE;
	if (ws == NULL) {
		ws = xcalloc(1, sizeof(*ws));
		LIST_INSERT_HEAD(&wsocks, ws, s_entry);
		curl_multi_assign(multi, s, ws);
	} else {
		event_free(ws->s_ev);
	}
	ws->s_ev = event_new(wh_base, s, flags, webhook_sock_event_cb, NULL);
	if (ws->s_ev == NULL || event_add(ws->s_ev, NULL) != 0)
		fatalx("%s: cannot watch socket %d", __func__, (int)s);
	return 0;
}

static void
webhook_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	int running;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	webhook_check_done();
}

/* curl must not be re-entered from here: the loop calls it back. */
static int
webhook_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	(void)m;
	(void)userp;
	if (timeout_ms < 0)
		evtimer_del(timer_ev);
	else
		evtimer_add(timer_ev, &tv);
	return 0;
}

/*
 * The Standard Webhooks secret: "whsec_" and the base64 of the key, alone
 * in a file that only reeld's user should read.
 */
static void
webhook_load_secret(const char *path)
{
	char text[2 * WEBHOOK_KEY_MAX], *b64;
	unsigned char key[WEBHOOK_KEY_MAX + 2];
	size_t len;
	FILE *f;
	int n;

	if ((f = fopen(path, "re")) == NULL)
		fatal("--webhook-secret-file %s", path);
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	text[strcspn(text, "\r\n")] = '\0';
	b64 = text + strlen(WEBHOOK_SECRET_PREFIX);
	len = strlen(b64);
	if (strncmp(text, WEBHOOK_SECRET_PREFIX, 6) != 0 || len == 0 ||
	    len % 4 != 0 || len / 4 * 3 > sizeof(key) ||
	    (n = EVP_DecodeBlock(key, (unsigned char *)b64, (int)len)) < 0)
		fatalx("--webhook-secret-file %s: want one line whsec_<base64 "
		       "key>",
		    path);
	/* EVP_DecodeBlock counts the padding's zero bytes. */
	n -= (b64[len - 1] == '=') + (b64[len - 2] == '=');
	if (n < 16 || n > WEBHOOK_KEY_MAX)
		fatalx("--webhook-secret-file %s: the key must be 16..%d bytes",
		    path, WEBHOOK_KEY_MAX);
	memcpy(signing_key, key, (size_t)n);
	signing_key_len = n;
	log_info("webhooks: signing with the key in %s", path);
}

void
webhook_init(struct event_base *base, const struct config *cfg)
{
	wh_base = base;
	retry_base_ms = webhook_knob("REEL_WEBHOOK_RETRY_BASE_MS",
	    WEBHOOK_RETRY_BASE_MS, WEBHOOK_RETRY_CAP_MS);
	max_age_ms = 1000LL * cfg->webhook_max_age_seconds;
	attempt_timeout_ms = 1000L * (long)cfg->webhook_timeout_seconds;
	ca_file = cfg->webhook_ca_file;
	if (ca_file != NULL && access(ca_file, R_OK) != 0)
		fatal("--webhook-ca-file %s", ca_file);
	if (cfg->webhook_secret_file != NULL)
		webhook_load_secret(cfg->webhook_secret_file);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init");
	if ((multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	if ((timer_ev = evtimer_new(base, webhook_timeout_cb, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, webhook_sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, webhook_timer_cb);
}

/* One attempt */

static size_t
webhook_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/*
 * Standard Webhooks: base64 of HMAC-SHA256 over "id.timestamp.body", in
 * the header as "v1,<signature>". Empty when no secret is configured.
 */
static void
delivery_sign(const struct delivery *d, long long ts, char *out, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0, n;
	char *signed_text;

	out[0] = '\0';
	if (signing_key_len == 0)
		return;
	n = strlen(d->d_event_id) + 24 + d->d_body_len;
	signed_text = xcalloc(1, n + 1);
	n = (size_t)snprintf(
	    signed_text, n + 1, "%s.%lld.%s", d->d_event_id, ts, d->d_body);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, signing_key,
		(size_t)signing_key_len, (unsigned char *)signed_text, n, mac,
		sizeof(mac), &maclen) != NULL &&
	    len > 24 + 4 * (maclen + 2) / 3) {
		memcpy(out, "webhook-signature: v1,", 22);
		EVP_EncodeBlock((unsigned char *)out + 22, mac, (int)maclen);
	} else {
		log_warnx("webhook %s: cannot sign", d->d_event_id);
	}
	free(signed_text);
}

/* Built per attempt: webhook-timestamp is the time of this attempt. */
static struct curl_slist *
delivery_headers(const struct delivery *d)
{
	char id[512], ts[64], sig[128];
	const char *lines[] = {
	    "Content-Type: application/json", id, ts, "Expect:", sig};
	long long now = (long long)time(NULL);
	struct curl_slist *list = NULL, *next;
	size_t i, n = sizeof(lines) / sizeof(lines[0]);

	snprintf(id, sizeof(id), "webhook-id: %s", d->d_event_id);
	snprintf(ts, sizeof(ts), "webhook-timestamp: %lld", now);
	delivery_sign(d, now, sig, sizeof(sig));
	if (sig[0] == '\0')
		n--;
	for (i = 0; i < n; i++) {
		if ((next = curl_slist_append(list, lines[i])) == NULL) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

static CURL *
delivery_easy(struct delivery *d)
{
	CURL *e;
	CURLcode rc = CURLE_OK;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	rc |= curl_easy_setopt(e, CURLOPT_URL, d->d_url);
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->d_body);
	rc |= curl_easy_setopt(
	    e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->d_body_len);
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->d_headers);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, WEBHOOK_USER_AGENT);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, attempt_timeout_ms);
	rc |= curl_easy_setopt(
	    e, CURLOPT_CONNECTTIMEOUT_MS, WEBHOOK_CONNECT_TIMEOUT_MS);
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (ca_file != NULL)
		rc |= curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, webhook_discard);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->d_last_error);
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, d);
	if (rc != CURLE_OK) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

static void
delivery_end_attempt(struct delivery *d)
{
	curl_multi_remove_handle(multi, d->d_easy);
	curl_easy_cleanup(d->d_easy);
	curl_slist_free_all(d->d_headers);
	d->d_easy = NULL;
	d->d_headers = NULL;
	in_flight--;
}

static void delivery_failed(struct delivery *d);

static void
delivery_attempt(struct delivery *d)
{
	if (d->d_attempts++ == 0)
		d->d_first_ms = clock_realtime_ms();
	d->d_last_status = 0;
	d->d_last_error[0] = '\0';
	d->d_state = DELIVERY_IN_FLIGHT;
	in_flight++;
	if ((d->d_headers = delivery_headers(d)) == NULL ||
	    (d->d_easy = delivery_easy(d)) == NULL ||
	    curl_multi_add_handle(multi, d->d_easy) != CURLM_OK) {
		curl_slist_free_all(d->d_headers);
		curl_easy_cleanup(d->d_easy);
		d->d_headers = NULL;
		d->d_easy = NULL;
		in_flight--;
		snprintf(d->d_last_error, sizeof(d->d_last_error),
		    "cannot set up the request");
		delivery_failed(d);
	}
}

static void
webhook_pump(void)
{
	struct delivery *d;

	while (!closing && in_flight < WEBHOOK_MAX_IN_FLIGHT &&
	       (d = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, d, d_ready);
		delivery_attempt(d);
	}
}

static void
delivery_make_ready(struct delivery *d)
{
	d->d_state = DELIVERY_READY;
	TAILQ_INSERT_TAIL(&ready, d, d_ready);
}

/* The journal */

static json_t *
delivery_history_json(const struct delivery *d)
{
	json_t *list = json_array();
	unsigned first = d->d_attempts > WEBHOOK_HISTORY
			     ? d->d_attempts - WEBHOOK_HISTORY
			     : 0;

	for (unsigned i = first; i < d->d_attempts; i++) {
		const struct attempt *a = &d->d_history[i % WEBHOOK_HISTORY];

		json_array_append_new(list,
		    json_pack("{s:i, s:I, s:i, s:s}", "attempt", (int)i + 1,
			"at_ms", (json_int_t)a->at_ms, "http_status",
			(int)a->status, "error", a->error));
	}
	return list;
}

/* The event's delivery state: everything but its body. */
static json_t *
delivery_state_json(const struct delivery *d)
{
	return json_pack("{s:s, s:s, s:i, s:I, s:o}", "event", d->d_event_id,
	    "state", state_names[d->d_state], "attempts", (int)d->d_attempts,
	    "first_ms", (json_int_t)d->d_first_ms, "history",
	    delivery_history_json(d));
}

static json_t *
delivery_record_json(const struct delivery *d)
{
	json_t *rec = delivery_state_json(d);

	json_object_set_new(rec, "job", json_string(d->d_job_id));
	json_object_set_new(rec, "url", json_string(d->d_url));
	json_object_set_new(rec, "body", json_string(d->d_body));
	json_object_set_new(
	    rec, "created_ms", json_integer((json_int_t)d->d_created_ms));
	return rec;
}

/* Not synced: losing one makes a restart send the event again. */
static void
delivery_journal(const struct delivery *d)
{
	json_t *rec = delivery_state_json(d);

	journal_write(JOURNAL_WEBHOOK_ATTEMPT, rec, false);
	json_decref(rec);
}

int
webhook_snapshot(struct wal_compaction *c)
{
	struct delivery *d;
	json_t *rec;
	int rc = 0;

	TAILQ_FOREACH(d, &all, d_all)
	{
		rec = delivery_record_json(d);
		rc = journal_snapshot_add(c, JOURNAL_WEBHOOK, rec);
		json_decref(rec);
		if (rc != 0)
			break;
	}
	return rc;
}

/* Outcomes */

static void
delivery_note(struct delivery *d)
{
	struct attempt *a =
	    &d->d_history[(d->d_attempts - 1) % WEBHOOK_HISTORY];

	a->at_ms = clock_realtime_ms();
	a->status = d->d_last_status;
	str_copy(a->error, d->d_last_error, sizeof(a->error));
}

static void
delivery_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct delivery *d = arg;

	(void)fd;
	(void)what;
	delivery_make_ready(d);
	webhook_pump();
}

/*
 * Full jitter (a uniform wait between 0 and the exponential ceiling):
 * receivers that come back after an outage are not hit by every pending
 * event at the same instant.
 */
static int64_t
delivery_backoff_ms(const struct delivery *d)
{
	int64_t ceiling = retry_base_ms;
	unsigned i;

	for (i = 1; i < d->d_attempts && ceiling < WEBHOOK_RETRY_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > WEBHOOK_RETRY_CAP_MS)
		ceiling = WEBHOOK_RETRY_CAP_MS;
	return arc4random_uniform((uint32_t)ceiling + 1);
}

static void
delivery_failed(struct delivery *d)
{
	int64_t wait = delivery_backoff_ms(d);
	struct timeval tv = {wait / 1000, (wait % 1000) * 1000};

	delivery_note(d);
	if (clock_realtime_ms() + wait > d->d_first_ms + max_age_ms) {
		log_warnx("webhook %s to %s: giving up after %u attempts: %s",
		    d->d_event_id, d->d_url, d->d_attempts, d->d_last_error);
		d->d_state = DELIVERY_EXPIRED;
		npending--;
	} else {
		d->d_state = DELIVERY_WAITING;
		if (!closing)
			evtimer_add(d->d_retry_ev, &tv);
	}
	delivery_journal(d);
}

static void
delivery_done(struct delivery *d, CURLcode result)
{
	curl_easy_getinfo(d->d_easy, CURLINFO_RESPONSE_CODE, &d->d_last_status);
	delivery_end_attempt(d);
	if (result == CURLE_OK && d->d_last_status / 100 == 2) {
		log_info("webhook %s delivered to %s (HTTP %ld, attempt %u)",
		    d->d_event_id, d->d_url, d->d_last_status, d->d_attempts);
		delivery_note(d);
		d->d_state = DELIVERY_DELIVERED;
		npending--;
		delivery_journal(d);
		return;
	}
	if (result == CURLE_OK)
		snprintf(d->d_last_error, sizeof(d->d_last_error), "HTTP %ld",
		    d->d_last_status);
	else if (d->d_last_error[0] == '\0')
		str_copy(d->d_last_error, curl_easy_strerror(result),
		    sizeof(d->d_last_error));
	log_debug("webhook %s attempt %u to %s: %s", d->d_event_id,
	    d->d_attempts, d->d_url, d->d_last_error);
	delivery_failed(d);
}

static void
webhook_check_done(void)
{
	CURLMsg *msg;
	CURLcode result;
	char *d;
	int left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &d);
		delivery_done((struct delivery *)d, result);
	}
	webhook_pump();
	if (closing && in_flight == 0)
		event_base_loopbreak(wh_base);
}

/* The outbox */

static bool
delivery_pending(const struct delivery *d)
{
	return d->d_state != DELIVERY_DELIVERED &&
	       d->d_state != DELIVERY_EXPIRED;
}

static void
delivery_free(struct delivery *d)
{
	switch (d->d_state) {
	case DELIVERY_IN_FLIGHT:
		if (d->d_easy != NULL)
			delivery_end_attempt(d);
		break;
	case DELIVERY_READY:
		TAILQ_REMOVE(&ready, d, d_ready);
		break;
	default:
		break;
	}
	if (delivery_pending(d))
		npending--;
	event_free(d->d_retry_ev);
	TAILQ_REMOVE(&all, d, d_all);
	LIST_REMOVE(d, d_hash);
	free(d->d_event_id);
	free(d->d_url);
	free(d->d_body);
	free(d);
}

static struct delivery *
delivery_find(const char *event_id)
{
	struct delivery *d;

	LIST_FOREACH(
	    d, &by_event[str_hash(event_id) % WEBHOOK_HASH_SIZE], d_hash)
	{
		if (strcmp(d->d_event_id, event_id) == 0)
			return d;
	}
	return NULL;
}

bool
webhook_known(const char *event_id)
{
	return delivery_find(event_id) != NULL;
}

static struct delivery *
delivery_new(
    const char *job_id, const char *url, const char *event_id, char *body)
{
	struct delivery *d = xcalloc(1, sizeof(*d));

	str_copy(d->d_job_id, job_id, sizeof(d->d_job_id));
	d->d_event_id = xstrdup(event_id);
	d->d_url = xstrdup(url);
	d->d_body = body;
	d->d_body_len = strlen(body);
	d->d_created_ms = clock_realtime_ms();
	d->d_retry_ev = evtimer_new(wh_base, delivery_retry_cb, d);
	if (d->d_retry_ev == NULL)
		fatalx("%s: evtimer_new", __func__);
	d->d_state = DELIVERY_WAITING;
	TAILQ_INSERT_TAIL(&all, d, d_all);
	LIST_INSERT_HEAD(
	    &by_event[str_hash(event_id) % WEBHOOK_HASH_SIZE], d, d_hash);
	npending++;
	return d;
}

/* Journaled (synced) before the first attempt: a terminal event. */
int
webhook_post(
    const char *job_id, const char *url, const char *event_id, json_t *body)
{
	struct delivery *d;
	char *text;
	json_t *rec;

	if ((text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10))) ==
	    NULL) {
		log_warnx("webhook %s: cannot encode the body", event_id);
		return -1;
	}
	d = delivery_new(job_id, url, event_id, text);
	rec = delivery_record_json(d);
	journal_write(JOURNAL_WEBHOOK, rec, true);
	json_decref(rec);
	delivery_make_ready(d);
	webhook_pump();
	return 0;
}

/* Replay */

static void
delivery_apply_state(struct delivery *d, json_t *rec)
{
	const char *state = json_string_value(json_object_get(rec, "state"));
	json_t *history = json_object_get(rec, "history"), *a;
	bool was_pending = delivery_pending(d);
	const char *error;
	size_t i;

	d->d_attempts =
	    (unsigned)json_integer_value(json_object_get(rec, "attempts"));
	d->d_first_ms = json_integer_value(json_object_get(rec, "first_ms"));
	json_array_foreach(history, i, a)
	{
		int n = (int)json_integer_value(json_object_get(a, "attempt"));
		struct attempt *at;

		if (n < 1)
			continue;
		at = &d->d_history[(unsigned)(n - 1) % WEBHOOK_HISTORY];
		at->at_ms = json_integer_value(json_object_get(a, "at_ms"));
		at->status =
		    (long)json_integer_value(json_object_get(a, "http_status"));
		error = json_string_value(json_object_get(a, "error"));
		str_copy(
		    at->error, error != NULL ? error : "", sizeof(at->error));
	}
	if (state != NULL && strcmp(state, "delivered") == 0)
		d->d_state = DELIVERY_DELIVERED;
	else if (state != NULL && strcmp(state, "expired") == 0)
		d->d_state = DELIVERY_EXPIRED;
	else
		d->d_state = DELIVERY_WAITING;
	if (was_pending && !delivery_pending(d))
		npending--;
	else if (!was_pending && delivery_pending(d))
		npending++;
}

int
webhook_replay(unsigned type, json_t *rec)
{
	const char *event = json_string_value(json_object_get(rec, "event"));
	const char *job = json_string_value(json_object_get(rec, "job"));
	const char *url = json_string_value(json_object_get(rec, "url"));
	const char *body = json_string_value(json_object_get(rec, "body"));
	struct delivery *d;

	if (event == NULL)
		return -1;
	d = delivery_find(event);
	if (type == JOURNAL_WEBHOOK && d == NULL) {
		if (job == NULL || url == NULL || body == NULL ||
		    !reel_id_valid("job_", job))
			return -1;
		d = delivery_new(job, url, event, xstrdup(body));
		d->d_created_ms =
		    json_integer_value(json_object_get(rec, "created_ms"));
	}
	/* An attempt of an event whose job has since expired. */
	if (d == NULL)
		return 0;
	delivery_apply_state(d, rec);
	return 0;
}

/* After replay: pending events start again, oldest first. */
void
webhook_resume(void)
{
	struct delivery *d;
	unsigned n = 0;

	TAILQ_FOREACH(d, &all, d_all)
	{
		if (d->d_state == DELIVERY_WAITING) {
			delivery_make_ready(d);
			n++;
		}
	}
	if (n > 0)
		log_info("webhooks: %u pending events resume", n);
	webhook_pump();
}

/* Views and commands */

static json_t *
delivery_view(const struct delivery *d)
{
	json_t *o = delivery_state_json(d), *a;
	json_t *history = json_object_get(o, "history");
	size_t i;

	json_object_del(o, "first_ms");
	json_object_set_new(o, "url", json_string(d->d_url));
	json_object_set_new(o, "first_attempt_at", jsonfmt_time(d->d_first_ms));
	json_array_foreach(history, i, a)
	{
		json_object_set_new(a, "at",
		    jsonfmt_time(
			json_integer_value(json_object_get(a, "at_ms"))));
		json_object_del(a, "at_ms");
	}
	return o;
}

json_t *
webhook_job_json(const char *job_id)
{
	json_t *list = json_array();
	struct delivery *d;

	TAILQ_FOREACH(d, &all, d_all)
	{
		if (strcmp(d->d_job_id, job_id) == 0)
			json_array_append_new(list, delivery_view(d));
	}
	return list;
}

/*
 * Sends the job's event again under its id, with a new --webhook-max-age
 * window. A pending event is tried at once instead of at its next retry.
 */
int
webhook_redeliver(const char *job_id, char *code, char *detail)
{
	struct delivery *d, *last = NULL;

	TAILQ_FOREACH(d, &all, d_all)
	{
		if (strcmp(d->d_job_id, job_id) == 0)
			last = d;
	}
	str_copy(code, ERR_INVALID_REQUEST, MSG_WORD_SIZE);
	if (last == NULL) {
		snprintf(detail, MSG_TEXT_SIZE,
		    "Job %s has no webhook event: it has no webhook_url or has "
		    "not ended.",
		    job_id);
		return -1;
	}
	if (last->d_state == DELIVERY_IN_FLIGHT ||
	    last->d_state == DELIVERY_READY) {
		snprintf(detail, MSG_TEXT_SIZE,
		    "Event %s is being sent right now.", last->d_event_id);
		return -1;
	}
	if (!delivery_pending(last))
		npending++;
	evtimer_del(last->d_retry_ev);
	last->d_first_ms = 0;
	last->d_state = DELIVERY_WAITING;
	delivery_journal(last);
	log_info("webhook %s: redelivery requested", last->d_event_id);
	delivery_make_ready(last);
	webhook_pump();
	return 0;
}

void
webhook_forget_job(const char *job_id)
{
	struct delivery *d, *next;

	for (d = TAILQ_FIRST(&all); d != NULL; d = next) {
		next = TAILQ_NEXT(d, d_all);
		if (strcmp(d->d_job_id, job_id) == 0)
			delivery_free(d);
	}
}

/* Shutdown */

static void
webhook_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(wh_base);
}

/* Runs the loop until the attempts in flight end, at most the grace. */
static void
webhook_drain(void)
{
	struct timeval tv = {WEBHOOK_GRACE_MS / 1000, 0};
	struct event *grace;

	if (in_flight == 0)
		return;
	log_info("shutdown: waiting up to %d s for %u webhook attempts",
	    WEBHOOK_GRACE_MS / 1000, in_flight);
	if ((grace = evtimer_new(wh_base, webhook_grace_cb, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(grace, &tv);
	event_base_dispatch(wh_base);
	event_free(grace);
}

/* Pending events stay in the journal and resume at the next start. */
void
webhook_shutdown(void)
{
	struct wsock *ws;

	if (multi == NULL)
		return;
	closing = true;
	webhook_drain();
	if (npending > 0)
		log_info("shutdown: %u webhook events pending; they resume "
			 "when reeld starts again",
		    npending);
	while (!TAILQ_EMPTY(&all))
		delivery_free(TAILQ_FIRST(&all));
	curl_multi_cleanup(multi);
	multi = NULL;
	while ((ws = LIST_FIRST(&wsocks)) != NULL)
		wsock_free(ws);
	event_free(timer_ev);
	timer_ev = NULL;
	curl_global_cleanup();
}
