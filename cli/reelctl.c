/*
 * reelctl: the command-line client of reeld. See docs/reelctl.md.
 *
 * Exit codes: 0 success; 1 reeld answered with an error; 2 usage;
 * 3 cannot reach reeld or it broke the protocol; 4 the job failed;
 * 5 the job was cancelled; 6 a local file could not be read or written.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "contract.h"
#include "table.h"
#include "util.h"

enum {
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_TRANSPORT = 3,
	EXIT_JOB_FAILED = 4,
	EXIT_JOB_CANCELLED = 5,
	EXIT_LOCAL = 6,
};

#define WAIT_POLL_MS 100

static bool opt_json;
static const char *opt_socket;
static struct client_conn conn;
static bool connected;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: reelctl [--json] [--socket PATH] COMMAND [ARGS]\n"
	    "  upload FILE\n"
	    "  submit --video V [--template V] [--template-only] "
	    "[--webhook URL]\n"
	    "         [--config KEY=VALUE]...\n"
	    "  status JOB [--webhooks]\n"
	    "  list [--status S] [--page N] [--page-size N]\n"
	    "  cancel JOB\n"
	    "  wait JOB\n"
	    "  webhook redeliver JOB\n"
	    "  result JOB [--output FILE] [--style FILE] [--contact FILE]\n"
	    "         [--cube FILE] [--plan FILE] [--report FILE]\n"
	    "  run SOURCE --template TEMPLATE -o OUT [--template-only] "
	    "[--config KEY=VALUE]...\n");
	exit(EXIT_USAGE);
}

static void __attribute__((__noreturn__, __format__(__printf__, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "reelctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Sends req; exits on transport errors. The caller clears *resp. */
static void
request(const struct msg *req, struct msg *resp)
{
	char err[512];

	if (!connected) {
		if (client_connect(&conn, client_socket_path(opt_socket), err,
			sizeof(err)) != 0)
			die(EXIT_TRANSPORT, "%s", err);
		connected = true;
	}
	if (client_request(&conn, req, resp, err, sizeof(err)) != 0)
		die(EXIT_TRANSPORT, "%s", err);
}

