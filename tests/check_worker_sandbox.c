/*
 * Tests for worker/sandbox.c, the workers' seccomp filter. Each case runs
 * in a child that confines itself first, as reel-worker does after HELLO:
 *  - what workers do keeps working: files in a directory, /proc, threads,
 *    signals to itself, clocks; clone3 fails with ENOSYS (glibc then uses
 *    clone); H.264 (libx264, 2 threads) and AAC encode and decode; the
 *    probe stage on a real clip;
 *  - every forbidden call (new sockets, exec, fork, ptrace, mount, module
 *    and credential calls, signals to other processes, setting limits,
 *    ioctls other than isatty's) kills the child with SIGSYS;
 *  - the filter is there: /proc/self/status says Seccomp 2 and
 *    NoNewPrivs 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>

#include "check_main.h"
#include "media.h"
#include "sandbox.h"
#include "worker.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#endif

/* The confined child's exit codes when a step fails. */
enum {
	STEP_CONFINE = 100,
	STEP_FILES,
	STEP_PROC,
	STEP_THREADS,
	STEP_SIGNAL,
	STEP_CLOCK,
	STEP_CLONE3,
	STEP_CODEC,
	STEP_PROBE,
	STEP_RETURNED,
};

static void
fixture_setup(void)
{
	media_setup("check_worker_sandbox");
}

/* Runs fn confined in a child; returns the wait status. */
static int
run_confined(int (*fn)(void))
{
	pid_t pid;
	int status, rc;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sandbox_confine() != 0)
			_exit(STEP_CONFINE);
		rc = fn();
		/* exit, not _exit: LeakSanitizer's check runs confined too. */
		exit(rc);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void
expect_exit_ok(int status)
{
	ck_assert_msg(WIFEXITED(status), "child killed by signal %d",
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ck_assert_msg(WEXITSTATUS(status) == 0, "child failed at step %d",
	    WEXITSTATUS(status));
}

/* What stages do with files: temporary file, write, sync, rename. */
static int
allowed_files(void)
{
	char tmp[512], final[512], sub[512], buf[16];
	int fd;

	media_path(tmp, sizeof(tmp), ".artifact.XXXXXX");
	media_path(final, sizeof(final), "artifact.json");
	media_path(sub, sizeof(sub), "sub");
	if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0644) != 0 ||
	    write(fd, "{}\n", 3) != 3 || fsync(fd) != 0 || close(fd) != 0 ||
	    rename(tmp, final) != 0 || mkdir(sub, 0750) != 0)
		return STEP_FILES;
	if ((fd = open(final, O_RDONLY | O_CLOEXEC)) < 0 ||
	    read(fd, buf, sizeof(buf)) != 3 || close(fd) != 0 ||
	    unlink(final) != 0)
		return STEP_FILES;
	return 0;
}

/* Confined, and for good: the kernel's view of this process. */
static int
allowed_proc(void)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) < 0 ||
	    (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return STEP_PROC;
	close(fd);
	buf[n] = '\0';
	if (strstr(buf, "\nSeccomp:\t2\n") == NULL ||
	    strstr(buf, "\nNoNewPrivs:\t1\n") == NULL)
		return STEP_PROC;
	return 0;
}

static void *
thread_main(void *arg)
{
	*(int *)arg += 1;
	return arg;
}

static int
allowed_threads(void)
{
	pthread_t t[2];
	int counts[2] = {0, 0};

	for (int i = 0; i < 2; i++) {
		if (pthread_create(&t[i], NULL, thread_main, &counts[i]) != 0)
			return STEP_THREADS;
	}
	for (int i = 0; i < 2; i++) {
		if (pthread_join(t[i], NULL) != 0 || counts[i] != 1)
			return STEP_THREADS;
	}
	return 0;
}

static volatile sig_atomic_t got_usr1;

static void
on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int
allowed_signal_and_clock(void)
{
	struct timespec ts = {0, 1000000}, now;

	signal(SIGUSR1, on_usr1);
	if (raise(SIGUSR1) != 0 || !got_usr1 || kill(getpid(), 0) != 0)
		return STEP_SIGNAL;
	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0 ||
	    nanosleep(&ts, NULL) != 0)
		return STEP_CLOCK;
	return 0;
}

static int
allowed_basics(void)
{
	int rc;

	if ((rc = allowed_files()) != 0 || (rc = allowed_proc()) != 0 ||
	    (rc = allowed_threads()) != 0 ||
	    (rc = allowed_signal_and_clock()) != 0)
		return rc;
	/* seccomp cannot read clone3's flags: ENOSYS, not death. */
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return STEP_CLONE3;
	return 0;
}

START_TEST(test_allowed)
{
	expect_exit_ok(run_confined(allowed_basics));
}
END_TEST

