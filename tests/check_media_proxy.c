/*
 * Tests for media/proxy.c, the motion proxy file: frames and times come
 * back exactly as written, from any row stride; the file has its final
 * name only once committed and nothing is left after an abort; a missing
 * file is STAGE_E_NOINPUT; a file cut anywhere, or not a proxy, is
 * STAGE_E_DATA before any frame is read; reads out of range fail.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "media.h"
#include "proxy.h"

#define W 24
#define H 10
#define FRAMES 7

static struct stage_ctx ctx;

static void
setup(void)
{
	media_setup("check_media_proxy");
	memset(&ctx, 0, sizeof(ctx));
	ctx.job_dir = media_dir();
}

static void
teardown(void)
{
	media_teardown();
}

/* Pixel (x, y) of frame i. */
static uint8_t
pixel(int i, int x, int y)
{
	return (uint8_t)(i * 31 + x * 7 + y * 3);
}

/* Entries of the job directory, dot files included. */
static int
entries(void)
{
	struct dirent *de;
	DIR *d = opendir(media_dir());
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static off_t
file_size(const char *name)
{
	char path[256];
	struct stat sb;

	media_path(path, sizeof(path), name);
	ck_assert_int_eq(stat(path, &sb), 0);
	return sb.st_size;
}

/* Writes FRAMES frames from rows 40 bytes apart; returns the id. */
static void
write_proxy(const char *name, char id[PROXY_ID_SIZE])
{
	struct proxy_writer *w;
	uint8_t rows[H][40];
	int i, x, y;

	ck_assert_int_eq(proxy_create(&ctx, name, W, H, 29.97, &w), STAGE_OK);
	for (i = 0; i < FRAMES; i++) {
		for (y = 0; y < H; y++)
			for (x = 0; x < 40; x++)
				rows[y][x] = x < W ? pixel(i, x, y) : 0xee;
		ck_assert_int_eq(
		    proxy_put(w, i * 0.5 + 0.25, rows[0], 40), STAGE_OK);
	}
	ck_assert_int_eq(proxy_writer_info(w)->frames, FRAMES);
	memcpy(id, proxy_writer_info(w)->id, PROXY_ID_SIZE);
	/* Until the commit only a temporary dot file exists. */
	ck_assert_int_eq(entries(), 1);
	ck_assert_int_eq(proxy_commit(w), STAGE_OK);
	ck_assert_int_eq(entries(), 1);
}

START_TEST(test_round_trip)
{
	struct proxy_reader *r;
	const struct proxy_info *in;
	char id[PROXY_ID_SIZE], name[PROXY_NAME_SIZE];
	uint8_t gray[W * H];
	double t;
	int i, x, y;

	proxy_name("source", name);
	ck_assert_str_eq(name, "proxy-source.gray");
	write_proxy(name, id);
	ck_assert_int_eq(file_size(name),
	    PROXY_HEADER_SIZE + FRAMES * (8 + W * H) + PROXY_TRAILER_SIZE);
	ck_assert_int_eq(proxy_open(&ctx, name, &r), STAGE_OK);
	in = proxy_reader_info(r);
	ck_assert_int_eq(in->width, W);
	ck_assert_int_eq(in->height, H);
	ck_assert_int_eq(in->frames, FRAMES);
	ck_assert_double_eq(in->fps_declared, 29.97);
	ck_assert_str_eq(in->id, id);
	ck_assert_int_eq((int)strlen(id), 16);
	/* Backwards, to show reads are positional. */
	for (i = FRAMES - 1; i >= 0; i--) {
		ck_assert_int_eq(proxy_read(r, i, gray, &t), 0);
		ck_assert_double_eq(t, i * 0.5 + 0.25);
		for (y = 0; y < H; y++)
			for (x = 0; x < W; x++)
				ck_assert_int_eq(
				    gray[y * W + x], pixel(i, x, y));
	}
	ck_assert_int_eq(proxy_read(r, FRAMES, gray, &t), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(proxy_read(r, -1, gray, &t), -1);
	proxy_close(r);
}
END_TEST

START_TEST(test_abort_and_empty)
{
	struct proxy_writer *w;
	uint8_t gray[W * H] = {0};

	ck_assert_int_eq(
	    proxy_create(&ctx, "a.gray", W, H, 25.0, &w), STAGE_OK);
	ck_assert_int_eq(proxy_put(w, 0.0, gray, W), STAGE_OK);
	proxy_abort(w);
	ck_assert_int_eq(entries(), 0);
	/* A proxy without a frame is never committed. */
	ck_assert_int_eq(
	    proxy_create(&ctx, "b.gray", W, H, 25.0, &w), STAGE_OK);
	ck_assert_int_eq(proxy_commit(w), STAGE_E_SOFTWARE);
	ck_assert_int_eq(entries(), 0);
	ck_assert_int_eq(
	    proxy_create(&ctx, "c.gray", 0, H, 25.0, &w), STAGE_E_SOFTWARE);
	ck_assert_ptr_null(w);
}
END_TEST

static void
expect_bad(const char *name, enum stage_result want, const char *why)
{
	struct proxy_reader *r;

	ck_assert_int_eq(proxy_open(&ctx, name, &r), want);
	ck_assert_ptr_null(r);
	ck_assert_msg(
	    strstr(ctx.error, name) != NULL && strstr(ctx.error, why) != NULL,
	    "\"%s\" lacks %s or %s", ctx.error, name, why);
}

static void
cut(const char *name, off_t size)
{
	char path[256];

	media_path(path, sizeof(path), name);
	ck_assert_int_eq(truncate(path, size), 0);
}

START_TEST(test_missing_cut_or_foreign)
{
	char id[PROXY_ID_SIZE], path[256];
	off_t full;
	FILE *f;

	expect_bad("proxy-template.gray", STAGE_E_NOINPUT, "video_analysis");
	write_proxy("p.gray", id);
	full = file_size("p.gray");
	/* The trailer gone, then whole frames gone, then mid-frame. */
	cut("p.gray", full - PROXY_TRAILER_SIZE);
	expect_bad("p.gray", STAGE_E_DATA, "truncated");
	cut("p.gray", PROXY_HEADER_SIZE + 3 * (8 + W * H));
	expect_bad("p.gray", STAGE_E_DATA, "truncated");
	cut("p.gray", PROXY_HEADER_SIZE + 5);
	expect_bad("p.gray", STAGE_E_DATA, "truncated");
	cut("p.gray", 10);
	expect_bad("p.gray", STAGE_E_DATA, "truncated");
	/* Right size, wrong content. */
	media_path(path, sizeof(path), "q.gray");
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (off_t i = 0; i < full; i++)
		fputc('x', f);
	fclose(f);
	expect_bad("q.gray", STAGE_E_DATA, "not a version 1");
}
END_TEST

static Suite *
media_proxy_suite(void)
{
	Suite *s = suite_create("media_proxy");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_abort_and_empty);
	tcase_add_test(tc, test_missing_cut_or_foreign);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(media_proxy_suite)