static void
print_envelope(const struct msg_response *r)
{
	json_t *env = client_envelope(r);

	json_dumpf(env, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	json_decref(env);
}

/* An error envelope ends the command: printed, exit 1. */
static void
check_response(struct msg *resp)
{
	const struct msg_response *r = &resp->u.response;

	if (r->success)
		return;
	if (opt_json)
		print_envelope(r);
	else
		fprintf(stderr, "reelctl: %s (%s): %s\n", r->message,
		    r->error_code, r->error_detail);
	exit(EXIT_ERROR);
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static void
done_ok(struct msg *resp, void (*plain)(const json_t *data))
{
	if (opt_json)
		print_envelope(&resp->u.response);
	else
		plain(resp->u.response.data);
	msg_clear(resp);
}

static void
plain_id_video(const json_t *data)
{
	printf("%s\n", jstr(data, "video_id"));
}

static void
plain_id_job(const json_t *data)
{
	printf("%s\n", jstr(data, "job_id"));
}

static void
plain_job(const json_t *j)
{
	const json_t *err = json_object_get(j, "error");

	printf("job_id:     %s\n", jstr(j, "job_id"));
	printf("status:     %s\n", jstr(j, "status"));
	printf("progress:   %lld%%\n",
	    (long long)json_integer_value(
		json_object_get(j, "progress_percent")));
	printf("stage:      %s\n", jstr(j, "current_stage"));
	printf("video:      %s\n", jstr(j, "video_id"));
	printf("template:   %s\n", jstr(j, "template_video_id"));
	printf("created:    %s\n", jstr(j, "created_at"));
	printf("started:    %s\n", jstr(j, "started_at"));
	printf("completed:  %s\n", jstr(j, "completed_at"));
	if (err != NULL)
		printf("error:      %s: %s (%s)\n", jstr(err, "stage"),
		    jstr(err, "message"), jstr(err, "code"));
	if (json_object_get(j, "output_video_url") != NULL)
		printf("output:     %s\n", jstr(j, "output_video_url"));
}

/* o[a][b] as a number; NAN when absent or null. */
static double
jnum(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(json_object_get(o, a), b);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The style-match report in a few lines (docs/stages/report.md). */
static void
plain_report(const json_t *rep)
{
	const json_t *col = json_object_get(rep, "colour");
	const json_t *beats = json_object_get(rep, "beats");

	if (json_is_object(col))
		printf("colour:     CIE76 %.2f -> %.2f (%.0f%% closer), "
		       "CIEDE2000 %.2f -> %.2f\n",
		    jnum(col, "cie76", "before"), jnum(col, "cie76", "after"),
		    100.0 * jnum(col, "cie76", "reduction"),
		    jnum(col, "ciede2000", "before"),
		    jnum(col, "ciede2000", "after"));
	printf("cuts:       template %.1f/min, planned %.1f/min, delivered "
	       "%.1f/min\n",
	    jnum(rep, "cuts", "template_per_min"),
	    jnum(rep, "cuts", "planned_per_min"),
	    jnum(rep, "cuts", "delivered_per_min"));
	if (json_is_object(beats))
		printf("beats:      %lld of %lld cuts on a beat\n",
		    (long long)json_integer_value(
			json_object_get(beats, "cuts_on_beat")),
		    (long long)json_integer_value(
			json_object_get(beats, "cuts")));
	if (json_is_object(json_object_get(rep, "loudness")))
		printf("loudness:   %.2f LUFS (target %.2f), true peak %.2f "
		       "dBTP (limit %.1f)\n",
		    jnum(rep, "loudness", "integrated_lufs"),
		    jnum(rep, "loudness", "target_lufs"),
		    jnum(rep, "loudness", "true_peak_dbtp"),
		    jnum(rep, "loudness", "true_peak_limit_dbtp"));
	printf("decode:     %.0f of %.0f packets lost\n",
	    jnum(rep, "decode", "lost"), jnum(rep, "decode", "packets"));
}

static void
plain_result(const json_t *j)
{
	const json_t *rep = json_object_get(j, "report");

	plain_job(j);
	if (json_is_object(rep))
		plain_report(rep);
}

static void
upload_file(const char *path, struct msg *resp)
{
	struct msg req;
	const char *base = strrchr(path, '/');
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die(EXIT_LOCAL, "%s: %s", path, strerror(errno));
	msg_init(&req, MSG_UPLOAD);
	req.fd = fd;
	str_copy(req.u.upload.filename, base != NULL ? base + 1 : path,
	    sizeof(req.u.upload.filename));
	request(&req, resp);
	close(fd);
	check_response(resp);
}

static int
cmd_upload(int argc, char **argv)
{
	struct msg resp;

	if (argc != 2)
		usage();
	upload_file(argv[1], &resp);
	done_ok(&resp, plain_id_video);
	return 0;
}

static void
add_config(struct msg_submit *s, const char *arg)
{
	const char *eq = strchr(arg, '=');
	unsigned i = s->config.count;

	if (eq == NULL || eq == arg)
		die(EXIT_USAGE, "--config wants KEY=VALUE, not '%s'", arg);
	if (i >= MSG_CONFIG_MAX)
		die(EXIT_USAGE, "at most %d --config pairs", MSG_CONFIG_MAX);
	if ((size_t)(eq - arg) >= MSG_CONFIG_KEY_SIZE ||
	    strlen(eq + 1) >= MSG_CONFIG_VALUE_SIZE)
		die(EXIT_USAGE, "--config key or value too long: '%s'", arg);
	memcpy(s->config.kv[i].key, arg, eq - arg);
	str_copy(s->config.kv[i].value, eq + 1, MSG_CONFIG_VALUE_SIZE);
	s->config.count++;
}

static void
set_field(char *dst, size_t size, const char *what, const char *val)
{
	if (str_copy(dst, val, size) != 0)
		die(EXIT_USAGE, "%s too long", what);
}

static const struct option submit_opts[] = {
    {"video", required_argument, NULL, 'V'},
    {"template", required_argument, NULL, 't'},
    {"template-only", no_argument, NULL, 'T'},
    {"webhook", required_argument, NULL, 'w'},
    {"config", required_argument, NULL, 'c'},
    {"output", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

/*
 * Options shared by submit and run. --template is an id for submit and a
 * file for run, so it comes back through *template; -o is run's output.
 */
static const char *
parse_submit(int argc, char **argv, struct msg_submit *s, const char **template)
{
	const char *out = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", submit_opts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			set_field(s->video_id, sizeof(s->video_id), "--video",
			    optarg);
			break;
		case 't':
			*template = optarg;
			break;
		case 'T':
			s->template_only = true;
			break;
		case 'w':
			set_field(s->webhook_url, sizeof(s->webhook_url),
			    "--webhook", optarg);
			break;
		case 'c':
			add_config(s, optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	return out;
}

static int
cmd_submit(int argc, char **argv)
{
	struct msg req, resp;
	const char *template = NULL;

	msg_init(&req, MSG_SUBMIT);
	if (parse_submit(argc, argv, &req.u.submit, &template) != NULL ||
	    optind != argc || req.u.submit.video_id[0] == '\0')
		usage();
	if (template != NULL)
		set_field(req.u.submit.template_id,
		    sizeof(req.u.submit.template_id), "--template", template);
	request(&req, &resp);
	check_response(&resp);
	done_ok(&resp, plain_id_job);
	return 0;
}

static void
job_request(enum msg_type type, const char *job_id, struct msg *resp)
{
	struct msg req;

	msg_init(&req, type);
	set_field(
	    req.u.job_ref.job_id, sizeof(req.u.job_ref.job_id), "JOB", job_id);
	request(&req, resp);
	check_response(resp);
}

static void
plain_attempt(const json_t *a)
{
	long long status =
	    json_integer_value(json_object_get(a, "http_status"));

	printf("    attempt %lld at %s: ",
	    (long long)json_integer_value(json_object_get(a, "attempt")),
	    jstr(a, "at"));
	if (status != 0 && *jstr(a, "error") == '\0')
		printf("HTTP %lld\n", status);
	else
		printf("%s\n", jstr(a, "error"));
}

static void
plain_webhooks(const json_t *list)
{
	const json_t *d, *a;
	size_t i, k;

	if (json_array_size(list) == 0)
		printf("webhooks:   none\n");
	json_array_foreach(list, i, d)
	{
		printf("webhook:    %s %s after %lld attempts to %s\n",
		    jstr(d, "event"), jstr(d, "state"),
		    (long long)json_integer_value(
			json_object_get(d, "attempts")),
		    jstr(d, "url"));
		json_array_foreach(json_object_get(d, "history"), k, a)
		    plain_attempt(a);
	}
}

static void
plain_job_webhooks(const json_t *data)
{
	plain_job(data);
	plain_webhooks(json_object_get(data, "webhooks"));
}

/* --webhooks adds the job's webhook events to the status, in one view. */
static int
cmd_status(int argc, char **argv)
{
	struct msg resp, hooks;
	const char *job = NULL;
	bool webhooks = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--webhooks") == 0)
			webhooks = true;
		else if (job == NULL && argv[i][0] != '-')
			job = argv[i];
		else
			usage();
	}
	if (job == NULL)
		usage();
	job_request(MSG_STATUS, job, &resp);
	if (!webhooks) {
		done_ok(&resp, plain_job);
		return 0;
	}
	job_request(MSG_WEBHOOKS, job, &hooks);
	json_object_set(resp.u.response.data, "webhooks",
	    json_object_get(hooks.u.response.data, "webhooks"));
	msg_clear(&hooks);
	done_ok(&resp, plain_job_webhooks);
	return 0;
}

static void
plain_redelivered(const json_t *data)
{
	printf("redelivery of %s's webhook scheduled\n", jstr(data, "job_id"));
	plain_webhooks(json_object_get(data, "webhooks"));
}

static int
cmd_webhook(int argc, char **argv)
{
	struct msg resp;

	if (argc != 3 || strcmp(argv[1], "redeliver") != 0)
		usage();
	job_request(MSG_REDELIVER, argv[2], &resp);
	done_ok(&resp, plain_redelivered);
	return 0;
}

static int
cmd_cancel(int argc, char **argv)
{
	struct msg resp;

	if (argc != 2)
		usage();
	job_request(MSG_CANCEL, argv[1], &resp);
	done_ok(&resp, plain_job);
	return 0;
}

static unsigned
parse_uint(const char *what, const char *arg)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || arg[0] == '-' || v > 1000000)
		die(EXIT_USAGE, "%s wants a number, not '%s'", what, arg);
	return (unsigned)v;
}

static void
plain_list(const json_t *data)
{
	const json_t *jobs = json_object_get(data, "jobs"), *j;
	size_t i;

	printf("%-17s  %-10s  %4s  %-17s  %s\n", "JOB", "STATUS", "PCT",
	    "STAGE", "CREATED");
	json_array_foreach(jobs, i, j)
	{
		printf("%-17s  %-10s  %3lld%%  %-17s  %s\n", jstr(j, "job_id"),
		    jstr(j, "status"),
		    (long long)json_integer_value(
			json_object_get(j, "progress_percent")),
		    jstr(j, "current_stage"), jstr(j, "created_at"));
	}
	printf("page %lld, %lld of %lld jobs\n",
	    (long long)json_integer_value(json_object_get(data, "page")),
	    (long long)json_array_size(jobs),
	    (long long)json_integer_value(json_object_get(data, "total")));
}

static int
cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"status", required_argument, NULL, 's'},
	    {"page", required_argument, NULL, 'p'},
	    {"page-size", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	struct msg req, resp;
	int ch;

	msg_init(&req, MSG_LIST);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's')
			set_field(req.u.list.status, sizeof(req.u.list.status),
			    "--status", optarg);
		else if (ch == 'p')
			req.u.list.page = parse_uint("--page", optarg);
		else if (ch == 'n')
			req.u.list.page_size =
			    parse_uint("--page-size", optarg);
		else
			usage();
	}
	if (optind != argc)
		usage();
	request(&req, &resp);
	check_response(&resp);
	done_ok(&resp, plain_list);
	return 0;
}

