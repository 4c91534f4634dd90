/*
 * reel-httpd: the documented HTTP API in front of reeld (docs/httpd.md).
 * It faces the network and holds no job state: every request becomes a
 * call of reeld over reeld.sock, or a read of reeld's shared job table.
 * It never forks. libmicrohttpd runs one thread per connection, bounded
 * by --max-connections and timed out by --timeout; the main thread only
 * waits for signals (SIGHUP re-reads the token file).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "backend.h"
#include "events.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "router.h"
#include "shmview.h"
#include "upload.h"
#include "util.h"

struct options {
	const char *listen;
	unsigned port;
	const char *token_file;
	const char *runtime_dir;
	const char *upload_dir;
	const char *cors;
	unsigned max_file_size_mb;
	unsigned max_connections;
	unsigned per_ip_connections;
	unsigned timeout_s;
	int verbose;
};

/* What one request carries between libmicrohttpd's calls. */
struct request {
	struct route_match route;
	struct auth_identity who;
	bool answered;
	struct upload *upload;
	char *body;
	size_t body_len;
	bool body_too_large;
};

static struct options opts = {
    .listen = "127.0.0.1",
    .port = 8000,
    .upload_dir = "/var/tmp",
    .max_file_size_mb = 1000,
    .max_connections = 512,
    .per_ip_connections = 64,
    .timeout_s = 30,
};

static __dead void
usage(void)
{
	fprintf(stderr,
	    "usage: reel-httpd [-v] [--listen ADDR] [--port N] "
	    "[--token-file PATH]\n"
	    "                  [--runtime-dir DIR] [--upload-dir DIR] "
	    "[--cors-origins LIST]\n"
	    "                  [--max-file-size-mb MB] [--max-connections "
	    "N]\n"
	    "                  [--per-ip-connections N] [--timeout S]\n");
	exit(64);
}

static unsigned
number_arg(const char *name, const char *arg, unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		fatalx("--%s %s: expected a whole number from %u to %u", name,
		    arg, min, max);
	return (unsigned)v;
}

static void
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"token-file", required_argument, NULL, 't'},
	    {"runtime-dir", required_argument, NULL, 'r'},
	    {"upload-dir", required_argument, NULL, 'u'},
	    {"cors-origins", required_argument, NULL, 'c'},
	    {"max-file-size-mb", required_argument, NULL, 'm'},
	    {"max-connections", required_argument, NULL, 'n'},
	    {"per-ip-connections", required_argument, NULL, 'i'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			opts.listen = optarg;
			break;
		case 'p':
			opts.port = number_arg("port", optarg, 0, 65535);
			break;
		case 't':
			opts.token_file = optarg;
			break;
		case 'r':
			opts.runtime_dir = optarg;
			break;
		case 'u':
			opts.upload_dir = optarg;
			break;
		case 'c':
			opts.cors = optarg;
			break;
		case 'm':
			opts.max_file_size_mb =
			    number_arg("max-file-size-mb", optarg, 1, 1 << 20);
			break;
		case 'n':
			opts.max_connections =
			    number_arg("max-connections", optarg, 1, 65536);
			break;
		case 'i':
			opts.per_ip_connections =
			    number_arg("per-ip-connections", optarg, 1, 65536);
			break;
		case 'T':
			opts.timeout_s = number_arg("timeout", optarg, 1, 3600);
			break;
		case 'v':
			opts.verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* Without a token file, one shared owner: the API is open on loopback. */
static int
authenticate(struct MHD_Connection *c, struct request *rq)
{
	if (opts.token_file == NULL) {
		str_copy(rq->who.user, "anonymous", sizeof(rq->who.user));
		rq->who.admin = false;
		return 0;
	}
	return auth_check(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			      MHD_HTTP_HEADER_AUTHORIZATION),
	    &rq->who);
}

