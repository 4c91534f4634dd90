/*
 * Utilities. The x* allocators exit through fatal(): they serve start-up
 * and small bounded structures, where running on without memory is worse
 * than a clean exit that systemd restarts.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		fatal("calloc");
	return p;
}

void *
xreallocarray(void *ptr, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		fatalx("xreallocarray: overflow");
	p = realloc(ptr, n * size == 0 ? 1 : n * size);
	if (p == NULL)
		fatal("realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

int
str_copy(char *dst, const char *src, size_t dstsize)
{
	size_t len = strlen(src);

	if (dstsize == 0)
		return -1;
	if (len >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

uint32_t
str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int64_t
clock_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
time_iso8601(int64_t ms, char buf[UTIL_ISO_SIZE])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, UTIL_ISO_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
}

static const char *
dir_default(const char *explicit_dir, const char *env, const char *fallback,
    char *buf, size_t bufsize)
{
	const char *val;
	size_t len;

	if (explicit_dir != NULL && explicit_dir[0] != '\0')
		return explicit_dir;
	val = getenv(env);
	if (val == NULL || val[0] == '\0')
		return fallback;
	/* systemd joins several directories with ':'; ours is the first. */
	len = strcspn(val, ":");
	if (len >= bufsize)
		return fallback;
	memcpy(buf, val, len);
	buf[len] = '\0';
	return buf;
}

const char *
runtime_dir_default(const char *explicit_dir)
{
	static char buf[4096];

	return dir_default(
	    explicit_dir, "RUNTIME_DIRECTORY", "/run/reeld", buf, sizeof(buf));
}

const char *
state_dir_default(const char *explicit_dir)
{
	static char buf[4096];

	return dir_default(explicit_dir, "STATE_DIRECTORY", "/var/lib/reeld",
	    buf, sizeof(buf));
}

int
mkdir_p(const char *path, unsigned mode)
{
	char buf[4096];

	if (str_copy(buf, path, sizeof(buf)) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

int
remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