/* One line per change when not on a terminal; a live bar when on one. */
static void
show_progress(
    const json_t *job, int64_t start_ms, bool tty, char *last, size_t lastlen)
{
	char bar[64], elapsed[32], line[256];
	int pct =
	    (int)json_integer_value(json_object_get(job, "progress_percent"));

	table_progress(bar, sizeof(bar), pct, TABLE_BAR_WIDTH);
	table_duration(
	    elapsed, sizeof(elapsed), clock_realtime_ms() - start_ms);
	if (tty) {
		fprintf(stderr, "\r\033[K%s %s  %-17s %s", jstr(job, "job_id"),
		    bar, jstr(job, "current_stage"), elapsed);
		fflush(stderr);
		return;
	}
	snprintf(line, sizeof(line), "%s %s %d%% %s", jstr(job, "job_id"),
	    jstr(job, "status"), pct, jstr(job, "current_stage"));
	if (strcmp(line, last) != 0) {
		printf("%s (%s)\n", line, elapsed);
		fflush(stdout);
		str_copy(last, line, lastlen);
	}
}

static int
exit_for_status(const char *status)
{
	if (strcmp(status, "failed") == 0)
		return EXIT_JOB_FAILED;
	if (strcmp(status, "cancelled") == 0)
		return EXIT_JOB_CANCELLED;
	return 0;
}

