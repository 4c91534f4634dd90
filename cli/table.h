/*
 * Plain-text table helpers for the command-line tools (reelctl, reelstat):
 * progress bars, compact durations, terminal width, and cells that are safe
 * to print: control characters never reach the terminal, and cut text never
 * splits a UTF-8 sequence.
 */
#ifndef REEL_TABLE_H
#define REEL_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define TABLE_BAR_WIDTH 20

/*
 * "[#########...........]  45%": width cells between brackets, then the
 * percent right-aligned in 4 columns. percent is clamped to 0..100.
 */
void table_progress(char *buf, size_t size, int percent, int width);

/* "850ms", "12.3s", "4m05s", "2h03m", "3d04h"; negative counts as 0. */
void table_duration(char *buf, size_t size, int64_t ms);

/* Columns of the terminal behind fd, or 0 if fd is not a terminal. */
int table_term_width(int fd);

/*
 * Copies src into dst for display: control characters become spaces and, if
 * cols > 0, the text is cut to cols columns (one per UTF-8 character),
 * ending in "..." when cut. dst is always NUL-terminated.
 */
void table_cell(char *dst, size_t size, const char *src, size_t cols);

#endif
