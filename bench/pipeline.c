/*
 * Pipeline benchmark. Generates a 60 s 1080p30 source and a 30 s 1080p30
 * template with the ffmpeg program (lavfi sources), runs a real reeld with
 * the real reel-worker, and prints:
 *  - the full job's wall time against the ffmpeg program transcoding the
 *    same source with the same encoder settings (quality=medium);
 *  - a template-only job against a plain `ffmpeg -f null` decode of the
 *    template, each run TEMPLATE_RUNS times in turn and compared by their
 *    medians, because a shared machine's noise moves a single run of a
 *    few seconds by a fifth either way; also the median of the ratios of
 *    each job to the decode just before it, which a slow spell moves less;
 *  - per-stage worker times and peak RSS (of the median run).
 * usage: bench/pipeline [BUILD_DIR] [template]
 *   BUILD_DIR defaults to build; the whole run takes a few minutes.
 *   "template" runs the template-only jobs alone (about two minutes).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_reeld.h"
#include "util.h"

extern char **environ;

/* Template-only jobs and decodes, alternated. Odd, for a median. */
#define TEMPLATE_RUNS 9
/* Job status polls: a tenth of the finest figure printed. */
#define POLL_MS 10

static char dir[] = "/tmp/reel-pipeline.XXXXXX";