/* Polls until the job is terminal; returns the final STATUS response. */
static void
wait_job(const char *job_id, struct msg *resp)
{
	bool tty = !opt_json && isatty(STDERR_FILENO);
	int64_t start = clock_realtime_ms();
	struct timespec nap = {0, WAIT_POLL_MS * 1000000L};
	char last[256] = "";
	enum job_status st;

	for (;;) {
		job_request(MSG_STATUS, job_id, resp);
		if (job_status_parse(
			jstr(resp->u.response.data, "status"), &st) != 0)
			die(EXIT_TRANSPORT, "reeld sent an unknown status");
		if (!opt_json)
			show_progress(resp->u.response.data, start, tty, last,
			    sizeof(last));
		if (job_status_terminal(st))
			break;
		msg_clear(resp);
		nanosleep(&nap, NULL);
	}
	if (tty)
		fputc('\n', stderr);
}

static int
finish_wait(struct msg *resp)
{
	int code = exit_for_status(jstr(resp->u.response.data, "status"));
	const json_t *err = json_object_get(resp->u.response.data, "error");

	if (opt_json)
		print_envelope(&resp->u.response);
	else if (err != NULL)
		fprintf(stderr, "reelctl: %s failed: %s\n", jstr(err, "stage"),
		    jstr(err, "message"));
	msg_clear(resp);
	return code;
}

static int
cmd_wait(int argc, char **argv)
{
	struct msg resp;

	if (argc != 2)
		usage();
	wait_job(argv[1], &resp);
	return finish_wait(&resp);
}

/* Copies a read-only descriptor from reeld into path, atomically. */
static void
save_fd(int fd, const char *path)
{
	char tmp[4096], buf[65536];
	ssize_t n;
	int out;

	snprintf(tmp, sizeof(tmp), "%s.reelctl-tmp", path);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		die(EXIT_LOCAL, "%s: %s", tmp, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n)
			break;
	}
	if (n != 0 || close(out) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		die(EXIT_LOCAL, "%s: %s", path, strerror(errno));
	}
}

