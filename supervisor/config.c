/*
 * reeld's command line. Every numeric option has bounds next to its
 * definition, and anything unknown or out of range is refused with the
 * reason, so a typo never starts a daemon with a surprising setting.
 */
#include <getopt.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "jobtab.h"
#include "msg.h"
#include "util.h"

#ifndef REEL_WORKER_PATH
#define REEL_WORKER_PATH "/usr/local/libexec/reel/reel-worker"
#endif

#define CONFIG_DIR_MAX 512

enum {
	OPT_RUNTIME = 256,
	OPT_STATE,
	OPT_WORKER,
	OPT_SLOTS,
	OPT_TABLE,
	OPT_STALL,
	OPT_TIMEOUT,
	OPT_MAXSIZE,
	OPT_SYNC,
	OPT_RETENTION,
	OPT_ADMIN_GROUP,
	OPT_API_USER,
	OPT_WORKER_USER,
	OPT_WORKER_MEMORY,
	OPT_WORKER_CPU,
	OPT_WORKER_FSIZE,
	OPT_WORKER_NOFILE,
	OPT_WEBHOOK_SECRET,
	OPT_WEBHOOK_TIMEOUT,
	OPT_WEBHOOK_MAX_AGE,
	OPT_WEBHOOK_CA,
};

static const struct option options[] = {
    {"runtime-dir", required_argument, NULL, OPT_RUNTIME},
    {"state-dir", required_argument, NULL, OPT_STATE},
    {"worker-path", required_argument, NULL, OPT_WORKER},
    {"slots", required_argument, NULL, OPT_SLOTS},
    {"table-slots", required_argument, NULL, OPT_TABLE},
    {"stage-stall-seconds", required_argument, NULL, OPT_STALL},
    {"job-timeout", required_argument, NULL, OPT_TIMEOUT},
    {"max-file-size-mb", required_argument, NULL, OPT_MAXSIZE},
    {"journal-sync", required_argument, NULL, OPT_SYNC},
    {"retention-seconds", required_argument, NULL, OPT_RETENTION},
    {"admin-group", required_argument, NULL, OPT_ADMIN_GROUP},
    {"api-user", required_argument, NULL, OPT_API_USER},
    {"worker-user", required_argument, NULL, OPT_WORKER_USER},
    {"worker-memory-mb", required_argument, NULL, OPT_WORKER_MEMORY},
    {"worker-cpu-seconds", required_argument, NULL, OPT_WORKER_CPU},
    {"worker-file-size-mb", required_argument, NULL, OPT_WORKER_FSIZE},
    {"worker-open-files", required_argument, NULL, OPT_WORKER_NOFILE},
    {"webhook-secret-file", required_argument, NULL, OPT_WEBHOOK_SECRET},
    {"webhook-timeout", required_argument, NULL, OPT_WEBHOOK_TIMEOUT},
    {"webhook-max-age", required_argument, NULL, OPT_WEBHOOK_MAX_AGE},
    {"webhook-ca-file", required_argument, NULL, OPT_WEBHOOK_CA},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const struct {
	int opt;
	const char *name;
	size_t offset;
	unsigned min, max;
} bounds[] = {
    {OPT_SLOTS, "--slots", offsetof(struct config, slots), 1, 256},
    {OPT_TABLE, "--table-slots", offsetof(struct config, table_slots), 8,
	JOBTAB_MAX_SLOTS},
    {OPT_STALL, "--stage-stall-seconds",
	offsetof(struct config, stage_stall_seconds), 1, 86400},
    {OPT_TIMEOUT, "--job-timeout", offsetof(struct config, job_timeout_seconds),
	1, 7 * 86400},
    {OPT_MAXSIZE, "--max-file-size-mb",
	offsetof(struct config, max_file_size_mb), 1, 1024 * 1024},
    {OPT_RETENTION, "--retention-seconds",
	offsetof(struct config, retention_seconds), 1, 3650 * 86400},
    {OPT_WORKER_MEMORY, "--worker-memory-mb",
	offsetof(struct config, worker_memory_mb), 64, 1024 * 1024},
    {OPT_WORKER_CPU, "--worker-cpu-seconds",
	offsetof(struct config, worker_cpu_seconds), 1, 7 * 86400},
    {OPT_WORKER_FSIZE, "--worker-file-size-mb",
	offsetof(struct config, worker_file_size_mb), 1, 1024 * 1024},
    {OPT_WORKER_NOFILE, "--worker-open-files",
	offsetof(struct config, worker_open_files), 32, 65536},
    {OPT_WEBHOOK_TIMEOUT, "--webhook-timeout",
	offsetof(struct config, webhook_timeout_seconds), 1, 300},
    {OPT_WEBHOOK_MAX_AGE, "--webhook-max-age",
	offsetof(struct config, webhook_max_age_seconds), 1, 7 * 86400},
};

static const char *const sync_names[] = {
    [JOURNAL_SYNC_DEFAULT] = "default",
    [JOURNAL_SYNC_ALWAYS] = "always",
    [JOURNAL_SYNC_NEVER] = "never",
};

void
config_usage(void)
{
	fprintf(stderr,
	    "usage: reeld [-v] [--runtime-dir DIR] [--state-dir DIR]\n"
	    "             [--worker-path PATH] [--slots N] [--table-slots N]\n"
	    "             [--stage-stall-seconds S] [--job-timeout S]\n"
	    "             [--max-file-size-mb MB] [--journal-sync POLICY]\n"
	    "             [--retention-seconds S] [--admin-group GROUP]\n"
	    "             [--api-user USER]\n"
	    "             [--worker-user USER] [--worker-memory-mb MB]\n"
	    "             [--worker-cpu-seconds S] [--worker-file-size-mb MB]\n"
	    "             [--worker-open-files N] [--webhook-secret-file "
	    "PATH]\n"
	    "             [--webhook-timeout S] [--webhook-max-age S]\n"
	    "             [--webhook-ca-file PATH]\n");
}

static void
config_defaults(struct config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->worker_path = REEL_WORKER_PATH;
	cfg->slots = n > 1 ? (unsigned)(n / 2) : 1;
	cfg->table_slots = 1024;
	cfg->stage_stall_seconds = 120;
	cfg->job_timeout_seconds = 3600;
	cfg->max_file_size_mb = 1000;
	cfg->journal_sync = JOURNAL_SYNC_DEFAULT;
	cfg->retention_seconds = 30 * 86400;
	cfg->worker_user = "nobody";
	cfg->worker_memory_mb = 4096;
	cfg->worker_cpu_seconds = 4 * 3600;
	cfg->worker_file_size_mb = 64 * 1024;
	cfg->worker_open_files = 256;
	cfg->webhook_timeout_seconds = 10;
	cfg->webhook_max_age_seconds = 86400;
}

static int
config_sync(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(sync_names) / sizeof(sync_names[0]);
	     i++) {
		if (strcmp(arg, sync_names[i]) == 0) {
			cfg->journal_sync = (int)i;
			return 0;
		}
	}
	snprintf(err, errlen,
	    "--journal-sync must be default, always or never, not '%s'", arg);
	return -1;
}

