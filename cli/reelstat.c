/*
 * reelstat: the administrator's view of reeld, read straight from the
 * shared-memory job table (docs/reelstat.md). It maps the table read-only
 * and never touches the socket, so it works when reeld is busy, stopped or
 * dead, and then it says so: a warning on stderr and exit code 2, because
 * the rows shown are reeld's last state rather than live ones. It never
 * hangs: every read of the table gives up after JOBTAB_READ_TIMEOUT_MS.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "contract.h"
#include "jobtab.h"
#include "log.h"
#include "table.h"
#include "util.h"

#define STAT_EXIT_OK 0
#define STAT_EXIT_ERROR 1
#define STAT_EXIT_STALE 2
/* reeld beats every second; three missed beats is not scheduling noise. */
#define STAT_STALE_MS 3000
#define STAT_WATCH_DEFAULT 1.0
#define STAT_WATCH_MIN 0.1
#define STAT_WATCH_MAX 3600.0
#define STAT_ERROR_MIN_COLS 16
#define STAT_BAR_WIDTH 10
#define STAT_CLEAR "\033[H\033[2J"
#define STAT_LAST_STATE "the table below is its last state, not live"

struct stat_opts {
	const char *path;
	char pathbuf[PATH_MAX];
	double watch; /* seconds between refreshes; 0 shows the table once */
	bool json;
};

struct stat_row {
	uint32_t slot;
	struct jobtab_job job;
};

/* One snapshot of the table and what it says about reeld. */
struct stat_view {
	const char *path;
	uint32_t slot_count;
	struct jobtab_info info;
	struct stat_row *rows;
	size_t nrows;
	uint32_t unreadable; /* slots held mid-update past the timeout */
	int64_t now_ms;
	int64_t hb_age_ms;
	bool info_ok; /* header read within the timeout */
	int alive;    /* 1, 0, or -1 when the header could not be read */
	bool stuck;   /* reeld stopped in the middle of an update */
	bool stale;
};

static volatile sig_atomic_t stat_quit;

static void
stat_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: reelstat [--runtime-dir DIR | --table PATH] [--json]\n"
	    "                [--watch [SECS]]\n"
	    "  -r, --runtime-dir DIR  read DIR/%s (default: "
	    "$RUNTIME_DIRECTORY\n"
	    "                         or /run/reeld)\n"
	    "  -t, --table PATH       read the job table at PATH\n"
	    "  -j, --json             print JSON instead of a table\n"
	    "  -w, --watch [SECS]     refresh every SECS seconds (default 1) "
	    "until\n"
	    "                         interrupted\n"
	    "  -h, --help             show this help\n"
	    "exit status: 0 live table, 1 error, 2 reeld dead or not "
	    "responding\n",
	    REEL_JOBTAB_NAME);
}

static int
stat_parse_secs(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < STAT_WATCH_MIN || v > STAT_WATCH_MAX)
		return -1;
	*out = v;
	return 0;
}

/* --watch takes an optional value, also as the next argument. */
static int
stat_watch_opt(struct stat_opts *o, const char *arg, int argc, char **argv)
{
	o->watch = STAT_WATCH_DEFAULT;
	if (arg != NULL) {
		if (stat_parse_secs(arg, &o->watch) == 0)
			return 0;
		fprintf(stderr,
		    "reelstat: --watch: want %.1f to %.0f seconds, "
		    "not \"%s\"\n",
		    STAT_WATCH_MIN, STAT_WATCH_MAX, arg);
		return -1;
	}
	/* A next argument that looks like a number is meant as the value. */
	if (optind < argc && argv[optind][0] != '\0' &&
	    strchr("0123456789.", argv[optind][0]) != NULL)
		return stat_watch_opt(o, argv[optind++], argc, argv);
	return 0;
}