/* Encodes frames with enc, decodes every packet with dec; frames out. */
static int
codec_roundtrip(
    AVCodecContext *enc, AVCodecContext *dec, AVFrame *in, int nframes)
{
	AVPacket *pkt = av_packet_alloc();
	AVFrame *out = av_frame_alloc();
	int decoded = 0;

	for (int i = 0; i <= nframes; i++) {
		if (i < nframes) {
			in->pts = (int64_t)i *
				  (enc->frame_size > 0 ? enc->frame_size : 1);
			if (av_frame_make_writable(in) < 0 ||
			    avcodec_send_frame(enc, in) < 0)
				break;
		} else if (avcodec_send_frame(enc, NULL) < 0) {
			break;
		}
		while (avcodec_receive_packet(enc, pkt) == 0) {
			if (avcodec_send_packet(dec, pkt) < 0)
				break;
			av_packet_unref(pkt);
			while (avcodec_receive_frame(dec, out) == 0)
				decoded++;
		}
	}
	avcodec_send_packet(dec, NULL);
	while (avcodec_receive_frame(dec, out) == 0)
		decoded++;
	av_frame_free(&out);
	av_packet_free(&pkt);
	return decoded;
}

static int
codec_open(AVCodecContext **enc, AVCodecContext **dec, const char *encname,
    enum AVCodecID id)
{
	const AVCodec *e = avcodec_find_encoder_by_name(encname);
	const AVCodec *d = avcodec_find_decoder(id);

	if (e == NULL || d == NULL)
		return -1;
	*enc = avcodec_alloc_context3(e);
	*dec = avcodec_alloc_context3(d);
	return *enc != NULL && *dec != NULL ? 0 : -1;
}

static int
video_roundtrip(void)
{
	AVCodecContext *enc = NULL, *dec = NULL;
	AVFrame *f = av_frame_alloc();
	int n = -1;

	if (codec_open(&enc, &dec, "libx264", AV_CODEC_ID_H264) == 0) {
		enc->width = f->width = 320;
		enc->height = f->height = 180;
		enc->pix_fmt = f->format = AV_PIX_FMT_YUV420P;
		enc->time_base = (AVRational){1, 25};
		enc->thread_count = dec->thread_count = 2;
		av_opt_set(enc->priv_data, "preset", "ultrafast", 0);
		if (avcodec_open2(enc, NULL, NULL) == 0 &&
		    avcodec_open2(dec, NULL, NULL) == 0 &&
		    av_frame_get_buffer(f, 0) == 0) {
			memset(f->data[0], 128, (size_t)f->linesize[0] * 180);
			n = codec_roundtrip(enc, dec, f, 25);
		}
	}
	av_frame_free(&f);
	avcodec_free_context(&enc);
	avcodec_free_context(&dec);
	return n;
}

/* The decoder learns the stream from the encoder's AudioSpecificConfig. */
static int
audio_open(AVCodecContext *enc, AVCodecContext *dec)
{
	enc->sample_rate = dec->sample_rate = 48000;
	enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	av_channel_layout_default(&enc->ch_layout, 2);
	av_channel_layout_default(&dec->ch_layout, 2);
	enc->time_base = (AVRational){1, 48000};
	if (avcodec_open2(enc, NULL, NULL) != 0)
		return -1;
	dec->extradata =
	    av_mallocz(enc->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE);
	if (dec->extradata == NULL)
		return -1;
	memcpy(dec->extradata, enc->extradata, enc->extradata_size);
	dec->extradata_size = enc->extradata_size;
	return avcodec_open2(dec, NULL, NULL);
}

/* A 440 Hz tone, so that the encoder has something to code. */
static int
audio_frame(const AVCodecContext *enc, AVFrame *f)
{
	f->sample_rate = enc->sample_rate;
	f->format = enc->sample_fmt;
	f->nb_samples = enc->frame_size;
	if (av_channel_layout_copy(&f->ch_layout, &enc->ch_layout) < 0 ||
	    av_frame_get_buffer(f, 0) < 0)
		return -1;
	for (int ch = 0; ch < 2; ch++) {
		float *x = (float *)f->data[ch];

		for (int i = 0; i < f->nb_samples; i++)
			x[i] = 0.25f * sinf(2.0f * 3.14159265f * 440.0f *
					    (float)i / 48000.0f);
	}
	return 0;
}

static int
audio_roundtrip(void)
{
	AVCodecContext *enc = NULL, *dec = NULL;
	AVFrame *f = av_frame_alloc();
	int n = -1;

	if (codec_open(&enc, &dec, "aac", AV_CODEC_ID_AAC) == 0 &&
	    audio_open(enc, dec) == 0 && audio_frame(enc, f) == 0)
		n = codec_roundtrip(enc, dec, f, 20);
	av_frame_free(&f);
	avcodec_free_context(&enc);
	avcodec_free_context(&dec);
	return n;
}

static int
allowed_codecs(void)
{
	av_log_set_level(AV_LOG_QUIET);
	if (video_roundtrip() != 25)
		return STEP_CODEC;
	/* AAC delays by one frame and drops the priming: most come back. */
	if (audio_roundtrip() < 18)
		return STEP_CODEC;
	return 0;
}

START_TEST(test_codecs)
{
	expect_exit_ok(run_confined(allowed_codecs));
}
END_TEST

static char probe_clip[512];

