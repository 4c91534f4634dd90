/*
 * Webhook delivery: POSTs a job's terminal event to its webhook_url with
 * libcurl's multi interface, driven by reeld's libevent loop (curl tells us
 * which sockets to watch and when to wake it; nothing here blocks).
 *
 * Guarantees: every event gets attempts until one answers 2xx, with
 * exponential backoff and full jitter between attempts, for at most
 * 24 hours from the first attempt; every attempt of one event carries the
 * same webhook-id, so receivers can drop duplicates. At most
 * WEBHOOK_MAX_QUEUED events are kept (the oldest is dropped first) and at
 * most WEBHOOK_MAX_IN_FLIGHT attempts run at once. Deliveries live in memory
 * only: a restart of reeld loses those not yet delivered (a journal of them
 * is a later issue; struct delivery holds everything it would need). At
 * shutdown, attempts in flight get WEBHOOK_GRACE_MS to finish; the rest is
 * dropped with a warning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>

#include "log.h"
#include "supervisor.h"
#include "util.h"

#define WEBHOOK_MAX_QUEUED 10000
#define WEBHOOK_MAX_IN_FLIGHT 32
#define WEBHOOK_TIMEOUT_MS 10000L
#define WEBHOOK_CONNECT_TIMEOUT_MS 5000L
#define WEBHOOK_RETRY_BASE_MS 1000
#define WEBHOOK_RETRY_CAP_MS (5 * 60 * 1000)
#define WEBHOOK_MAX_AGE_S (24 * 60 * 60)
#define WEBHOOK_GRACE_MS 5000
#define WEBHOOK_USER_AGENT "reel/1"

enum delivery_state {
	DELIVERY_READY,	    /* in the ready queue, waiting for a free slot */
	DELIVERY_IN_FLIGHT, /* an attempt is running in the multi handle */
	DELIVERY_WAITING,   /* waiting for its retry timer */
};

/* One event to deliver, across all its attempts. */
struct delivery {
	TAILQ_ENTRY(delivery) d_all;   /* every delivery, oldest first */
	TAILQ_ENTRY(delivery) d_ready; /* DELIVERY_READY only */
	enum delivery_state d_state;
	char *d_event_id;
	char *d_url;
	char *d_body;
	size_t d_body_len;
	unsigned d_attempts;
	int64_t d_first_ms; /* wall clock of the first attempt, 0 before */
	long d_last_status; /* HTTP status of the last reply, 0 if none */
	char d_last_error[CURL_ERROR_SIZE];
	CURL *d_easy; /* the running attempt */
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
static LIST_HEAD(, wsock) wsocks = LIST_HEAD_INITIALIZER(wsocks);
static unsigned npending;
static unsigned in_flight;
static struct event_base *wh_base;
static CURLM *multi;
static struct event *timer_ev;
static bool closing;
static int64_t retry_base_ms = WEBHOOK_RETRY_BASE_MS;
static int64_t max_age_ms = WEBHOOK_MAX_AGE_S * 1000LL;

static void webhook_pump(void);
static void webhook_check_done(void);
static void delivery_free(struct delivery *d);

/*
 * Test knobs: integration tests cannot wait for second-long backoffs or a
 * day-long give-up, so both can be shortened from the environment.
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

void
webhook_init(struct event_base *base, const struct config *cfg)
{
	(void)cfg;
	wh_base = base;
	retry_base_ms = webhook_knob("REEL_WEBHOOK_RETRY_BASE_MS",
	    WEBHOOK_RETRY_BASE_MS, WEBHOOK_RETRY_CAP_MS);
	max_age_ms = 1000 * webhook_knob("REEL_WEBHOOK_MAX_AGE_S",
				WEBHOOK_MAX_AGE_S, WEBHOOK_MAX_AGE_S);
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

/* Built per attempt: webhook-timestamp is the time of this attempt. */
static struct curl_slist *
delivery_headers(const struct delivery *d)
{
	char id[512], ts[64];
	const char *lines[] = {
	    "Content-Type: application/json", id, ts, "Expect:"};
	struct curl_slist *list = NULL, *next;
	size_t i;

	snprintf(id, sizeof(id), "webhook-id: %s", d->d_event_id);
	snprintf(
	    ts, sizeof(ts), "webhook-timestamp: %lld", (long long)time(NULL));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
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
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, WEBHOOK_TIMEOUT_MS);
	rc |= curl_easy_setopt(
	    e, CURLOPT_CONNECTTIMEOUT_MS, WEBHOOK_CONNECT_TIMEOUT_MS);
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
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

