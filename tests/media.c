/* Test media: see media.h. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "media.h"
#include "util.h"

#define MEDIA_MAX_ARGS 64

static char dir[96];

void
media_setup(const char *suite)
{
	snprintf(dir, sizeof(dir), "/tmp/%s.XXXXXX", suite);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

void
media_teardown(void)
{
	remove_tree(dir);
}

const char *
media_dir(void)
{
	return dir;
}

void
media_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

bool
media_ffmpeg(const char *out, const char *const args[])
{
	const char *argv[MEDIA_MAX_ARGS] = {
	    "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
	char path[256];
	size_t n = 6;
	int status, fd;
	pid_t pid;

	while (*args != NULL && n < MEDIA_MAX_ARGS - 2)
		argv[n++] = *args++;
	media_path(path, sizeof(path), out);
	argv[n++] = path;
	argv[n] = NULL;
	if ((pid = fork()) == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp("ffmpeg", (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void
media_gen(const char *out, const char *const args[])
{
	ck_assert_msg(media_ffmpeg(out, args), "ffmpeg could not make %s", out);
}

void
media_damage(const char *src, const char *dst, double from, double to)
{
	char in[256], out[256];
	uint32_t x = 2463534242u;
	size_t len, end, i;
	uint8_t *buf;
	FILE *f;

	media_path(in, sizeof(in), src);
	media_path(out, sizeof(out), dst);
	ck_assert_ptr_nonnull(f = fopen(in, "rb"));
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	buf = xcalloc(1, len);
	ck_assert_uint_eq(fread(buf, 1, len, f), len);
	fclose(f);
	for (i = (size_t)(from * (double)len);
	     i < (size_t)(to * (double)len) && i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	end = to > from ? len : (size_t)(from * (double)len);
	ck_assert_ptr_nonnull(f = fopen(out, "wb"));
	ck_assert_uint_eq(fwrite(buf, 1, end, f), end);
	fclose(f);
	free(buf);
}

double
media_json_num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

const char *
media_json_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

void
media_samples_dir(char *buf, size_t size, const char *set)
{
	const char *root = getenv("REEL_SAMPLES");

	if (root != NULL && *root != '\0')
		snprintf(buf, size, "%s/%s", root, set);
	else
		snprintf(buf, size, "../shared/testdata/%s", set);
}

bool
media_samples_skip(const char *why)
{
	const char *ci = getenv("CI");

	ck_assert_msg(
	    ci == NULL || strcmp(ci, "true") != 0, "%s; CI=true needs it", why);
	printf("skip: %s\n", why);
	return true;
}