static int
config_string(struct config *cfg, int opt, const char *arg)
{
	switch (opt) {
	case OPT_RUNTIME:
		cfg->runtime_dir = arg;
		return 0;
	case OPT_STATE:
		cfg->state_dir = arg;
		return 0;
	case OPT_WORKER:
		cfg->worker_path = arg;
		return 0;
	case OPT_ADMIN_GROUP:
		cfg->admin_group = arg;
		return 0;
	case OPT_API_USER:
		cfg->api_user = arg;
		return 0;
	case OPT_WORKER_USER:
		cfg->worker_user = arg;
		return 0;
	case OPT_WEBHOOK_SECRET:
		cfg->webhook_secret_file = arg;
		return 0;
	case OPT_WEBHOOK_CA:
		cfg->webhook_ca_file = arg;
		return 0;
	}
	return -1;
}

static int
config_number(
    struct config *cfg, int opt, const char *arg, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		if (bounds[i].opt != opt)
			continue;
		v = strtoul(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || arg[0] == '-' ||
		    v < bounds[i].min || v > bounds[i].max) {
			snprintf(err, errlen, "%s must be %u..%u, not '%s'",
			    bounds[i].name, bounds[i].min, bounds[i].max, arg);
			return -1;
		}
		*(unsigned *)((char *)cfg + bounds[i].offset) = (unsigned)v;
		return 0;
	}
	snprintf(err, errlen, "unknown option");
	return -1;
}

int
config_parse(
    struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int ch;

	config_defaults(cfg);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		if (config_string(cfg, ch, optarg) == 0)
			continue;
		switch (ch) {
		case OPT_SYNC:
			if (config_sync(cfg, optarg, err, errlen) != 0)
				return -1;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			snprintf(err, errlen, "help");
			return -1;
		case '?':
			snprintf(err, errlen,
			    "unknown option or missing value: "
			    "'%s'",
			    argv[optind - 1]);
			return -1;
		default:
			if (config_number(cfg, ch, optarg, err, errlen) != 0)
				return -1;
		}
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	cfg->runtime_dir = runtime_dir_default(cfg->runtime_dir);
	cfg->state_dir = state_dir_default(cfg->state_dir);
	/* Every path reeld builds below them must fit its buffers. */
	if (strlen(cfg->runtime_dir) > CONFIG_DIR_MAX ||
	    strlen(cfg->state_dir) > CONFIG_DIR_MAX ||
	    strlen(cfg->worker_path) >= MSG_PATH_SIZE) {
		snprintf(err, errlen, "directories must be at most %d bytes",
		    CONFIG_DIR_MAX);
		return -1;
	}
	return 0;
}
