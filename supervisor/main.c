/*
 * reeld: the supervisor. One thread, one libevent loop. Start-up order:
 * configuration, directories, the shared-memory table, the video registry,
 * the client socket, then READY=1 to systemd. SIGTERM and SIGINT stop it
 * cleanly: no new work, every worker group stopped (SIGTERM, SIGKILL after
 * 2 s), all children reaped, the socket removed, webhook attempts in
 * flight given up to 5 s (webhook_shutdown); the table file stays so
 * that reelstat can show the last state and say that reeld is gone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "child.h"
#include "config.h"
#include "confine.h"
#include "control.h"
#include "job.h"
#include "jobrecord.h"
#include "jobrun.h"
#include "jobshm.h"
#include "journal.h"
#include "log.h"
#include "recovery.h"
#include "retention.h"
#include "util.h"
#include "video.h"
#include "webhook.h"

#define HEARTBEAT_MS 250
#define SHUTDOWN_POLL_MS 20

static struct event_base *base;
static struct event *shutdown_ev;
static bool stopping;

static void
heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	jobshm_heartbeat();
	journal_tick();
	retention_tick();
}

static void
shutdown_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {0, SHUTDOWN_POLL_MS * 1000};

	(void)fd;
	(void)what;
	(void)arg;
	if (child_count() == 0)
		event_base_loopbreak(base);
	else
		evtimer_add(shutdown_ev, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGCHLD:
		child_reap();
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	default:
		if (stopping)
			return;
		stopping = true;
		log_info("signal %d: shutting down", (int)sig);
		sd_notify(0, "STOPPING=1");
		control_close();
		jobrun_shutdown();
		shutdown_poll_cb(-1, 0, NULL);
	}
}

static struct jobtab *
open_table(const struct config *cfg)
{
	char path[4096];
	struct jobtab *jt;

	if (mkdir_p(cfg->runtime_dir, 0755) != 0)
		fatal("runtime dir %s", cfg->runtime_dir);
	snprintf(
	    path, sizeof(path), "%s/%s", cfg->runtime_dir, REEL_JOBTAB_NAME);
	if ((jt = jobtab_create(path, cfg->table_slots)) == NULL)
		fatal("job table %s", path);
	jobtab_set_pid(jt, getpid(), clock_realtime_ms());
	jobtab_heartbeat(jt, clock_realtime_ms());
	return jt;
}

static void
add_signal(int sig)
{
	struct event *ev = evsignal_new(base, sig, signal_cb, NULL);

	if (ev == NULL || event_add(ev, NULL) != 0)
		fatalx("cannot watch signal %d", sig);
}

/*
 * The journal is a passive log: each record type goes back to the module
 * that writes it, and a compaction asks jobs, then webhook events, for
 * their records.
 */
static void
journal_register(void)
{
	journal_on_replay(JOURNAL_JOB, jobrecord_replay);
	journal_on_replay(JOURNAL_FORGET, retention_replay_forget);
	journal_on_replay(JOURNAL_WEBHOOK, webhook_replay);
	journal_on_replay(JOURNAL_WEBHOOK_ATTEMPT, webhook_replay);
	journal_on_snapshot(jobrecord_snapshot);
	journal_on_snapshot(webhook_snapshot);
}

/* Each module's own state; the journal's replay fills it in afterwards. */
static void
init_modules(const struct config *cfg, struct jobtab *jt)
{
	child_init(base, cfg);
	video_init(base, cfg);
	job_init(cfg);
	jobshm_init(jt);
	jobrun_init(base, cfg);
	retention_init(cfg);
	webhook_init(base, cfg);
}

static void
setup(const struct config *cfg)
{
	struct timeval tv = {0, HEARTBEAT_MS * 1000};
	struct event *hb;
	int n;

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	add_signal(SIGCHLD);
	add_signal(SIGTERM);
	add_signal(SIGINT);
	add_signal(SIGHUP);
	if (mkdir_p(cfg->state_dir, 0750) != 0)
		fatal("state dir %s", cfg->state_dir);
	confine_init(cfg);
	init_modules(cfg, open_table(cfg));
	if ((n = video_load_all()) < 0)
		fatal("videos in %s", cfg->state_dir);
	/* The job table is whole again before anyone can connect. */
	journal_register();
	journal_open(cfg);
	recovery_run();
	webhook_resume();
	if (control_listen(base, cfg) != 0)
		fatal("socket in %s", cfg->runtime_dir);
	hb = event_new(base, -1, EV_PERSIST, heartbeat_cb, NULL);
	event_add(hb, &tv);
	shutdown_ev = evtimer_new(base, shutdown_poll_cb, NULL);
	log_info("serving %s/%s: %u slots, %d videos, worker %s",
	    cfg->runtime_dir, REEL_SOCKET_NAME, cfg->slots, n,
	    cfg->worker_path);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[256];

	log_init(0, "reeld");
	if (config_parse(&cfg, argc, argv, err, sizeof(err)) != 0) {
		if (strcmp(err, "help") != 0)
			fprintf(stderr, "reeld: %s\n", err);
		config_usage();
		return strcmp(err, "help") == 0 ? 0 : 64;
	}
	log_setverbose(cfg.verbose);
	setup(&cfg);
	sd_notify(0, "READY=1");
	event_base_dispatch(base);
	webhook_shutdown();
	journal_close();
	log_info("stopped");
	return 0;
}