/* Runs argv (quietly) and returns its wall time in seconds. */
static double
run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int64_t t0 = clock_monotonic_us();
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(
	    &fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		bench_die("cannot run", argv[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		bench_die("command failed", argv[0]);
	return (clock_monotonic_us() - t0) / 1e6;
}

/* The source only for the full job (src NULL: the template alone). */
static void
make_media(const char *src, const char *tpl)
{
	char *src_argv[] = {"ffmpeg", "-hide_banner", "-loglevel", "error",
	    "-y", "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=20", "-f",
	    "lavfi", "-i",
	    "gradients=s=1920x1080:r=30:d=20:speed=0.05:seed=1:"
	    "c0=0x2050a0:c1=0xe0a040",
	    "-f", "lavfi", "-i", "smptehdbars=s=1920x1080:r=30:d=20", "-f",
	    "lavfi", "-i",
	    "aevalsrc='0.3*sin(2*PI*110*t)*exp(-6*mod(t,0.5))':s=48000:d=60",
	    "-filter_complex",
	    "[2:v]noise=alls=12:allf=t:all_seed=1[n];"
	    "[0:v][1:v][n]concat=n=3:v=1:a=0,format=yuv420p[v]",
	    "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-preset",
	    "ultrafast", "-crf", "18", "-c:a", "aac", (char *)src, NULL};
	char *tpl_argv[] = {"ffmpeg", "-hide_banner", "-loglevel", "error",
	    "-y", "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=30", "-f",
	    "lavfi", "-i",
	    "aevalsrc='0.8*sin(2*PI*60*t)*exp(-25*mod(t,0.5))':s=48000:d=30",
	    "-vf",
	    "eq=contrast=1.2:saturation=1.4,colorbalance=rs=0.15:bs=-0.15,"
	    "format=yuv420p",
	    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a",
	    "aac", (char *)tpl, NULL};

	printf("generating media (%s30 s template, 1080p30)...\n",
	    src != NULL ? "60 s source, " : "");
	fflush(stdout);
	if (src != NULL)
		run(src_argv);
	run(tpl_argv);
}

/* Submits, polls to the end, and returns the result's detail view. */
static json_t *
run_job(
    const char *video, const char *template, bool template_only, double *wall)
{
	struct msg req;
	char job[REEL_ID_SIZE];
	enum job_status status;
	json_t *data;
	int64_t t0 = clock_monotonic_us();

	msg_init(&req, MSG_SUBMIT);
	str_copy(req.u.submit.video_id, video, REEL_ID_SIZE);
	if (template != NULL)
		str_copy(req.u.submit.template_id, template, REEL_ID_SIZE);
	req.u.submit.template_only = template_only;
	data = bench_call(&req);
	str_copy(job, json_string_value(json_object_get(data, "job_id")),
	    REEL_ID_SIZE);
	json_decref(data);
	data = bench_wait(job, POLL_MS, &status);
	*wall = (clock_monotonic_us() - t0) / 1e6;
	json_decref(data);
	msg_init(&req, MSG_RESULT);
	str_copy(req.u.result.job_id, job, REEL_ID_SIZE);
	data = bench_call(&req);
	if (strcmp(json_string_value(json_object_get(data, "status")),
		"completed") != 0)
		bench_die("job did not complete",
		    json_string_value(json_object_get(
			json_object_get(data, "error"), "message")));
	return data;
}

static void
print_stages(const json_t *detail)
{
	const json_t *st;
	size_t i;

	json_array_foreach(json_object_get(detail, "stages"), i, st)
	{
		printf("  %-18s %7.2f s  %6.2f CPU s   peak RSS %5lld MiB\n",
		    json_string_value(json_object_get(st, "stage")),
		    json_real_value(json_object_get(st, "seconds")),
		    json_real_value(json_object_get(st, "cpu_seconds")),
		    (long long)json_integer_value(
			json_object_get(st, "peak_rss_kb")) /
			1024);
	}
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(const double *v, int n)
{
	double sorted[TEMPLATE_RUNS];

	memcpy(sorted, v, sizeof(*v) * (size_t)n);
	qsort(sorted, (size_t)n, sizeof(*sorted), compare_doubles);
	return sorted[n / 2];
}

/*
 * The template-only job and the decode, alternated so that a slow spell
 * of the machine falls on both. Prints every run and the median job's
 * stages; returns the medians, and the median ratio of the pairs.
 */
static void
bench_template(char *const decode_argv[], const char *tpl_id, double *job,
    double *dec, double *paired)
{
	double jobs[TEMPLATE_RUNS], decodes[TEMPLATE_RUNS];
	double ratios[TEMPLATE_RUNS];
	json_t *detail[TEMPLATE_RUNS];
	int i, mid = 0;

	for (i = 0; i < TEMPLATE_RUNS; i++) {
		decodes[i] = run(decode_argv);
		detail[i] = run_job(tpl_id, NULL, true, &jobs[i]);
		ratios[i] = jobs[i] / decodes[i];
		printf("  run %d: decode %.2f s, template-only job %.2f s "
		       "(%.2fx)\n",
		    i + 1, decodes[i], jobs[i], ratios[i]);
	}
	*job = median(jobs, TEMPLATE_RUNS);
	*dec = median(decodes, TEMPLATE_RUNS);
	*paired = median(ratios, TEMPLATE_RUNS);
	for (i = 0; i < TEMPLATE_RUNS; i++) {
		if (jobs[i] == *job)
			mid = i;
	}
	printf("template-only job, median run (30 s 1080p30 template):\n");
	print_stages(detail[mid]);
	for (i = 0; i < TEMPLATE_RUNS; i++)
		json_decref(detail[i]);
}

int
main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "build";
	bool full_job = argc < 3 || strcmp(argv[2], "template") != 0;
	char src[256], tpl[256], out[256], run_dir[256], state_dir[256];
	char src_id[REEL_ID_SIZE], tpl_id[REEL_ID_SIZE];
	double transcode, decode, full, extract, paired;
	json_t *detail;
	char log[512];

	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp", NULL);
	/*
	 * reeld run as root starts workers as another user, who must reach
	 * the state directory inside.
	 */
	if (chmod(dir, 0755) != 0)
		bench_die("chmod", dir);
	snprintf(src, sizeof(src), "%s/source.mp4", dir);
	snprintf(tpl, sizeof(tpl), "%s/template.mp4", dir);
	snprintf(out, sizeof(out), "%s/transcode.mp4", dir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(log, sizeof(log), "%s/reeld.log", dir);
	make_media(full_job ? src : NULL, tpl);

	char *transcode_argv[] = {"ffmpeg", "-hide_banner", "-loglevel",
	    "error", "-y", "-i", src, "-c:v", "libx264", "-preset", "veryfast",
	    "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
	    "-movflags", "+faststart", out, NULL};
	char *decode_argv[] = {"ffmpeg", "-hide_banner", "-loglevel", "error",
	    "-i", tpl, "-f", "null", "-", NULL};
	transcode = full_job ? run(transcode_argv) : 0.0;

	bench_reeld_start(bin, "reel-worker", run_dir, state_dir, log, NULL);
	if (full_job)
		bench_upload(src, src_id);
	bench_upload(tpl, tpl_id);
	if (full_job) {
		detail = run_job(src_id, tpl_id, false, &full);
		printf("\nfull job (60 s 1080p30 source, 30 s template):\n");
		print_stages(detail);
		json_decref(detail);
	}
	printf(
	    "\ntemplate-only job and decode, %d runs each:\n", TEMPLATE_RUNS);
	bench_template(decode_argv, tpl_id, &extract, &decode, &paired);

	if (full_job) {
		printf("\n%-40s %7.2f s\n",
		    "ffmpeg transcode (veryfast, crf 23)", transcode);
		printf("%-40s %7.2f s   %.2fx the transcode (target <= 1.5x)\n",
		    "reel full job", full, full / transcode);
	}
	printf("%-40s %7.2f s   (median)\n",
	    "ffmpeg -f null decode of the template", decode);
	printf("%-40s %7.2f s   (median) %.2fx the decode (target <= 1.5x)\n",
	    "reel template-only job", extract, extract / decode);
	printf("%-40s %9s %.2fx the decode run before it\n",
	    "template-only job, median of the pairs", "", paired);
	bench_reeld_stop();
	remove_tree(dir);
	return 0;
}