	while (in_flight < WEBHOOK_MAX_IN_FLIGHT &&
	       (d = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, d, d_ready);
		delivery_attempt(d);
	}
}

/* Retries */

static void
delivery_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct delivery *d = arg;

	(void)fd;
	(void)what;
	d->d_state = DELIVERY_READY;
	TAILQ_INSERT_TAIL(&ready, d, d_ready);
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

	if (closing) {
		log_warnx("webhook %s to %s dropped at shutdown: %s",
		    d->d_event_id, d->d_url, d->d_last_error);
		delivery_free(d);
		return;
	}
	if (clock_realtime_ms() + wait > d->d_first_ms + max_age_ms) {
		log_warnx("webhook %s to %s: giving up after %u attempts: %s",
		    d->d_event_id, d->d_url, d->d_attempts, d->d_last_error);
		delivery_free(d);
		return;
	}
	d->d_state = DELIVERY_WAITING;
	evtimer_add(d->d_retry_ev, &tv);
}

static void
delivery_done(struct delivery *d, CURLcode result)
{
	curl_easy_getinfo(d->d_easy, CURLINFO_RESPONSE_CODE, &d->d_last_status);
	delivery_end_attempt(d);
	if (result == CURLE_OK && d->d_last_status / 100 == 2) {
		log_debug("webhook %s attempt %u to %s: HTTP %ld",
		    d->d_event_id, d->d_attempts, d->d_url, d->d_last_status);
		log_info("webhook %s delivered to %s (HTTP %ld, attempt %u)",
		    d->d_event_id, d->d_url, d->d_last_status, d->d_attempts);
		delivery_free(d);
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

/* The queue */

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
	case DELIVERY_WAITING:
		break;
	}
	event_free(d->d_retry_ev);
	TAILQ_REMOVE(&all, d, d_all);
	npending--;
	free(d->d_event_id);
	free(d->d_url);
	free(d->d_body);
	free(d);
}

static void
webhook_make_room(void)
{
	struct delivery *d;

	while (npending >= WEBHOOK_MAX_QUEUED) {
		d = TAILQ_FIRST(&all);
		log_warnx("webhook %s to %s dropped: over %d queued deliveries "
			  "(%u attempts, last: %s)",
		    d->d_event_id, d->d_url, WEBHOOK_MAX_QUEUED, d->d_attempts,
		    d->d_last_error[0] != '\0' ? d->d_last_error : "none");
		delivery_free(d);
	}
}

void
webhook_post(const char *url, const char *event_id, json_t *body)
{
	struct delivery *d;
	char *text;

	if (multi == NULL) {
		log_warnx("webhook %s to %s dropped: reeld is stopping",
		    event_id, url);
		return;
	}
	if ((text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10))) ==
	    NULL) {
		log_warnx("webhook %s: cannot encode the body", event_id);
		return;
	}
	webhook_make_room();
	d = xcalloc(1, sizeof(*d));
	d->d_event_id = xstrdup(event_id);
	d->d_url = xstrdup(url);
	d->d_body = text;
	d->d_body_len = strlen(text);
	d->d_retry_ev = evtimer_new(wh_base, delivery_retry_cb, d);
	if (d->d_retry_ev == NULL)
		fatalx("%s: evtimer_new", __func__);
	d->d_state = DELIVERY_READY;
	TAILQ_INSERT_TAIL(&all, d, d_all);
	TAILQ_INSERT_TAIL(&ready, d, d_ready);
	npending++;
	webhook_pump();
}

unsigned
webhook_pending(void)
{
	return npending;
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

/* Deliveries not in flight have no attempt to finish: drop them now. */
static void
webhook_drop_idle(void)
{
	struct delivery *d, *next;
	unsigned n = 0;

	for (d = TAILQ_FIRST(&all); d != NULL; d = next) {
		next = TAILQ_NEXT(d, d_all);
		if (d->d_state != DELIVERY_IN_FLIGHT) {
			delivery_free(d);
			n++;
		}
	}
	if (n > 0)
		log_warnx("shutdown: %u undelivered webhooks dropped", n);
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
	if (npending > 0)
		log_warnx("shutdown: %u webhook attempts unfinished after "
			  "%d s, dropped",
		    npending, WEBHOOK_GRACE_MS / 1000);
}

void
webhook_shutdown(void)
{
	struct wsock *ws;

	if (multi == NULL)
		return;
	closing = true;
	webhook_drop_idle();
	webhook_drain();
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
