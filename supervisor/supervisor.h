/*
 * reeld's private header: the configuration, the job state machine, the
 * child (worker process) layer, jobs, videos and clients. Prototypes are
 * grouped by the file that defines them.
 */
#ifndef REEL_SUPERVISOR_H
#define REEL_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "contract.h"
#include "jobtab.h"
#include "msg.h"

/* config.c */
struct config {
	const char *runtime_dir;
	const char *state_dir;
	const char *worker_path;
	unsigned slots;
	unsigned table_slots;
	unsigned stage_stall_seconds;
	unsigned job_timeout_seconds;
	unsigned max_file_size_mb;
	/* Journal: JOURNAL_SYNC_* and how long terminal jobs stay queryable. */
	int journal_sync;
	unsigned retention_seconds;
	/* Clients in this group (and root) see and cancel every job. */
	const char *admin_group;
	/* Least privilege for workers, applied by spawner.c and confine.c. */
	const char *worker_user;
	unsigned worker_memory_mb;
	unsigned worker_cpu_seconds;
	unsigned worker_file_size_mb;
	unsigned worker_open_files;
	/* Standard Webhooks signing secret ("whsec_..."), read from a file. */
	const char *webhook_secret_file;
	/* CA bundle for https receivers, instead of the system's. */
	const char *webhook_ca_file;
	unsigned webhook_timeout_seconds;
	unsigned webhook_max_age_seconds;
	int verbose;
};
/* When reeld fsyncs the journal; docs/journal.md. */
enum {
	JOURNAL_SYNC_DEFAULT, /* submissions and terminal states */
	JOURNAL_SYNC_ALWAYS,  /* every record */
	JOURNAL_SYNC_NEVER,   /* the page cache only: tests and benches */
};
/* Parses argv; on a bad option writes the reason into err and returns -1. */
int config_parse(
    struct config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_usage(void);

/* jobstate.c: the contract's state machine, pure (no I/O, no clock). */
#define JOBSTATE_CODE_SIZE 32
struct jobstate {
	enum job_status status;
	enum stage stage; /* STAGE_NONE unless processing */
	int progress;
	bool template_only;
	int64_t created_ms;
	int64_t updated_ms;
	int64_t started_ms;
	int64_t completed_ms;
	enum stage error_stage;
	char error_code[JOBSTATE_CODE_SIZE];
	char error[JOBTAB_ERROR_SIZE];
};
void jobstate_init(struct jobstate *st, bool template_only, int64_t now);
int jobstate_start(struct jobstate *st, int64_t now);
int jobstate_progress(
    struct jobstate *st, enum stage stage, unsigned permille, int64_t now);
int jobstate_stage_done(struct jobstate *st, enum stage stage, int64_t now);
int jobstate_fail(struct jobstate *st, enum stage stage, const char *code,
    const char *message, int64_t now);
int jobstate_cancel(struct jobstate *st, int64_t now);
bool jobstate_valid(const struct jobstate *st);

/*
 * confine.c: least privilege for workers (docs/security.md). Init resolves
 * --worker-user when reeld runs as root; grant makes a directory reeld
 * created usable by that user; enter runs in the forked child before exec
 * (async-signal-safe: rlimits, no_new_privs, the user switch).
 */
void confine_init(const struct config *cfg);
int confine_grant(const char *path);
int confine_enter(void);

/* spawner.c: the only fork and exec in reeld. */
int spawn_worker(const char *path, char *const argv[], pid_t *pid, int *sock,
    int *exec_errno);

/* child.c: worker processes, from spawn to both exit status and EOF. */
struct child;
enum child_end {
	CHILD_OK,	 /* exit 0 after STAGE_DONE */
	CHILD_FAILED,	 /* anything else that is the stage's fault */
	CHILD_CANCELLED, /* we stopped it: cancel, timeout, shutdown */
};
struct child_outcome {
	enum child_end end;
	/* The reason we stopped it (CHILD_CANCELLED), else a code. */
	const char *code;
	char message[MSG_TEXT_SIZE];
	/* STAGE_DONE's result, owned by the child record. */
	json_t *result;
	/* From spawn to exit, and the worker's peak resident set. */
	double wall_s;
	long peak_rss_kb;
};
struct child_ops {
	/* May be NULL. */
	void (*progress)(void *arg, unsigned permille);
	/* Called once, when the exit status and EOF have both arrived. */
	void (*finished)(void *arg, const struct child_outcome *out);
};
struct child *child_start(
    const struct msg_job_start *start, const struct child_ops *ops, void *arg);
/* SIGTERM to the worker's group now, SIGKILL 2 s later; code says why. */
void child_stop(struct child *c, const char *code);
pid_t child_pid(const struct child *c);
unsigned child_count(void);
void child_init(struct event_base *base, const struct config *cfg);
void child_reap(void);
void child_stop_all(const char *code);
/* For bench/tests: microseconds from spawn to the first message, or -1. */
int64_t child_first_message_us(const struct child *c);

/* video.c: uploads, probing and the registry of stored videos. */
struct video;
void video_init(struct event_base *base, const struct config *cfg);
int video_load_all(void);
struct video *video_find(const char *video_id);
const char *video_path(const struct video *v);
json_t *video_json(const struct video *v);
/*
 * How an upload answers the client that sent it: the client layer passes
 * these in, so uploads never call up into it. client is its own pointer,
 * given back unchanged; ok takes the reference to data.
 */
struct upload_reply {
	void (*ok)(void *client, const char *message, json_t *data);
	void (*err)(void *client, const char *message, const char *code,
	    const char *detail);
};
/* Takes m->fd. Exactly one reply follows, unless the client goes first. */
void video_upload(
    struct msg *m, const struct upload_reply *reply, void *client);
/* The client went away: its uploads are abandoned, without a reply. */
void video_client_gone(void *client);

/*
 * journal.c: the write-ahead journal (docs/journal.md). Records are JSON
 * objects; replay hands each to the handler registered for its type.
 */
enum journal_record {
	JOURNAL_JOB = 1,	     /* a job's whole state */
	JOURNAL_WEBHOOK = 2,	     /* a webhook event, with its body */
	JOURNAL_WEBHOOK_ATTEMPT = 3, /* an event's delivery state changed */
	JOURNAL_FORGET = 4,	     /* a job left after its retention */
	JOURNAL_RECORD_MAX = JOURNAL_FORGET,
};
/* Room for every module that keeps records: jobs and webhooks today. */
#define JOURNAL_SNAPSHOT_WRITERS 4
struct wal_compaction;
/* Applies one replayed record; -1 when it is not one reeld wrote. */
typedef int journal_replay_fn(unsigned type, json_t *rec);
/* Adds one record per live object to a compaction; -1 on failure. */
typedef int journal_snapshot_fn(struct wal_compaction *c);
/* Both before journal_open(); snapshots run in registration order. */
void journal_on_replay(unsigned type, journal_replay_fn *fn);
void journal_on_snapshot(journal_snapshot_fn *fn);
void journal_open(const struct config *cfg);
/* important: fsync under the default policy. -1 with errno on failure. */
int journal_write(unsigned type, json_t *rec, bool important);
int journal_snapshot_add(struct wal_compaction *c, unsigned type, json_t *rec);
bool journal_writable(void);
void journal_tick(void);
void journal_close(void);

/* Who sent a request, from SO_PEERCRED (control.c). */
struct caller {
	uid_t uid;
	bool admin; /* root or in --admin-group: sees every job */
};

/* job.c: jobs, the FIFO queue, stage sequencing, the shm table. */
struct job;
void job_init(
    struct event_base *base, const struct config *cfg, struct jobtab *jt);
int job_replay(unsigned type, json_t *rec);
int job_replay_forget(unsigned type, json_t *rec);
/* After replay: requeue and resume what was unfinished. */
void job_recover(void);
int job_snapshot(struct wal_compaction *c);
int job_submit(const struct msg_submit *req, const struct caller *who,
    json_t **data, char *code, char *detail);
/* NULL when there is no such job or the caller may not see it. */
struct job *job_find(const char *job_id, const struct caller *who);
const char *job_id(const struct job *j);
const char *job_webhook_url(const struct job *j);
int job_cancel(struct job *j, char *code, char *detail);
json_t *job_json(const struct job *j, bool detail);
json_t *job_list_json(const char *status, unsigned page, unsigned page_size,
    const struct caller *who);
int job_artifact_open(const struct job *j, const char *artifact, int *fd,
    char *code, char *detail);
bool job_terminal(const struct job *j);
void job_publish_counters(void);
void job_heartbeat(void);
void job_shutdown(void);
unsigned job_active_count(void);

/*
 * webhook.c: the durable outbox. POSTs a JSON body to a job's webhook_url
 * when the job ends, with retries. event_id is stable across retries and
 * restarts (the webhook-id header).
 */
void webhook_init(struct event_base *base, const struct config *cfg);
/* Journals and serialises body at once; the caller keeps its reference. */
int webhook_post(
    const char *job_id, const char *url, const char *event_id, json_t *body);
bool webhook_known(const char *event_id);
int webhook_replay(unsigned type, json_t *rec);
int webhook_snapshot(struct wal_compaction *c);
/* Starts the deliveries replay found unfinished. */
void webhook_resume(void);
/* The job's events and their attempts, for the detail view. */
json_t *webhook_job_json(const char *job_id);
/* Sends the job's last event again, under the same id. */
int webhook_redeliver(const char *job_id, char *code, char *detail);
void webhook_forget_job(const char *job_id);
/* Pending deliveries, for shutdown and tests. */
unsigned webhook_pending(void);
void webhook_shutdown(void);

/* control.c: the client socket and request dispatch. */
int control_listen(struct event_base *base, const struct config *cfg);
void control_close(void);

#endif