static enum MHD_Result
reply_routing(struct MHD_Connection *c, enum router_verdict v,
    const struct route_match *m, const char *url)
{
	char detail[ROUTER_PATH_MAX + 64];

	switch (v) {
	case ROUTER_METHOD_NOT_ALLOWED:
		snprintf(
		    detail, sizeof(detail), "%.256s allows %s", url, m->allow);
		return reply_method_not_allowed(c, m->allow, detail);
	case ROUTER_BAD_ID:
		return reply_error(c, ERR_JOB_NOT_FOUND,
		    "The specified job could not be found.",
		    "a job id is job_ and 12 lowercase hex digits");
	case ROUTER_TOO_LONG:
		return reply_error_status(c, MHD_HTTP_URI_TOO_LONG,
		    ERR_INVALID_REQUEST, "URI too long.",
		    "paths are at most 256 bytes");
	default:
		snprintf(detail, sizeof(detail), "no route %.256s", url);
		return reply_error(c, ERR_NOT_FOUND, "Not found.", detail);
	}
}

static bool
content_type_is(struct MHD_Connection *c, const char *want)
{
	const char *t = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen(want);

	return t != NULL && strncasecmp(t, want, n) == 0 &&
	       (t[n] == '\0' || t[n] == ';' || t[n] == ' ');
}

/*
 * The first call: route, authenticate, and get ready for a body. Sets
 * rq->answered when it has answered already.
 */
static enum MHD_Result
request_start(struct MHD_Connection *c, struct request *rq, const char *url,
    const char *method)
{
	enum router_verdict v = router_match(method, url, &rq->route);
	enum MHD_Result rc = MHD_YES;

	rq->answered = true;
	if (v != ROUTER_OK)
		return reply_routing(c, v, &rq->route, url);
	if (rq->route.route != ROUTE_HEALTH && authenticate(c, rq) != 0)
		return reply_unauthorized(c);
	/* Counters span every owner's jobs: an admin's to read. */
	if (rq->route.route == ROUTE_METRICS && opts.token_file != NULL &&
	    !rq->who.admin)
		return reply_error(c, ERR_FORBIDDEN, "Forbidden.",
		    "/metrics needs an admin token");
	if (rq->route.route == ROUTE_UPLOAD) {
		rq->upload = upload_begin(c, opts.upload_dir,
		    (uint64_t)opts.max_file_size_mb << 20, &rc);
		rq->answered = rq->upload == NULL;
		return rc;
	}
	if (rq->route.route == ROUTE_JOBS_CREATE &&
	    !content_type_is(c, "application/json"))
		return reply_error(c, ERR_UNSUPPORTED_MEDIA_TYPE,
		    "The body must be application/json.",
		    "POST /jobs takes a JSON object");
	rq->answered = false;
	return MHD_YES;
}

static void
request_body(struct request *rq, const char *data, size_t len)
{
	if (rq->upload != NULL) {
		upload_feed(rq->upload, data, len);
		return;
	}
	if (rq->body_too_large || rq->body_len + len > API_JSON_MAX) {
		rq->body_too_large = true;
		return;
	}
	rq->body = xreallocarray(rq->body, rq->body_len + len + 1, 1);
	memcpy(rq->body + rq->body_len, data, len);
	rq->body_len += len;
}

