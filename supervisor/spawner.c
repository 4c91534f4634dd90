/*
 * The only fork and exec in reeld.
 *
 * A worker starts with: its end of a socketpair on fd 3, stdin from
 * /dev/null, stdout and stderr shared with reeld (so its log lines reach the
 * journal), every other descriptor closed on exec, all signal dispositions
 * and the signal mask reset, its own session and process group (so a kill
 * of the group catches anything it starts), and PR_SET_PDEATHSIG so that it
 * dies with reeld.
 *
 * Before anything else the child enters the sandbox (confine.c): rlimits,
 * the worker user when reeld is root, no_new_privs. The user switch clears
 * the parent-death signal, so that is armed after it.
 *
 * The child is made with vfork(): it borrows reeld's memory until it
 * execs, so no page table is copied. fork() copied those of every library
 * reeld maps (libcurl, OpenSSL, ...): 0.3 ms of each spawn here (0.70
 * against 0.39 ms from fork to exec in a process with and without them).
 * The price is discipline until exec: the child only makes system calls
 * (confine_enter() uses raw ones for the user switch, since glibc's
 * wrappers would signal reeld's threads), writes nothing but its own stack
 * and errno, and never returns from spawn_child_exec().
 *
 * All signals are blocked across vfork(): libevent's signal handlers would
 * otherwise run in the child before exec and write into reeld's own signal
 * socket. A failure before exec (sandbox, descriptors, exec) reaches the
 * parent through a close-on-exec pipe (libuv's technique) as the step and
 * errno: the read returns 0 bytes when exec succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"
#include "log.h"
#include "spawner.h"

#define WORKER_FD 3

/* What failed in the child before exec, written to the error pipe. */
struct spawn_error {
	int step;
	int err;
};
enum spawn_step {
	SPAWN_SANDBOX,
	SPAWN_SETUP,
	SPAWN_EXEC,
};

extern char **environ;

static __dead void spawn_child_exec(const char *path, char *const argv[],
    int sock, int errpipe, pid_t parent, const sigset_t *oldmask);
static void close_other_fds(void);
static int read_exec_errno(int fd, const char *path);
static __dead void spawn_child_fail(int errpipe, enum spawn_step step);

static void
close_other_fds(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, WORKER_FD + 1, ~0U, 4 /* CLOEXEC */) == 0)
		return;
#endif
	for (int fd = WORKER_FD + 1; fd < 1024; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static __dead void
spawn_child_fail(int errpipe, enum spawn_step step)
{
	struct spawn_error e = {step, errno};

	if (write(errpipe, &e, sizeof(e)) < 0) {
		/* The parent sees a short read and reports exit 127. */
	}
	_exit(127);
}

static __dead void
spawn_child_exec(const char *path, char *const argv[], int sock, int errpipe,
    pid_t parent, const sigset_t *oldmask)
{
	struct sigaction sa;
	int null;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	setsid();
	if (confine_enter() != 0)
		spawn_child_fail(errpipe, SPAWN_SANDBOX);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	if (sock == WORKER_FD)
		fcntl(sock, F_SETFD, 0);
	else if (dup2(sock, WORKER_FD) != WORKER_FD)
		spawn_child_fail(errpipe, SPAWN_SETUP);
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, STDIN_FILENO) != STDIN_FILENO)
		spawn_child_fail(errpipe, SPAWN_SETUP);
	close_other_fds();
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	execve(path, argv, environ);
	spawn_child_fail(errpipe, SPAWN_EXEC);
}

/* The child's errno when it failed before or at exec (logged), else 0. */
static int
read_exec_errno(int fd, const char *path)
{
	static const char *const steps[] = {
	    [SPAWN_SANDBOX] = "cannot enter the worker sandbox",
	    [SPAWN_SETUP] = "cannot set up the worker's descriptors",
	    [SPAWN_EXEC] = "cannot execute",
	};
	struct spawn_error e;
	ssize_t n;

	do {
		n = read(fd, &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(e))
		return 0;
	if (e.step >= 0 && e.step <= SPAWN_EXEC)
		log_warnx("%s: %s: %s", path, steps[e.step], strerror(e.err));
	return e.err;
}

/*
 * Starts path with argv. On success returns 0 with the pid, reeld's end of
 * the socket, and exec_errno (non-zero when exec failed: the child then
 * exits 127 and must still be reaped by child.c).
 */
int
spawn_worker(const char *path, char *const argv[], pid_t *pid, int *sock,
    int *exec_errno)
{
	sigset_t all, old;
	int sv[2], errpipe[2];
	pid_t parent = getpid(), p;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	p = vfork();
	if (p == 0)
		spawn_child_exec(path, argv, sv[1], errpipe[1], parent, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	close(errpipe[1]);
	if (p < 0) {
		close(sv[0]);
		close(errpipe[0]);
		return -1;
	}
	*exec_errno = read_exec_errno(errpipe[0], path);
	close(errpipe[0]);
	*pid = p;
	*sock = sv[0];
	return 0;
}
