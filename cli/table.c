/*
 * Plain-text table helpers for reelctl and reelstat. Cells come from the
 * job table or the daemon, and error text can quote a media file's own
 * metadata, so nothing is printed raw: control characters (terminal escape
 * sequences included) are blanked before a cell reaches the screen.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "table.h"

#define TABLE_BAR_MAX 100
#define TABLE_ELLIPSIS "..."
#define TABLE_ELLIPSIS_LEN (sizeof(TABLE_ELLIPSIS) - 1)
#define TABLE_DEFAULT_COLS 80

void
table_progress(char *buf, size_t size, int percent, int width)
{
	char bar[TABLE_BAR_MAX + 1];
	int filled;

	if (percent < 0)
		percent = 0;
	if (percent > 100)
		percent = 100;
	if (width < 1 || width > TABLE_BAR_MAX)
		width = TABLE_BAR_WIDTH;
	filled = percent * width / 100;
	memset(bar, '#', filled);
	memset(bar + filled, '.', width - filled);
	bar[width] = '\0';
	snprintf(buf, size, "[%s] %3d%%", bar, percent);
}

void
table_duration(char *buf, size_t size, int64_t ms)
{
	long long s;

	if (ms < 0)
		ms = 0;
	s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, size, "%lldms", (long long)ms);
	else if (s < 60)
		snprintf(
		    buf, size, "%lld.%llds", s, (long long)(ms % 1000) / 100);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(
		    buf, size, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

int
table_term_width(int fd)
{
	struct winsize ws;

	if (!isatty(fd))
		return 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return TABLE_DEFAULT_COLS;
}

static size_t
table_columns(const unsigned char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if ((*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Bytes a UTF-8 sequence claims from its first byte; 1 if malformed. */
static size_t
table_seqlen(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

void
table_cell(char *dst, size_t size, const char *src, size_t cols)
{
	const unsigned char *s = (const unsigned char *)src;
	bool cut = cols > 0 && table_columns(s) > cols;
	bool dots =
	    cut && cols > TABLE_ELLIPSIS_LEN && size > TABLE_ELLIPSIS_LEN + 1;
	size_t room = SIZE_MAX, limit, used = 0, len = 0;

	if (size == 0)
		return;
	limit = size - 1 - (dots ? TABLE_ELLIPSIS_LEN : 0);
	if (cut)
		room = dots ? cols - TABLE_ELLIPSIS_LEN : cols;
	for (; *s != '\0' && len < limit; s++) {
		if ((*s & 0xc0) != 0x80) {
			/* Whole characters only: never half a sequence. */
			if (used == room || len + table_seqlen(*s) > limit)
				break;
			used++;
		}
		dst[len++] = *s < 0x20 || *s == 0x7f ? ' ' : (char)*s;
	}
	dst[len] = '\0';
	if (dots)
		memcpy(dst + len, TABLE_ELLIPSIS, TABLE_ELLIPSIS_LEN + 1);
}