/* The body is complete: the route's answer. */
static enum MHD_Result
request_answer(struct MHD_Connection *c, struct request *rq)
{
	const struct route_match *m = &rq->route;

	switch (m->route) {
	case ROUTE_HEALTH:
		return api_health(c);
	case ROUTE_UPLOAD:
		return upload_finish(c, rq->upload, &rq->who);
	case ROUTE_JOBS_CREATE:
		if (rq->body_too_large)
			return reply_error(c, ERR_REQUEST_TOO_LARGE,
			    "The request body is too large.",
			    "POST /jobs takes at most 65536 bytes");
		return api_job_create(c, &rq->who,
		    rq->body != NULL ? rq->body : "", rq->body_len);
	case ROUTE_JOBS_LIST:
		return api_job_list(c, &rq->who);
	case ROUTE_METRICS:
		return metrics_reply(c);
	case ROUTE_JOB_STATUS:
		return api_job_status(c, &rq->who, m->job_id);
	case ROUTE_JOB_EVENTS:
		return events_reply(c, &rq->who, m->job_id);
	case ROUTE_JOB_ARTIFACT:
		return api_job_artifact(c, &rq->who, m->job_id, m->artifact);
	case ROUTE_JOB_RESULT:
	case ROUTE_JOB_CANCEL:
	case ROUTE_JOB_REDELIVER:
		return api_job_call(c, &rq->who, m->route, m->job_id);
	default:
		return reply_error(c, ERR_NOT_FOUND, "Not found.", "no route");
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_size, void **con_cls)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)version;
	if (rq == NULL) {
		rq = xcalloc(1, sizeof(*rq));
		*con_cls = rq;
		return request_start(c, rq, url, method);
	}
	if (rq->answered) {
		*data_size = 0;
		return MHD_YES;
	}
	if (*data_size != 0) {
		request_body(rq, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	rq->answered = true;
	return request_answer(c, rq);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	upload_free(rq->upload);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static void
on_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_warnx("libmicrohttpd: %s", line);
}

static void
listen_address(struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, opts.listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)opts.port);
	} else if (inet_pton(AF_INET6, opts.listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)opts.port);
	} else {
		fatalx("--listen %s: not an IPv4 or IPv6 address", opts.listen);
	}
}

static bool
address_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)
				  ->sin_addr.s_addr) >>
			   24) == 127;
	return IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static void
load_tokens(bool at_start)
{
	char err[512];

	if (auth_load(opts.token_file, err, sizeof(err)) == 0) {
		log_info("%zu tokens from %s", auth_count(), opts.token_file);
		return;
	}
	if (at_start)
		fatalx("--token-file %s", err);
	log_warnx("token file not reloaded, keeping %zu tokens: %s",
	    auth_count(), err);
}

static void
check_exposure(const struct sockaddr_storage *ss)
{
	if (opts.token_file != NULL) {
		load_tokens(true);
		return;
	}
	if (!address_is_loopback(ss))
		fatalx("--listen %s without --token-file: without tokens "
		       "reel-httpd listens only on loopback",
		    opts.listen);
	log_warnx("no --token-file: every request is user 'anonymous', and "
		  "only this host can connect (%s)",
	    opts.listen);
}

static struct MHD_Daemon *
start_daemon(const struct sockaddr_storage *ss)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, (uint16_t)opts.port, NULL, NULL,
	    on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
	    MHD_OPTION_SOCK_ADDR, ss, MHD_OPTION_CONNECTION_LIMIT,
	    opts.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    opts.per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    opts.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    NULL, MHD_OPTION_END);
}

static void
paths_init(void)
{
	char path[4096];
	const char *dir = runtime_dir_default(opts.runtime_dir);

	snprintf(path, sizeof(path), "%s/%s", dir, REEL_SOCKET_NAME);
	backend_init(path);
	snprintf(path, sizeof(path), "%s/%s", dir, REEL_JOBTAB_NAME);
	shmview_init(path);
}

/* The main thread waits for signals; every request runs elsewhere. */
static void
serve(struct MHD_Daemon *d)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP && opts.token_file != NULL) {
			load_tokens(false);
			continue;
		}
		if (sig != SIGHUP)
			break;
	}
	log_info("stopping");
	MHD_stop_daemon(d);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	sigset_t set;

	parse_options(argc, argv);
	log_init(opts.verbose, "reel-httpd");
	listen_address(&ss);
	check_exposure(&ss);
	paths_init();
	reply_set_cors(opts.cors);
	/* Blocked before any thread starts, so only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((d = start_daemon(&ss)) == NULL)
		fatalx("cannot listen on %s port %u", opts.listen, opts.port);
	log_info("listening on %s port %u", opts.listen,
	    (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	serve(d);
	auth_free();
	return 0;
}