static int
allowed_probe(void)
{
	const struct stage_ops *ops = stage_find("probe");
	struct stage_ctx ctx;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.job_id = "vid_0123456789ab";
	ctx.stage = "probe";
	ctx.job_dir = media_dir();
	ctx.source = probe_clip;
	if (ops == NULL || ops->run == NULL || ops->run(&ctx) != STAGE_OK)
		return STEP_PROBE;
	rc = json_integer_value(json_object_get(ctx.result, "width")) == 320
		 ? 0
		 : STEP_PROBE;
	json_decref(ctx.result);
	return rc;
}

START_TEST(test_probe)
{
	static const char *const args[] = {"-f", "lavfi", "-i",
	    "testsrc2=size=320x180:rate=25:duration=2", "-f", "lavfi", "-i",
	    "sine=frequency=440:duration=2", "-c:v", "libx264", "-preset",
	    "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
	    NULL};

	media_path(probe_clip, sizeof(probe_clip), "clip.mp4");
	media_gen("clip.mp4", args);
	expect_exit_ok(run_confined(allowed_probe));
}
END_TEST

/* Forbidden calls: each must kill; returning is a failure. */
static int
call_socket(void)
{
	return (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

static int
call_socketpair(void)
{
	int sv[2];

	return (int)syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
}

static int
call_connect(void)
{
	return (int)syscall(SYS_connect, 3, NULL, 0);
}

static int
call_bind_listen_accept(void)
{
	syscall(SYS_bind, 3, NULL, 0);
	syscall(SYS_listen, 3, 1);
	return (int)syscall(SYS_accept4, 3, NULL, NULL, 0);
}

static int
call_execve(void)
{
	char *const argv[] = {"true", NULL};

	return (int)syscall(SYS_execve, "/bin/true", argv, NULL);
}

static int
call_execveat(void)
{
	char *const argv[] = {"true", NULL};

	return (int)syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, NULL, 0);
}

/* fork(2) as glibc makes it: clone without CLONE_THREAD. */
static int
call_fork(void)
{
	return (int)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
}

static int
call_fork_syscall(void)
{
	return (int)syscall(SYS_fork);
}

static int
call_mount(void)
{
	return mount("none", "/mnt", "tmpfs", 0, NULL);
}

static int
call_unshare(void)
{
	return unshare(CLONE_NEWUSER);
}

static int
call_setuid(void)
{
	return (int)syscall(SYS_setuid, 0);
}

static int
call_chown(void)
{
	return (int)syscall(SYS_fchown, 0, 0, 0);
}

static int
call_kill_parent(void)
{
	return kill(getppid(), 0);
}

static int
call_set_limit(void)
{
	struct rlimit rl = {64, 64};

	return (int)syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, NULL);
}

static int
call_prctl(void)
{
	return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

static int
call_ioctl(void)
{
	int n;

	return ioctl(0, FIONREAD, &n);
}

static int
call_module(void)
{
	return (int)syscall(SYS_finit_module, -1, "", 0);
}

static int
call_bpf(void)
{
	return (int)syscall(SYS_bpf, 0, NULL, 0);
}

/* LeakSanitizer's exit check needs ptrace: sandbox.c allows it there. */
#ifndef SANITIZER_BUILD
static int
call_ptrace(void)
{
	return (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}
#endif

static const struct {
	const char *name;
	int (*fn)(void);
} forbidden[] = {
    {"socket", call_socket},
    {"socketpair", call_socketpair},
    {"connect", call_connect},
    {"bind, listen, accept", call_bind_listen_accept},
    {"execve", call_execve},
    {"execveat", call_execveat},
    {"clone without CLONE_THREAD", call_fork},
    {"fork", call_fork_syscall},
    {"mount", call_mount},
    {"unshare", call_unshare},
    {"setuid", call_setuid},
    {"fchown", call_chown},
    {"kill of another process", call_kill_parent},
    {"prlimit64 setting a limit", call_set_limit},
    {"prctl PR_SET_KEEPCAPS", call_prctl},
    {"ioctl FIONREAD", call_ioctl},
    {"finit_module", call_module},
    {"bpf", call_bpf},
#ifndef SANITIZER_BUILD
    {"ptrace", call_ptrace},
#endif
};

static int forbidden_index;

static int
forbidden_call(void)
{
	forbidden[forbidden_index].fn();
	return STEP_RETURNED;
}

START_TEST(test_forbidden)
{
	int status;

	forbidden_index = _i;
	status = run_confined(forbidden_call);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "%s: %s %d, not SIGSYS", forbidden[_i].name,
	    WIFSIGNALED(status) ? "signal" : "exit",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}
END_TEST

static Suite *
worker_sandbox_suite(void)
{
	Suite *s = suite_create("worker_sandbox");
	TCase *tc = tcase_create("sandbox");

	tcase_add_checked_fixture(tc, fixture_setup, media_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_allowed);
	tcase_add_test(tc, test_codecs);
	tcase_add_test(tc, test_probe);
	tcase_add_loop_test(tc, test_forbidden, 0,
	    (int)(sizeof(forbidden) / sizeof(forbidden[0])));
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(worker_sandbox_suite)
