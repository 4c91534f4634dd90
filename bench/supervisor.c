/*
 * Supervisor benchmark. Starts a real reeld in temporary directories with
 * the scripted test worker and prints:
 *  - submit acknowledgement latency over the socket (p50, p99, max);
 *  - one status read through the shared-memory table against one STATUS
 *    round trip over the socket;
 *  - spawn to first message: spawner.c's fork+exec of a worker until its
 *    HELLO arrives, for the test worker and for the real reel-worker.
 * usage: bench/supervisor [BUILD_DIR]   (default: build)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_reeld.h"
#include "client.h"
#include "jobtab.h"
#include "spawner.h"
#include "util.h"

#define SUBMITS 2000
#define STATUS_READS 2000
#define SHM_READS 1000000
#define SPAWNS 100

extern char **environ;

static char dir[] = "/tmp/reel-bench.XXXXXX";
static char sock_path[256], run_dir[128], state_dir[128], log_path[256];

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
print_dist(const char *what, int64_t *us, int n)
{
	qsort(us, n, sizeof(*us), cmp_i64);
	printf("%-44s p50 %7.1f us  p99 %7.1f us  max %7.1f us  (n=%d)\n", what,
	    (double)us[n / 2], (double)us[n * 99 / 100], (double)us[n - 1], n);
}

/* reeld logs a line per job: the log keeps them out of the figures. */
static void
start_reeld(const char *bin)
{
	char *more[] = {"--table-slots", "4096", NULL};

	snprintf(log_path, sizeof(log_path), "%s/reeld.log", dir);
	bench_reeld_start(
	    bin, "tests/fake_worker", run_dir, state_dir, log_path, more);
}

static void
upload(struct client_conn *c, const char *file, char id[REEL_ID_SIZE])
{
	struct msg req, resp;
	char err[256];
	FILE *f = fopen(file, "w");

	fputs("bench", f);
	fclose(f);
	msg_init(&req, MSG_UPLOAD);
	req.fd = open(file, 0);
	str_copy(req.u.upload.filename, "bench.mp4", MSG_FILENAME_SIZE);
	if (client_request(c, &req, &resp, err, sizeof(err)) != 0 ||
	    !resp.u.response.success) {
		fprintf(stderr, "upload failed: %s\n", err);
		exit(1);
	}
	close(req.fd);
	str_copy(id,
	    json_string_value(
		json_object_get(resp.u.response.data, "video_id")),
	    REEL_ID_SIZE);
	msg_clear(&resp);
}

/* Submits jobs that stay queued behind one hanging job. */
static void
bench_submit(struct client_conn *c, const char *video, char *first_job)
{
	static int64_t us[SUBMITS];
	struct msg req, resp;
	char err[256];

	for (int i = 0; i < SUBMITS; i++) {
		msg_init(&req, MSG_SUBMIT);
		str_copy(req.u.submit.video_id, video, REEL_ID_SIZE);
		req.u.submit.config.count = 1;
		snprintf(req.u.submit.config.kv[0].key, MSG_CONFIG_KEY_SIZE,
		    "x-fake");
		snprintf(req.u.submit.config.kv[0].value, MSG_CONFIG_VALUE_SIZE,
		    "hang,n=%d", i);
		int64_t t0 = clock_monotonic_us();
		if (client_request(c, &req, &resp, err, sizeof(err)) != 0 ||
		    !resp.u.response.success) {
			fprintf(stderr, "submit %d failed: %s %s\n", i, err,
			    resp.u.response.error_detail);
			exit(1);
		}
		us[i] = clock_monotonic_us() - t0;
		if (i == 0)
			str_copy(first_job,
			    json_string_value(json_object_get(
				resp.u.response.data, "job_id")),
			    REEL_ID_SIZE);
		msg_clear(&resp);
	}
	print_dist("submit acknowledgement (socket round trip)", us, SUBMITS);
}

static void
bench_status(struct client_conn *c, const char *job)
{
	static int64_t us[STATUS_READS];
	struct msg req, resp;
	char err[256];

	for (int i = 0; i < STATUS_READS; i++) {
		msg_init(&req, MSG_STATUS);
		str_copy(req.u.job_ref.job_id, job, REEL_ID_SIZE);
		int64_t t0 = clock_monotonic_us();
		if (client_request(c, &req, &resp, err, sizeof(err)) != 0) {
			fprintf(stderr, "status failed: %s\n", err);
			exit(1);
		}
		us[i] = clock_monotonic_us() - t0;
		msg_clear(&resp);
	}
	print_dist("status over the socket (round trip)", us, STATUS_READS);
}

