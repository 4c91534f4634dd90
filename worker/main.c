/*
 * reel-worker --stage NAME --job JOB_ID [--user USER]: runs one stage of
 * one job for reeld, which starts it with a socket on fd 3, and exits with
 * the stage's result (worker/api/stage.h). The command line only names the
 * process for ps and the logs; the job itself comes in the JOB_START
 * message on fd 3. --user says that reeld, running as root, switched this
 * process to USER: a worker that still holds root then refuses to run.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

struct main_args {
	const char *stage;
	const char *job;
	const char *user;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: reel-worker --stage NAME --job JOB_ID [--user USER]\n");
	exit(STAGE_E_USAGE);
}

static void
main_parse(int argc, char *argv[], struct main_args *a)
{
	static const struct option longopts[] = {
	    {"stage", required_argument, NULL, 's'},
	    {"job", required_argument, NULL, 'j'},
	    {"user", required_argument, NULL, 'u'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:j:u:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			a->stage = optarg;
			break;
		case 'j':
			a->job = optarg;
			break;
		case 'u':
			a->user = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || a->stage == NULL || a->job == NULL)
		usage();
}

/* Belt and braces: reeld checks its own switch; this catches any gap. */
static int
main_check_user(const char *user)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (user == NULL)
		return 0;
	if (getresuid(&ruid, &euid, &suid) != 0 ||
	    getresgid(&rgid, &egid, &sgid) != 0) {
		log_warn("cannot read this worker's credentials");
		return STAGE_E_OS;
	}
	if (ruid == 0 || euid == 0 || suid == 0 || rgid == 0 || egid == 0 ||
	    sgid == 0) {
		log_warnx("reeld switched this worker to user %s, but it still "
			  "has root's uid or gid: refusing to run",
		    user);
		return STAGE_E_OS;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct main_args a = {NULL, NULL, NULL};
	char procname[64];
	int code;

	main_parse(argc, argv, &a);
	snprintf(procname, sizeof(procname), "worker[%s]", a.stage);
	log_init(0, procname);
	if ((code = main_check_user(a.user)) != 0)
		return code;
	if ((code = worker_setup(a.stage)) != 0)
		return code;
	if ((code = worker_check_fd(WORKER_FD)) != 0)
		return code;
	log_debug("job %s", a.job);
	return worker_run(WORKER_FD, a.stage);
}
