/*
 * Logging. One line per call, written with a single write(2) so that lines
 * from reeld and its workers, which share stderr, never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int log_verbose;
static char log_procname[48] = "reel";

static void vlog(int prio, const char *errtext, const char *fmt, va_list ap);

void
log_init(int verbose, const char *procname)
{
	log_verbose = verbose;
	log_procinit(procname);
}

void
log_procinit(const char *procname)
{
	if (procname != NULL)
		snprintf(log_procname, sizeof(log_procname), "%s", procname);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

static void
vlog(int prio, const char *errtext, const char *fmt, va_list ap)
{
	char line[1024];
	int n;
	int saved = errno;

	n = snprintf(line, sizeof(line), "<%d>%s: ", prio, log_procname);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = strlen(line);
	if (errtext != NULL)
		n += snprintf(line + n, sizeof(line) - n, ": %s", errtext);
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report a failed log write. */
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	vlog(3, err, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(6, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vlog(7, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	vlog(2, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
