/*
 * Least privilege for workers, reeld's half (docs/security.md; the worker
 * installs its own seccomp filter, worker/sandbox.c).
 *
 * Every worker starts with rlimits on address space, CPU time, file size
 * and open files, and with no_new_privs. When reeld runs as root, workers
 * run as --worker-user instead, with that user's group as their only
 * group, and the state directory is arranged so that this user can read
 * what it needs and write only where reeld lets it:
 *
 *   state dir        group W, which may enter (the journal stays reeld's)
 *   videos/, jobs/   group W, enter only, setgid: every upload inherits
 *                    group W, so workers read videos (0640) but cannot
 *                    change them
 *   jobs/<id>/       owned by the worker user (confine_grant): artifacts
 *
 * where W is the worker user's group. reeld itself stays root and reads
 * everything. When reeld is not root, workers keep its user and the
 * directories are left alone.
 *
 * confine_enter() runs between vfork and exec, so it only makes system
 * calls: everything it needs was worked out by confine_init().
 */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "confine.h"
#include "log.h"
#include "msg.h"
#include "util.h"

/* Sanitizers reserve terabytes of shadow memory: RLIMIT_AS would kill. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_NO_AS_LIMIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define SANDBOX_NO_AS_LIMIT 1
#endif
#endif

/* SIGXCPU at the limit, SIGKILL this much later if it is ignored. */
#define SANDBOX_CPU_GRACE_S 5
#define SANDBOX_NLIMITS 4

static struct {
	bool switch_user;
	uid_t uid;
	gid_t gid;
	unsigned nlimits;
	int resource[SANDBOX_NLIMITS];
	struct rlimit limit[SANDBOX_NLIMITS];
} sandbox;

/* Never above reeld's own hard limit, so no privilege is needed. */
static void
confine_limit(int resource, const char *name, rlim_t soft, rlim_t hard)
{
	struct rlimit cur;
	unsigned i = sandbox.nlimits;

	if (getrlimit(resource, &cur) != 0)
		fatal("getrlimit %s", name);
	if (cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max) {
		log_info("worker %s limit lowered to reeld's own, %llu", name,
		    (unsigned long long)cur.rlim_max);
		hard = cur.rlim_max;
	}
	sandbox.resource[i] = resource;
	sandbox.limit[i].rlim_cur = soft < hard ? soft : hard;
	sandbox.limit[i].rlim_max = hard;
	sandbox.nlimits++;
}

static void
confine_init_limits(const struct config *cfg)
{
	const rlim_t mb = 1024 * 1024;

#ifdef SANDBOX_NO_AS_LIMIT
	log_info("sanitizer build: workers get no address-space limit");
#else
	confine_limit(RLIMIT_AS, "address space",
	    (rlim_t)cfg->worker_memory_mb * mb,
	    (rlim_t)cfg->worker_memory_mb * mb);
#endif
	confine_limit(RLIMIT_CPU, "CPU time", cfg->worker_cpu_seconds,
	    (rlim_t)cfg->worker_cpu_seconds + SANDBOX_CPU_GRACE_S);
	confine_limit(RLIMIT_FSIZE, "file size",
	    (rlim_t)cfg->worker_file_size_mb * mb,
	    (rlim_t)cfg->worker_file_size_mb * mb);
	confine_limit(RLIMIT_NOFILE, "open files", cfg->worker_open_files,
	    cfg->worker_open_files);
}

/* Group W on one directory reeld owns; the group never gets write. */
static void
confine_group_dir(const char *path, mode_t add, mode_t drop)
{
	struct stat st;

	if (chown(path, (uid_t)-1, sandbox.gid) != 0 || stat(path, &st) != 0 ||
	    chmod(path, ((st.st_mode & 07777) & ~(drop | S_IWGRP)) | add) != 0)
		fatal("cannot give the worker user access to %s", path);
}

static int
confine_regroup_entry(
    const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (st->st_gid != sandbox.gid &&
	    lchown(path, (uid_t)-1, sandbox.gid) != 0)
		log_warn("cannot give %s to the worker group", path);
	return 0;
}

/*
 * videos/ and jobs/ make everything below them group W. Videos stored
 * before (by an older reeld, or for another --worker-user) are regrouped.
 */
static void
confine_prepare_state(const char *state_dir)
{
	char path[MSG_PATH_SIZE];

	confine_group_dir(state_dir, S_IXGRP, 0);
	/* Workers get exact paths: they may enter, not list. */
	snprintf(path, sizeof(path), "%s/jobs", state_dir);
	if (mkdir_p(path, 0750) != 0)
		fatal("%s", path);
	confine_group_dir(path, S_IXGRP | S_ISGID, S_IRGRP);
	snprintf(path, sizeof(path), "%s/videos", state_dir);
	if (mkdir_p(path, 0750) != 0)
		fatal("%s", path);
	confine_group_dir(path, S_IXGRP | S_ISGID, S_IRGRP);
	if (nftw(path, confine_regroup_entry, 16, FTW_PHYS) != 0)
		log_warn("cannot walk %s", path);
}

/* getpwnam(3): these errno values also mean that the name is unknown. */
static bool
confine_no_user(int err)
{
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	       err == EPERM;
}

void
confine_init(const struct config *cfg)
{
	struct passwd *pw;

	confine_init_limits(cfg);
	if (geteuid() != 0) {
		log_debug("not root: workers run as reeld's user");
		return;
	}
	errno = 0;
	if ((pw = getpwnam(cfg->worker_user)) == NULL)
		fatalx("--worker-user %s: %s", cfg->worker_user,
		    confine_no_user(errno) ? "no such user" : strerror(errno));
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatalx("--worker-user %s has uid or gid 0: workers must not "
		       "run as root",
		    cfg->worker_user);
	sandbox.switch_user = true;
	sandbox.uid = pw->pw_uid;
	sandbox.gid = pw->pw_gid;
	confine_prepare_state(cfg->state_dir);
	log_info("workers run as %s (uid %u, gid %u)", cfg->worker_user,
	    (unsigned)sandbox.uid, (unsigned)sandbox.gid);
}

int
confine_grant(const char *path)
{
	if (!sandbox.switch_user)
		return 0;
	return chown(path, sandbox.uid, sandbox.gid);
}

/* Async-signal-safe: system calls only, on data prepared by init. */
int
confine_enter(void)
{
	for (unsigned i = 0; i < sandbox.nlimits; i++) {
		if (setrlimit(sandbox.resource[i], &sandbox.limit[i]) != 0)
			return -1;
	}
	/*
	 * Raw system calls: in the vfork() child glibc's wrappers would take
	 * reeld's threads (libcurl's resolver) for the child's and signal
	 * them to switch too. The kernel switches the calling task alone.
	 */
	if (sandbox.switch_user) {
		if (syscall(SYS_setgroups, 1, &sandbox.gid) != 0 ||
		    syscall(SYS_setresgid, sandbox.gid, sandbox.gid,
			sandbox.gid) != 0 ||
		    syscall(SYS_setresuid, sandbox.uid, sandbox.uid,
			sandbox.uid) != 0)
			return -1;
		/* Root must be gone for good, not merely set aside. */
		if (syscall(SYS_setuid, 0) == 0 || geteuid() == 0) {
			errno = EPERM;
			return -1;
		}
	}
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}