/* RESULT for job_id; with artifact, its descriptor is saved to dest. */
static void
fetch_result(const char *job_id, const char *artifact, const char *dest,
    struct msg *resp)
{
	struct msg req;

	msg_init(&req, MSG_RESULT);
	set_field(
	    req.u.result.job_id, sizeof(req.u.result.job_id), "JOB", job_id);
	if (artifact != NULL)
		set_field(req.u.result.artifact, sizeof(req.u.result.artifact),
		    "artifact", artifact);
	request(&req, resp);
	check_response(resp);
	if (artifact == NULL)
		return;
	if (resp->fd < 0)
		die(EXIT_TRANSPORT, "reeld sent no descriptor for %s",
		    artifact);
	save_fd(resp->fd, dest);
	close(resp->fd);
	resp->fd = -1;
}

static int
cmd_result(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"style", required_argument, NULL, 's'},
	    {"contact", required_argument, NULL, 'c'},
	    {"cube", required_argument, NULL, 'g'},
	    {"plan", required_argument, NULL, 'p'},
	    {"report", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	/* Option letter -> artifact name, in the order they are fetched. */
	static const struct {
		int opt;
		const char *artifact;
	} files[] = {
	    {'s', "style.json"},
	    {'o', "output.mp4"},
	    {'c', "contact.png"},
	    {'g', "grade.cube"},
	    {'p', "plan.json"},
	    {'r', "report.json"},
	};
	const char *dest[sizeof(files) / sizeof(files[0])] = {NULL};
	struct msg resp;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		bool known = false;

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			if (files[i].opt == ch) {
				dest[i] = optarg;
				known = true;
			}
		}
		if (!known)
			usage();
	}
	if (optind != argc - 1)
		usage();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (dest[i] == NULL)
			continue;
		fetch_result(argv[optind], files[i].artifact, dest[i], &resp);
		msg_clear(&resp);
	}
	fetch_result(argv[optind], NULL, NULL, &resp);
	done_ok(&resp, plain_result);
	return 0;
}

static void
upload_id(const char *path, char id[REEL_ID_SIZE])
{
	struct msg resp;

	upload_file(path, &resp);
	str_copy(id, jstr(resp.u.response.data, "video_id"), REEL_ID_SIZE);
	if (!opt_json)
		fprintf(stderr, "uploaded %s as %s\n", path, id);
	msg_clear(&resp);
}

static int
cmd_run(int argc, char **argv)
{
	struct msg req, resp;
	struct msg_submit *s = &req.u.submit;
	char job_id[REEL_ID_SIZE];
	const char *out, *template = NULL;
	int code;

	msg_init(&req, MSG_SUBMIT);
	out = parse_submit(argc, argv, s, &template);
	if (optind != argc - 1 || template == NULL || out == NULL)
		usage();
	upload_id(argv[optind], s->video_id);
	upload_id(template, s->template_id);
	request(&req, &resp);
	check_response(&resp);
	str_copy(job_id, jstr(resp.u.response.data, "job_id"), sizeof(job_id));
	msg_clear(&resp);
	wait_job(job_id, &resp);
	if ((code = finish_wait(&resp)) != 0)
		return code;
	fetch_result(
	    job_id, s->template_only ? "style.json" : "output.mp4", out, &resp);
	done_ok(&resp, plain_job);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"upload", cmd_upload},
    {"submit", cmd_submit},
    {"status", cmd_status},
    {"list", cmd_list},
    {"cancel", cmd_cancel},
    {"wait", cmd_wait},
    {"result", cmd_result},
    {"run", cmd_run},
    {"webhook", cmd_webhook},
};

/*
 * --json and --socket may stand before or after the command word: they are
 * taken out of argv first, and the rest goes to the command's own parser.
 */
static int
take_global_options(int argc, char **argv)
{
	int out = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			opt_json = true;
		} else if (strcmp(argv[i], "--socket") == 0) {
			if (i + 1 >= argc)
				usage();
			opt_socket = argv[++i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			opt_socket = argv[i] + 9;
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			usage();
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

int
main(int argc, char **argv)
{
	int code;

	argv++;
	argc = take_global_options(argc - 1, argv);
	if (argc < 1)
		usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		code = commands[i].run(argc, argv);
		if (connected)
			client_disconnect(&conn);
		return code;
	}
	fprintf(stderr, "reelctl: unknown command '%s'\n", argv[0]);
	usage();
}
