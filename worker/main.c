/*
 * reel-worker --stage NAME --job JOB_ID: runs one stage of one job for
 * reeld, which starts it with a socket on fd 3, and exits with the stage's
 * result (worker/stage.h). The command line only names the process for ps
 * and the logs; the job itself comes in the JOB_START message on fd 3.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "worker.h"

static void
usage(void)
{
	fprintf(stderr, "usage: reel-worker --stage NAME --job JOB_ID\n");
	exit(STAGE_E_USAGE);
}

static void
main_parse(int argc, char *argv[], const char **stage, const char **job)
{
	static const struct option longopts[] = {
	    {"stage", required_argument, NULL, 's'},
	    {"job", required_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:j:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			*stage = optarg;
			break;
		case 'j':
			*job = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || *stage == NULL || *job == NULL)
		usage();
}

int
main(int argc, char *argv[])
{
	const char *stage = NULL, *job = NULL;
	char procname[64];
	int code;

	main_parse(argc, argv, &stage, &job);
	snprintf(procname, sizeof(procname), "worker[%s]", stage);
	log_init(0, procname);
	if ((code = worker_setup(stage)) != 0)
		return code;
	if ((code = worker_check_fd(WORKER_FD)) != 0)
		return code;
	log_debug("job %s", job);
	return worker_run(WORKER_FD, stage);
}