static void
bench_shm(void)
{
	char path[256], err[256];
	struct jobtab *jt;
	struct jobtab_job row;
	struct timespec a, b;
	uint32_t n;
	double ns;

	snprintf(path, sizeof(path), "%s/%s", run_dir, REEL_JOBTAB_NAME);
	if ((jt = jobtab_open_ro(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	n = jobtab_slot_count(jt);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < SHM_READS; i++)
		jobtab_read_job(jt, (uint32_t)i % 64 % n, &row);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns =
	    ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / SHM_READS;
	printf("%-44s mean %7.3f us  (n=%d, %zu-byte slot copy)\n",
	    "status read through shared memory", ns / 1000.0, SHM_READS,
	    sizeof(row));
	jobtab_close(jt);
}

/*
 * fork+exec through spawner.c, send JOB_START, and time until HELLO and
 * until the stage's result (the stage fails at once on a missing file:
 * for reel-worker that includes loading the stage's library).
 */
static void
bench_spawn(const char *label, const char *worker, const char *stage)
{
	static int64_t hello_us[SPAWNS], end_us[SPAWNS];
	char *argv[] = {"reel-worker", "--stage", (char *)stage, "--job",
	    "vid_bench", NULL};
	char err[256], what[128];

	memset(end_us, 0, sizeof(end_us));
	for (int i = 0; i < SPAWNS; i++) {
		struct wire w;
		struct msg m;
		pid_t pid;
		int sock, exec_errno, status;
		int64_t t0 = clock_monotonic_us();

		if (spawn_worker(worker, argv, &pid, &sock, &exec_errno) != 0 ||
		    exec_errno != 0) {
			fprintf(stderr, "spawn %s failed\n", worker);
			exit(1);
		}
		msg_init(&m, MSG_JOB_START);
		str_copy(m.u.job_start.stage, stage, MSG_WORD_SIZE);
		str_copy(
		    m.u.job_start.job_id, "vid_000000000000", REEL_ID_SIZE);
		str_copy(m.u.job_start.source, "/nonexistent", MSG_PATH_SIZE);
		str_copy(m.u.job_start.job_dir, "/nonexistent", MSG_PATH_SIZE);
		wire_send(sock, &m);
		wire_init(&w, sock);
		for (int n = 0; n < 2; n++) {
			if (wire_recv(&w, DIR_FROM_WORKER, 5000, &m, err,
				sizeof(err)) != 0) {
				fprintf(stderr, "%s: %s\n", worker, err);
				exit(1);
			}
			if (m.type == MSG_HELLO)
				hello_us[i] = clock_monotonic_us() - t0;
			else
				end_us[i] = clock_monotonic_us() - t0;
			msg_clear(&m);
			if (end_us[i] != 0)
				break;
		}
		waitpid(pid, &status, 0);
		wire_release(&w);
		close(sock);
	}
	snprintf(what, sizeof(what), "spawn to first message (%s)", label);
	print_dist(what, hello_us, SPAWNS);
	snprintf(what, sizeof(what), "spawn to stage result (%s)", label);
	print_dist(what, end_us, SPAWNS);
}

int
main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "build";
	char video[REEL_ID_SIZE], job[REEL_ID_SIZE], file[256], worker[512];
	struct client_conn c;
	char err[256];

	/* Workers run as --worker-user when reeld is root: let them in. */
	if (mkdtemp(dir) == NULL || chmod(dir, 0711) != 0)
		return 1;
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/reeld.sock", run_dir);
	snprintf(file, sizeof(file), "%s/bench.mp4", dir);
	start_reeld(bin);
	if (client_connect(&c, sock_path, err, sizeof(err)) != 0)
		return 1;
	upload(&c, file, video);
	bench_submit(&c, video, job);
	bench_status(&c, job);
	bench_shm();
	client_disconnect(&c);
	bench_reeld_stop();
	snprintf(worker, sizeof(worker), "%s/tests/fake_worker", bin);
	bench_spawn("test worker", worker, "probe");
	snprintf(worker, sizeof(worker), "%s/reel-worker", bin);
	bench_spawn("reel-worker probe", worker, "probe");
	bench_spawn("reel-worker motion", worker, "motion_analysis");
	remove_tree(dir);
	return 0;
}