static void
stat_table_path(struct stat_opts *o, const char *runtime_dir, const char *table)
{
	if (table != NULL) {
		o->path = table;
		return;
	}
	snprintf(o->pathbuf, sizeof(o->pathbuf), "%s/%s",
	    runtime_dir_default(runtime_dir), REEL_JOBTAB_NAME);
	o->path = o->pathbuf;
}

/* Returns -1 on a usage error, 1 after --help, 0 to go on. */
static int
stat_parse_args(struct stat_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"runtime-dir", required_argument, NULL, 'r'},
	    {"table", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"watch", optional_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *table = NULL;
	int ch;

	/* "+": no argument permutation, so "--watch 2" can take the 2. */
	while ((ch = getopt_long(argc, argv, "+r:t:jw::h", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'r':
			dir = optarg;
			break;
		case 't':
			table = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'w':
			if (stat_watch_opt(o, optarg, argc, argv) == -1)
				return -1;
			break;
		case 'h':
			stat_usage(stdout);
			return 1;
		default:
			stat_usage(stderr);
			return -1;
		}
	}
	if (optind != argc || (dir != NULL && table != NULL)) {
		stat_usage(stderr);
		return -1;
	}
	stat_table_path(o, dir, table);
	return 0;
}

static int
stat_row_cmp(const void *a, const void *b)
{
	const struct stat_row *x = a, *y = b;
	int c;

	if (x->job.created_ms != y->job.created_ms)
		return x->job.created_ms < y->job.created_ms ? -1 : 1;
	if ((c = strcmp(x->job.job_id, y->job.job_id)) != 0)
		return c;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void
stat_collect(const struct jobtab *jt, struct stat_view *v)
{
	struct jobtab_job job;
	size_t cap = 0;

	for (uint32_t i = 0; i < v->slot_count; i++) {
		if (jobtab_try_read_job(jt, i, &job) == -1) {
			v->unreadable++;
			continue;
		}
		if (!job.in_use)
			continue;
		if (v->nrows == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v->rows = xreallocarray(v->rows, cap, sizeof(*v->rows));
		}
		v->rows[v->nrows].slot = i;
		v->rows[v->nrows++].job = job;
	}
	if (v->nrows > 1)
		qsort(v->rows, v->nrows, sizeof(*v->rows), stat_row_cmp);
}

/*
 * kill(pid, 0) tells whether the process exists (EPERM: it does, as another
 * user); the heartbeat tells whether it is still working. A reused pid
 * looks alive, but its heartbeat goes stale all the same.
 */
static void
stat_liveness(struct stat_view *v)
{
	v->stuck = !v->info_ok || v->unreadable > 0;
	if (!v->info_ok) {
		v->alive = -1;
		v->stale = true;
		return;
	}
	v->alive =
	    v->info.pid > 0 && (kill(v->info.pid, 0) == 0 || errno == EPERM);
	v->hb_age_ms = v->now_ms - v->info.heartbeat_ms;
	/* A clock stepped backwards is not a sign of a hung reeld. */
	if (v->hb_age_ms < 0)
		v->hb_age_ms = 0;
	v->stale = v->stuck || v->hb_age_ms > STAT_STALE_MS;
}

static void
stat_snapshot(const struct jobtab *jt, const char *path, struct stat_view *v)
{
	memset(v, 0, sizeof(*v));
	v->path = path;
	v->slot_count = jobtab_slot_count(jt);
	v->info_ok = jobtab_try_read_info(jt, &v->info) == 0;
	stat_collect(jt, v);
	v->now_ms = clock_realtime_ms();
	stat_liveness(v);
}

static int
stat_exit_code(const struct stat_view *v)
{
	return v->alive == 1 && !v->stale ? STAT_EXIT_OK : STAT_EXIT_STALE;
}

static void
stat_warn(const struct stat_view *v)
{
	char who[64] = "reeld";

	if (v->info_ok && v->info.pid > 0)
		snprintf(who, sizeof(who), "reeld (pid %d)", (int)v->info.pid);
	else if (v->info_ok)
		snprintf(who, sizeof(who), "reeld (no pid recorded)");
	fflush(stdout);
	if (v->alive == 0)
		fprintf(stderr, "reelstat: %s is not running; %s\n", who,
		    STAT_LAST_STATE);
	else if (v->stuck)
		fprintf(stderr,
		    "reelstat: %s is not responding: stopped in the "
		    "middle of an update; %s\n",
		    who, STAT_LAST_STATE);
	else if (v->stale)
		fprintf(stderr,
		    "reelstat: %s is not responding: heartbeat "
		    "%.1f s old; %s\n",
		    who, (double)v->hb_age_ms / 1000.0, STAT_LAST_STATE);
}

/* Queued jobs count from creation, the others from their start. */
static int64_t
stat_elapsed(const struct jobtab_job *j, int64_t now_ms)
{
	int64_t from = j->started_ms != 0 ? j->started_ms : j->created_ms;
	int64_t to = j->completed_ms != 0 ? j->completed_ms : now_ms;

	return to > from ? to - from : 0;
}

static const char *
stat_stage(uint8_t stage)
{
	return stage == STAGE_NONE ? "-" : stage_name((enum stage)stage);
}

static void
stat_print_header(const struct stat_view *v)
{
	const struct jobtab_info *in = &v->info;
	char up[32], age[32];

	if (!v->info_ok) {
		printf("reeld: header unreadable (stopped mid-update); "
		       "%zu of %u slots in use\n",
		    v->nrows, v->slot_count);
		return;
	}
	table_duration(up, sizeof(up), v->now_ms - in->start_ms);
	table_duration(age, sizeof(age), v->hb_age_ms);
	printf("reeld pid %d %s, up %s, heartbeat %s ago; %zu of %u slots "
	       "in use\n",
	    (int)in->pid, v->alive ? "running" : "not running", up, age,
	    v->nrows, v->slot_count);
	printf("jobs: submitted %llu, completed %llu, failed %llu, "
	       "cancelled %llu, queued %llu, running %llu\n",
	    (unsigned long long)in->submitted,
	    (unsigned long long)in->completed, (unsigned long long)in->failed,
	    (unsigned long long)in->cancelled,
	    (unsigned long long)in->queue_depth,
	    (unsigned long long)in->running);
}

/* "stage: message", or "" when the job carries no error. */
static void
stat_error_text(char *buf, size_t size, const struct jobtab_job *j)
{
	if (j->error_stage == STAGE_NONE)
		snprintf(buf, size, "%s", j->error);
	else
		snprintf(
		    buf, size, "%s: %s", stage_name(j->error_stage), j->error);
}

/*
 * The columns fill 79 characters; the error text, when there is one, gets
 * a line of its own below the row, cut to the terminal's width.
 */
#define STAT_ROW_FMT "%-16s %-10s %-17s %-17s %7s %7s\n"
#define STAT_ERROR_INDENT "    error: "

static void
stat_print_error(const struct jobtab_job *j, int term_cols)
{
	char err[sizeof(j->error) + 32], cell[sizeof(err)];
	int cols = 0;

	stat_error_text(err, sizeof(err), j);
	if (err[0] == '\0')
		return;
	if (term_cols > 0) {
		cols = term_cols - (int)strlen(STAT_ERROR_INDENT);
		if (cols < STAT_ERROR_MIN_COLS)
			cols = STAT_ERROR_MIN_COLS;
	}
	table_cell(cell, sizeof(cell), err, (size_t)cols);
	printf(STAT_ERROR_INDENT "%s\n", cell);
}

static void
stat_print_row(const struct stat_row *r, int64_t now_ms, int term_cols)
{
	const struct jobtab_job *j = &r->job;
	char id[sizeof(j->job_id)], bar[64], el[32], pid[16];

	table_cell(id, sizeof(id), j->job_id, 0);
	table_progress(bar, sizeof(bar), j->progress, STAT_BAR_WIDTH);
	table_duration(el, sizeof(el), stat_elapsed(j, now_ms));
	snprintf(pid, sizeof(pid), "%d", (int)j->worker_pid);
	printf(STAT_ROW_FMT, id, job_status_name((enum job_status)j->status),
	    stat_stage(j->stage), bar, el, j->worker_pid != 0 ? pid : "-");
	stat_print_error(j, term_cols);
}

static void
stat_print_text(const struct stat_view *v)
{
	int term_cols = table_term_width(STDOUT_FILENO);

	stat_print_header(v);
	if (v->unreadable > 0)
		printf(
		    "%u slot(s) unreadable: held mid-update\n", v->unreadable);
	if (v->nrows == 0) {
		printf("no jobs in the table\n");
		return;
	}
	printf("\n" STAT_ROW_FMT, "JOB", "STATUS", "STAGE", "PROGRESS",
	    "ELAPSED", "WORKER");
	for (size_t i = 0; i < v->nrows; i++)
		stat_print_row(&v->rows[i], v->now_ms, term_cols);
}

/* Slot strings are bytes; JSON wants UTF-8, so others become '?'. */
static json_t *
stat_json_str(const char *s)
{
	char buf[JOBTAB_ERROR_SIZE];
	json_t *js;
	size_t i;

	if ((js = json_string(s)) != NULL)
		return js;
	for (i = 0; s[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	buf[i] = '\0';
	return json_string(buf);
}

static json_t *
stat_json_id(const char *s)
{
	return s[0] != '\0' ? stat_json_str(s) : json_null();
}

static json_t *
stat_json_ms(int64_t ms)
{
	return ms != 0 ? json_integer(ms) : json_null();
}

static json_t *
stat_json_error(const struct jobtab_job *j)
{
	if (j->error[0] == '\0' && j->error_stage == STAGE_NONE)
		return json_null();
	return json_pack("{s:o, s:o}", "stage",
	    j->error_stage == STAGE_NONE
		? json_null()
		: json_string(stage_name(j->error_stage)),
	    "message", stat_json_str(j->error));
}

static json_t *
stat_json_job(const struct stat_row *r, int64_t now_ms)
{
	const struct jobtab_job *j = &r->job;
	json_t *o = json_object();

	json_object_set_new(o, "slot", json_integer(r->slot));
	json_object_set_new(o, "job_id", stat_json_str(j->job_id));
	json_object_set_new(o, "video_id", stat_json_id(j->video_id));
	json_object_set_new(o, "template_id", stat_json_id(j->template_id));
	json_object_set_new(o, "status",
	    json_string(job_status_name((enum job_status)j->status)));
	json_object_set_new(o, "stage",
	    j->stage == STAGE_NONE ? json_null()
				   : json_string(stage_name(j->stage)));
	json_object_set_new(o, "progress", json_integer(j->progress));
	json_object_set_new(o, "template_only", json_boolean(j->template_only));
	json_object_set_new(o, "worker_pid",
	    j->worker_pid != 0 ? json_integer(j->worker_pid) : json_null());
	json_object_set_new(o, "created_ms", json_integer(j->created_ms));
	json_object_set_new(o, "updated_ms", json_integer(j->updated_ms));
	json_object_set_new(o, "started_ms", stat_json_ms(j->started_ms));
	json_object_set_new(o, "completed_ms", stat_json_ms(j->completed_ms));
	json_object_set_new(
	    o, "elapsed_ms", json_integer(stat_elapsed(j, now_ms)));
	json_object_set_new(o, "error", stat_json_error(j));
	return o;
}

static json_t *
stat_json_reeld(const struct stat_view *v)
{
	const struct jobtab_info *in = &v->info;

	if (!v->info_ok)
		return json_pack("{s:n, s:n, s:b, s:b}", "pid", "alive",
		    "stale", 1, "stuck", 1);
	return json_pack("{s:i, s:b, s:b, s:b, s:I, s:I, s:I, s:I}", "pid",
	    (int)in->pid, "alive", v->alive == 1, "stale", v->stale, "stuck",
	    v->stuck, "start_ms", (json_int_t)in->start_ms, "uptime_ms",
	    (json_int_t)(v->now_ms - in->start_ms), "heartbeat_ms",
	    (json_int_t)in->heartbeat_ms, "heartbeat_age_ms",
	    (json_int_t)v->hb_age_ms);
}

static json_t *
stat_json_counters(const struct stat_view *v)
{
	const struct jobtab_info *in = &v->info;

	if (!v->info_ok)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "submitted",
	    (json_int_t)in->submitted, "completed", (json_int_t)in->completed,
	    "failed", (json_int_t)in->failed, "cancelled",
	    (json_int_t)in->cancelled, "queued", (json_int_t)in->queue_depth,
	    "running", (json_int_t)in->running);
}

static int
stat_print_json(const struct stat_view *v, bool compact)
{
	size_t flags = compact ? JSON_COMPACT : JSON_INDENT(2);
	json_t *root, *jobs = json_array();
	char *text;

	for (size_t i = 0; i < v->nrows; i++)
		json_array_append_new(
		    jobs, stat_json_job(&v->rows[i], v->now_ms));
	root = json_pack("{s:I, s:{s:o, s:I, s:I, s:I}, s:o, s:o, s:o}",
	    "now_ms", (json_int_t)v->now_ms, "table", "path",
	    stat_json_str(v->path), "slot_count", (json_int_t)v->slot_count,
	    "slots_in_use", (json_int_t)v->nrows, "unreadable_slots",
	    (json_int_t)v->unreadable, "reeld", stat_json_reeld(v), "counters",
	    stat_json_counters(v), "jobs", jobs);
	text = root == NULL ? NULL : json_dumps(root, flags);
	json_decref(root);
	if (text == NULL) {
		fprintf(stderr, "reelstat: cannot build JSON output\n");
		return -1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

/* One look at the table: returns the exit code it deserves. */
static int
stat_show(const struct stat_opts *o)
{
	struct stat_view v;
	struct jobtab *jt;
	char err[PATH_MAX + 128];
	int rc;

	if (o->watch > 0 && !o->json)
		printf(STAT_CLEAR);
	if ((jt = jobtab_open_ro(o->path, err, sizeof(err))) == NULL) {
		fflush(stdout);
		fprintf(stderr, "reelstat: %s\n", err);
		return STAT_EXIT_ERROR;
	}
	stat_snapshot(jt, o->path, &v);
	jobtab_close(jt);
	rc = stat_exit_code(&v);
	stat_warn(&v);
	if (o->json) {
		if (stat_print_json(&v, o->watch > 0) == -1)
			rc = STAT_EXIT_ERROR;
	} else
		stat_print_text(&v);
	fflush(stdout);
	free(v.rows);
	return rc;
}

static void
stat_on_signal(int sig)
{
	(void)sig;
	stat_quit = 1;
}

/*
 * Reopens the table on every refresh: a restarted reeld renames a new file
 * into place, and the old mapping would show the dead instance forever.
 */
static int
stat_watch(const struct stat_opts *o)
{
	struct sigaction sa;
	struct timespec ts;
	int rc = STAT_EXIT_OK;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stat_on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal has to cut the sleep short. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ts.tv_sec = (time_t)o->watch;
	ts.tv_nsec = (long)((o->watch - (double)ts.tv_sec) * 1e9);
	while (!stat_quit) {
		rc = stat_show(o);
		if (!stat_quit)
			nanosleep(&ts, NULL);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	log_init(0, "reelstat");
	if ((rc = stat_parse_args(&o, argc, argv)) != 0)
		return rc == 1 ? STAT_EXIT_OK : STAT_EXIT_ERROR;
	if (o.watch > 0)
		return stat_watch(&o);
	return stat_show(&o);
}
