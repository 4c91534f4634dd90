/*
 * The worker's seccomp filter (docs/security.md). reel-worker installs it
 * right after HELLO, before it loads a stage library or opens any input, so
 * everything that parses untrusted media runs under it, library
 * constructors included.
 *
 * It is an allow-list: memory, threads, signals to itself, clocks, files
 * through descriptors and paths (the kernel's permissions, with the worker
 * user, decide which paths), and messages on the sockets it already holds.
 * There is no way to make a new socket, start a program, create a process,
 * trace, mount, load modules or change credentials. Any other call kills
 * the whole process with SIGSYS, so a forbidden call is never mistaken for
 * an ordinary error and reeld reports it. The filter is inherited by every
 * thread and cannot be lifted.
 *
 * Threads: clone is allowed only with CLONE_THREAD. clone3 passes its
 * flags through a pointer that seccomp cannot read, so it fails with
 * ENOSYS and glibc falls back to clone.
 *
 * Sanitizer builds (AddressSanitizer brings LeakSanitizer), which are test
 * builds, also allow what the leak check at exit needs: clone with exactly
 * the flags of its tracer task, ptrace (the tracer stops the worker's own
 * threads), wait4, the legacy getdents, and three prctl options. Without
 * them the tracer dies and the worker spins at exit for ever. The plain
 * build allows none of these.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANDBOX_LSAN 1
#endif
#endif

/* Allowed whatever their arguments. */
/* clang-format off */
static const char *const sandbox_allowed[] = {
	/* Process, threads, scheduling. */
	"exit", "exit_group", "futex", "set_robust_list", "rseq",
	"set_tid_address", "sched_yield", "sched_getaffinity",
	"sched_getparam", "sched_getscheduler", "sched_get_priority_max",
	"sched_get_priority_min", "getcpu", "getpid", "gettid", "getppid",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "getrlimit", "getrusage", "times", "uname", "sysinfo",
	/* Signals: handlers and masks; sending is restricted below. */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"pause", "restart_syscall",
	/* Clocks and sleeping. */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time",
	/* Memory; libgcrypt locks its secure pool, libnuma reads the policy. */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync",
	"mlock", "munlock", "get_mempolicy", "set_mempolicy",
	/* Files: reading inputs, libraries, /proc and /sys. */
	"read", "readv", "pread64", "preadv", "preadv2", "lseek", "open",
	"openat", "close", "fstat", "stat", "lstat", "newfstatat", "statx",
	"statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "getdents64", "fcntl", "dup", "dup3", "getcwd",
	"fadvise64",
	/* Files: writing artifacts (the job directory is the worker's). */
	"write", "writev", "pwrite64", "pwritev", "pwritev2", "fsync",
	"fdatasync", "sync_file_range", "ftruncate", "fallocate", "rename", "renameat",
	"renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "fchmod",
	"umask",
	/* Messages to reeld on fd 3; no new socket can be made. */
	"sendmsg", "recvmsg", "sendto", "recvfrom", "poll", "ppoll",
	/* Random numbers: glibc's mkstemp, FFmpeg, libgcrypt. */
	"getrandom",
};
/* clang-format on */

/* 0 or a negative errno, as libseccomp returns. */
static int
sandbox_allow_names(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	int nr, rc;

	for (size_t i = 0; i < n; i++) {
		/* A name this architecture lacks (open on arm64) is skipped. */
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr < 0)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
			return rc;
	}
	return 0;
}

/* Threads only; clone3 hides its flags, so glibc must fall back to clone. */
static int
sandbox_allow_threads(scmp_filter_ctx ctx)
{
	int rc;

	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (rc == 0)
		rc = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return rc;
}

/* abort() and raise() signal the worker itself; no other process. */
static int
sandbox_allow_self_signals(scmp_filter_ctx ctx)
{
	scmp_datum_t self = (scmp_datum_t)getpid();
	int rc;

	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, self));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		    SCMP_A0(SCMP_CMP_EQ, self));
	return rc;
}

/*
 * Narrow forms of wide calls: the thread name, reading (never setting) the
 * worker's own limits, and isatty() from stdio.
 */
static int
sandbox_allow_narrow(scmp_filter_ctx ctx)
{
	static const int prctl_ops[] = {
	    PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE};
	int rc = 0;

	for (size_t i = 0;
	     rc == 0 && i < sizeof(prctl_ops) / sizeof(*prctl_ops); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_ops[i]));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64),
		    2, SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A2(SCMP_CMP_EQ, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, TCGETS));
	return rc;
}

#ifdef SANDBOX_LSAN
/*
 * LeakSanitizer's check at exit: a tracer made by clone with exactly these
 * flags (sanitizer_stoptheworld_linux_libcdep.cpp) stops and reads every
 * thread with ptrace while the worker waits for it.
 */
static int
sandbox_allow_lsan(scmp_filter_ctx ctx)
{
	static const char *const names[] = {"ptrace", "wait4", "getdents"};
	const scmp_datum_t tracer =
	    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED;
	static const int prctl_ops[] = {
	    PR_SET_DUMPABLE, PR_SET_PTRACER, PR_SET_PDEATHSIG};
	int rc;

	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_EQ, tracer));
	if (rc == 0)
		rc = sandbox_allow_names(
		    ctx, names, sizeof(names) / sizeof(*names));
	for (size_t i = 0;
	     rc == 0 && i < sizeof(prctl_ops) / sizeof(*prctl_ops); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_ops[i]));
	return rc;
}
#endif

static int
sandbox_rules(scmp_filter_ctx ctx)
{
	int rc;

	/* Another ABI (i386 int 0x80) would bypass the list: kill. */
	rc = seccomp_attr_set(
	    ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* Any thread already running gets the filter too. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = sandbox_allow_names(ctx, sandbox_allowed,
		    sizeof(sandbox_allowed) / sizeof(*sandbox_allowed));
	if (rc == 0)
		rc = sandbox_allow_threads(ctx);
	if (rc == 0)
		rc = sandbox_allow_self_signals(ctx);
	if (rc == 0)
		rc = sandbox_allow_narrow(ctx);
#ifdef SANDBOX_LSAN
	if (rc == 0)
		rc = sandbox_allow_lsan(ctx);
#endif
	return rc;
}

int
sandbox_confine(void)
{
	scmp_filter_ctx ctx;
	int rc;

	/* libseccomp sets no_new_privs; done first, it holds even on error. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = sandbox_rules(ctx);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}
