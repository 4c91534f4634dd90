/*
 * config.c: reeld's command line, parsed once at start-up into struct
 * config, which every module reads and none changes.
 */
#ifndef REEL_SUP_CONFIG_H
#define REEL_SUP_CONFIG_H

#include <stddef.h>

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
	/*
	 * reel-httpd's user: its connections may name the owner they act for
	 * (IDENTIFY); root's and reeld's own user's may too.
	 */
	const char *api_user;
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

#endif
