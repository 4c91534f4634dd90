/*
 * Small utilities every binary needs: allocation that dies on failure (for
 * start-up and bounded internal use only), bounded string copies, clocks and
 * ISO 8601 times, and the default runtime and state directories.
 */
#ifndef REEL_UTIL_H
#define REEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);

/* Copies src into dst of size dstsize; returns -1 if it did not fit. */
int str_copy(char *dst, const char *src, size_t dstsize);
/* FNV-1a of a string: for hash tables, never for security. */
uint32_t str_hash(const char *s);

int64_t clock_realtime_ms(void);
int64_t clock_monotonic_us(void);
/* "2024-04-05T10:30:00.123Z"; buf must hold UTIL_ISO_SIZE bytes. */
#define UTIL_ISO_SIZE 32
void time_iso8601(int64_t ms, char buf[UTIL_ISO_SIZE]);

/*
 * The runtime and state directories: an explicit value, else the variable
 * systemd sets ($RUNTIME_DIRECTORY, $STATE_DIRECTORY; the first entry of a
 * colon-separated list), else /run/reeld and /var/lib/reeld.
 */
const char *runtime_dir_default(const char *explicit_dir);
const char *state_dir_default(const char *explicit_dir);
#define REEL_SOCKET_NAME "reeld.sock"
#define REEL_JOBTAB_NAME "jobs.shm"

/* write(2) until all of buf is written, through EINTR: 0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);

/* mkdir -p with the given mode for each created component. */
int mkdir_p(const char *path, unsigned mode);
/* Removes a directory tree; missing entries are not an error. */
int remove_tree(const char *path);

#endif
