/* The benchmarks' reeld (see bench_reeld.h). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_reeld.h"
#include "util.h"

extern char **environ;

/* Connection attempts while reeld starts, and the pause between them. */
#define BENCH_CONNECT_TRIES 200
#define BENCH_CONNECT_PAUSE_US 20000

static struct client_conn conn;
static pid_t reeld_pid = -1;

void
bench_die(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s%s%s\n", program_invocation_short_name, what,
	    detail ? ": " : "", detail ? detail : "");
	if (reeld_pid > 0)
		kill(reeld_pid, SIGTERM);
	exit(1);
}

/* Options beyond the directories, the worker and the slot. */
#define BENCH_MORE_MAX 8

pid_t
bench_reeld_start(const char *bin, const char *worker, const char *run_dir,
    const char *state_dir, const char *log_path, char *const more[])
{
	char reeld[512], worker_path[512], sock[512], err[256];
	char *argv[10 + BENCH_MORE_MAX] = {reeld, "--runtime-dir",
	    (char *)run_dir, "--state-dir", (char *)state_dir, "--worker-path",
	    worker_path, "--slots", "1"};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int i;

	for (i = 0; more != NULL && more[i] != NULL; i++) {
		if (i == BENCH_MORE_MAX)
			bench_die("too many reeld options", more[i]);
		argv[9 + i] = more[i];
	}
	snprintf(reeld, sizeof(reeld), "%s/reeld", bin);
	snprintf(worker_path, sizeof(worker_path), "%s/%s", bin, worker);
	snprintf(sock, sizeof(sock), "%s/reeld.sock", run_dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(
	    &fa, STDERR_FILENO, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (posix_spawn(&pid, reeld, &fa, NULL, argv, environ) != 0)
		bench_die("cannot start", reeld);
	reeld_pid = pid;
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < BENCH_CONNECT_TRIES; i++) {
		if (client_connect(&conn, sock, err, sizeof(err)) == 0)
			return pid;
		usleep(BENCH_CONNECT_PAUSE_US);
	}
	bench_die("reeld did not start", err);
}

void
bench_reeld_stop(void)
{
	client_disconnect(&conn);
	if (reeld_pid > 0) {
		kill(reeld_pid, SIGTERM);
		waitpid(reeld_pid, NULL, 0);
	}
	reeld_pid = -1;
}

json_t *
bench_call(struct msg *req)
{
	struct msg resp;
	char err[256];
	json_t *data;

	if (client_request(&conn, req, &resp, err, sizeof(err)) != 0)
		bench_die("request failed", err);
	if (!resp.u.response.success)
		bench_die(
		    resp.u.response.message, resp.u.response.error_detail);
	data = json_incref(resp.u.response.data);
	msg_clear(&resp);
	return data;
}

void
bench_upload(const char *path, char id[REEL_ID_SIZE])
{
	const char *base = strrchr(path, '/');
	struct msg req;
	json_t *data;

	msg_init(&req, MSG_UPLOAD);
	if ((req.fd = open(path, O_RDONLY)) < 0)
		bench_die("cannot open", path);
	str_copy(req.u.upload.filename, base != NULL ? base + 1 : path,
	    MSG_FILENAME_SIZE);
	data = bench_call(&req);
	close(req.fd);
	str_copy(id, json_string_value(json_object_get(data, "video_id")),
	    REEL_ID_SIZE);
	json_decref(data);
}

json_t *
bench_wait(const char *job, long poll_ms, enum job_status *status)
{
	struct timespec nap = {poll_ms / 1000, (poll_ms % 1000) * 1000000L};
	struct msg req;
	json_t *data;

	for (;;) {
		msg_init(&req, MSG_STATUS);
		str_copy(req.u.job_ref.job_id, job, REEL_ID_SIZE);
		data = bench_call(&req);
		if (job_status_parse(
			json_string_value(json_object_get(data, "status")),
			status) != 0)
			bench_die("unknown status", NULL);
		if (job_status_terminal(*status))
			return data;
		json_decref(data);
		nanosleep(&nap, NULL);
	}
}
