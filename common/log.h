/*
 * Logging in the OpenBSD log.c shape. Lines go to stderr, prefixed with an
 * sd-daemon priority (<3> error ... <7> debug) so that under systemd the
 * journal gets the right level without syslog. Every function keeps errno.
 */
#ifndef REEL_LOG_H
#define REEL_LOG_H

#include <stdarg.h>

#define __dead __attribute__((__noreturn__))
#define LOG_PRINTF(a, b) __attribute__((__format__(__printf__, a, b)))

void log_init(int verbose, const char *procname);
void log_procinit(const char *procname);
void log_setverbose(int verbose);
int log_getverbose(void);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
__dead void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__dead void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif
