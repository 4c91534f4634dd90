/*
 * The upload probe: reads an uploaded video's technical metadata (the
 * documented VideoMetadata, plus has_audio and rotation) into ctx->result.
 *
 * Guarantees: the video containers FFmpeg reads that hold their media
 * themselves pass (the five of the contract, and the others users bring:
 * docs/worker.md, "Containers"); playlists, references and still images do not.
 * The container is recognised from the bytes, never from the file name,
 * before any demuxer parses it, and only the file protocol is allowed,
 * so a playlist or reference file cannot make the worker open anything
 * else. A file passes only when one video frame really decodes
 * (a valid header over garbage data fails) and the video's last second is
 * there (a file cut short fails even when its header is whole). Every
 * rejection is STAGE_E_DATA (or NOINPUT, IO, TEMP from libav's error) with
 * a reason a user can read.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/display.h>

#include "av.h"
#include "probe.h"

#define PROBE_SUPPORTED                                                     \
	"mp4, mov, avi, mkv, webm, 3gp, mpegts, mpeg, flv, asf, ogg, mxf, " \
	"nut, dv, ivf, h264, hevc, m4v, mj2"
/* libavformat's demuxers whose container is named by the file's bytes. */
#define PROBE_DEMUX_MOV "mov,mp4,m4a,3gp,3g2,mj2"
#define PROBE_DEMUX_MKV "matroska,webm"
/*
 * Video packets read while looking for one good frame: enough for a
 * stream that starts a whole default x264 GOP (250) before its first
 * keyframe, still quick when every packet is garbage.
 */
#define PROBE_MAX_PACKETS 600
/* The EBML header (with its DocType) sits in the first bytes. */
#define PROBE_EBML_READ 1024
/* The stretch at the end of the video that must be present. */
#define PROBE_TAIL_SECONDS 1.0
/* A year: past any real end, yet safe to rescale to any time base. */
#define PROBE_SEEK_END ((int64_t)AV_TIME_BASE * 86400 * 365)
#define EBML_ID_HEADER 0x1A45DFA3
#define EBML_ID_DOCTYPE 0x4282

static const char *
probe_base(const char *path)
{
	const char *base = strrchr(path, '/');

	return base != NULL ? base + 1 : path;
}

/*
 * The other demuxers that take a file of video and nothing else, with the
 * name the metadata gives their container.
 */
static const struct probe_demuxer {
	const char *demuxer, *format;
} probe_demuxers[] = {
    {"avi", "avi"},
    {"mpegts", "mpegts"},
    {"mpeg", "mpeg"},
    {"flv", "flv"},
    {"asf", "asf"},
    {"ogg", "ogg"},
    {"mxf", "mxf"},
    {"nut", "nut"},
    {"dv", "dv"},
    {"ivf", "ivf"},
    {"h264", "h264"},
    {"hevc", "hevc"},
    {"m4v", "m4v"},
};

static enum stage_result
probe_unsupported(struct stage_ctx *ctx, const char *name)
{
	return stage_fail(ctx, STAGE_E_DATA,
	    "unsupported container %s; supported: %s", name, PROBE_SUPPORTED);
}

/* Image demuxers: image2 and the *_pipe family (png_pipe, jpeg_pipe...). */
static bool
probe_still_image(const char *demuxer)
{
	size_t n = strlen(demuxer);

	return strcmp(demuxer, "image2") == 0 ||
	       (n > 5 && strcmp(demuxer + n - 5, "_pipe") == 0) ||
	       strcmp(demuxer, "gif") == 0 || strcmp(demuxer, "webp") == 0;
}

/* The container's name for the metadata; NULL when it is not taken. */
static const char *
probe_demuxer_format(const char *demuxer)
{
	size_t i;

	for (i = 0; i < sizeof(probe_demuxers) / sizeof(probe_demuxers[0]);
	     i++) {
		if (strcmp(demuxer, probe_demuxers[i].demuxer) == 0)
			return probe_demuxers[i].format;
	}
	return NULL;
}

/* Recognises the container from the content alone (no file name hint). */
static enum stage_result
probe_sniff(struct stage_ctx *ctx, const char *path, const AVInputFormat **ifmt)
{
	AVIOContext *pb = NULL;
	AVDictionary *opts = NULL;
	int err;

	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	err = avio_open2(&pb, path, AVIO_FLAG_READ, NULL, &opts);
	av_dict_free(&opts);
	if (err < 0)
		return avh_fail(ctx, err, "cannot open %s", probe_base(path));
	err = av_probe_input_buffer2(pb, ifmt, NULL, NULL, 0, 0);
	avio_closep(&pb);
	if (err < 0)
		return avh_fail(ctx, err, "%s is not a recognised media file",
		    probe_base(path));
	return STAGE_OK;
}

/* The container was recognised, so bad data here means a damaged file. */
static enum stage_result
probe_open_fail(struct stage_ctx *ctx, int err, const char *path)
{
	if (avh_result(err) == STAGE_E_DATA)
		return avh_fail(
		    ctx, err, "%s is corrupt or truncated", probe_base(path));
	return avh_fail(ctx, err, "cannot read %s", probe_base(path));
}

static enum stage_result
probe_open(struct stage_ctx *ctx, const char *path, AVFormatContext **out)
{
	const AVInputFormat *ifmt = NULL;
	AVFormatContext *fmt = NULL;
	AVDictionary *opts = NULL;
	enum stage_result code;
	int err;

	if ((code = probe_sniff(ctx, path, &ifmt)) != STAGE_OK)
		return code;
	if (probe_still_image(ifmt->name))
		return stage_fail(ctx, STAGE_E_DATA,
		    "%s is a still image (%s), not a video", probe_base(path),
		    ifmt->name);
	if (strcmp(ifmt->name, PROBE_DEMUX_MOV) != 0 &&
	    strcmp(ifmt->name, PROBE_DEMUX_MKV) != 0 &&
	    probe_demuxer_format(ifmt->name) == NULL)
		return probe_unsupported(ctx, ifmt->name);
	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	err = avformat_open_input(&fmt, path, ifmt, &opts);
	av_dict_free(&opts);
	if (err < 0)
		return probe_open_fail(ctx, err, path);
	if ((err = avformat_find_stream_info(fmt, NULL)) < 0) {
		avformat_close_input(&fmt);
		return probe_open_fail(ctx, err, path);
	}
	*out = fmt;
	return STAGE_OK;
}

/* mov and mp4 share a demuxer: the ftyp major brand tells them apart. */
static const char *
probe_brand(const AVFormatContext *fmt)
{
	const AVDictionaryEntry *e;

	e = av_dict_get(fmt->metadata, "major_brand", NULL, 0);
	/* QuickTime files may lack ftyp: it came with ISO BMFF, later. */
	if (e == NULL || strncmp(e->value, "qt  ", 4) == 0)
		return "mov";
	if (strncmp(e->value, "3g", 2) == 0)
		return "3gp";
	if (strncmp(e->value, "mjp2", 4) == 0)
		return "mj2";
	return "mp4";
}

/* An EBML variable-length integer; IDs keep their length marker. */
static size_t
ebml_vint(const uint8_t *p, size_t avail, bool id, uint64_t *val)
{
	size_t len = 1, i;
	uint64_t v;

	if (avail == 0 || p[0] == 0)
		return 0;
	while (!(p[0] & (0x80 >> (len - 1))))
		len++;
	if (len > avail)
		return 0;
	v = id ? p[0] : (uint64_t)(p[0] & (0xFF >> len));
	for (i = 1; i < len; i++)
		v = v << 8 | p[i];
	*val = v;
	return len;
}

/* Finds the DocType in an EBML header; "matroska" (its default) if none. */
static void
ebml_doctype(const uint8_t *buf, size_t n, char *out, size_t outsize)
{
	uint64_t id, size;
	size_t pos, k, end;

	snprintf(out, outsize, "matroska");
	if ((pos = ebml_vint(buf, n, true, &id)) == 0 || id != EBML_ID_HEADER)
		return;
	if ((k = ebml_vint(buf + pos, n - pos, false, &size)) == 0)
		return;
	pos += k;
	end = size < n - pos ? pos + size : n;
	while (pos < end) {
		if ((k = ebml_vint(buf + pos, end - pos, true, &id)) == 0)
			return;
		pos += k;
		if ((k = ebml_vint(buf + pos, end - pos, false, &size)) == 0 ||
		    size > end - pos - k)
			return;
		pos += k;
		if (id == EBML_ID_DOCTYPE) {
			snprintf(out, outsize, "%.*s", (int)size,
			    (const char *)buf + pos);
			return;
		}
		pos += size;
	}
}

/* mkv and webm share a demuxer, which keeps the DocType to itself. */
static enum stage_result
probe_doctype(struct stage_ctx *ctx, const char *path, const char **format)
{
	uint8_t buf[PROBE_EBML_READ];
	char doctype[32];
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return stage_fail(ctx, STAGE_E_IO, "cannot reopen %s: %s",
		    probe_base(path), strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ebml_doctype(buf, n, doctype, sizeof(doctype));
	if (strcmp(doctype, "webm") == 0)
		*format = "webm";
	else if (strcmp(doctype, "matroska") == 0)
		*format = "mkv";
	else
		return probe_unsupported(ctx, doctype);
	return STAGE_OK;
}

static enum stage_result
probe_container(
    struct stage_ctx *ctx, const AVFormatContext *fmt, const char **format)
{
	if (strcmp(fmt->iformat->name, PROBE_DEMUX_MKV) == 0)
		return probe_doctype(ctx, ctx->source, format);
	*format = strcmp(fmt->iformat->name, PROBE_DEMUX_MOV) == 0
		      ? probe_brand(fmt)
		      : probe_demuxer_format(fmt->iformat->name);
	return STAGE_OK;
}

static enum stage_result
probe_streams(
    struct stage_ctx *ctx, AVFormatContext *fmt, int *video, bool *has_audio)
{
	const AVCodecParameters *par;
	int idx;

	idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	/* Cover art is a video stream of one picture, not a video. */
	if (idx < 0 ||
	    (fmt->streams[idx]->disposition & AV_DISPOSITION_ATTACHED_PIC))
		return stage_fail(ctx, STAGE_E_DATA, "no video stream");
	par = fmt->streams[idx]->codecpar;
	if (par->width <= 0 || par->height <= 0)
		return stage_fail(ctx, STAGE_E_DATA,
		    "the %s video stream has no frame size",
		    avcodec_get_name(par->codec_id));
	*video = idx;
	*has_audio = avh_audio_stream(fmt) >= 0;
	return STAGE_OK;
}

/* 1 once a frame decodes cleanly; errors are kept in *last_err. */
static int
probe_receive(AVCodecContext *dec, AVFrame *frame, int *last_err)
{
	int err, good;

	for (;;) {
		err = avcodec_receive_frame(dec, frame);
		if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
			return 0;
		if (err < 0) {
			*last_err = err;
			return 0;
		}
		good = !(frame->flags & AV_FRAME_FLAG_CORRUPT) &&
		       frame->decode_error_flags == 0;
		av_frame_unref(frame);
		if (good)
			return 1;
	}
}

static int
probe_decode_packets(AVFormatContext *fmt, AVCodecContext *dec, int idx,
    AVPacket *pkt, AVFrame *frame, int *last_err)
{
	int npackets = 0, err;

	while (npackets < PROBE_MAX_PACKETS) {
		if ((err = av_read_frame(fmt, pkt)) < 0) {
			if (err != AVERROR_EOF)
				*last_err = err;
			break;
		}
		if (pkt->stream_index == idx) {
			npackets++;
			if ((err = avcodec_send_packet(dec, pkt)) < 0)
				*last_err = err;
		}
		av_packet_unref(pkt);
		if (probe_receive(dec, frame, last_err))
			return 1;
	}
	/* Frame threads hold frames back: drain them before giving up. */
	if ((err = avcodec_send_packet(dec, NULL)) < 0 && err != AVERROR_EOF)
		*last_err = err;
	return probe_receive(dec, frame, last_err);
}

static enum stage_result
probe_decode(struct stage_ctx *ctx, AVFormatContext *fmt, int idx)
{
	const char *codec =
	    avcodec_get_name(fmt->streams[idx]->codecpar->codec_id);
	AVCodecContext *dec = NULL;
	AVPacket *pkt;
	AVFrame *frame;
	enum stage_result code;
	int last_err = 0;

	if ((code = avh_open_decoder(ctx, fmt, idx, 0, &dec)) != STAGE_OK)
		return code;
	pkt = av_packet_alloc();
	frame = av_frame_alloc();
	if (pkt == NULL || frame == NULL)
		code = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	else if (probe_decode_packets(fmt, dec, idx, pkt, frame, &last_err))
		code = STAGE_OK;
	else if (last_err != 0)
		code = avh_fail(
		    ctx, last_err, "cannot decode the %s video", codec);
	else
		code = stage_fail(ctx, STAGE_E_DATA,
		    "the %s video has no decodable frame", codec);
	av_frame_free(&frame);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	return code;
}

static double
probe_start(const AVFormatContext *fmt)
{
	return fmt->start_time != AV_NOPTS_VALUE
		   ? fmt->start_time / (double)AV_TIME_BASE
		   : 0.0;
}

/* A stream's own duration in seconds; 0 when it keeps none. */
static double
probe_stream_duration(const AVStream *st)
{
	return st->duration != AV_NOPTS_VALUE && st->duration > 0
		   ? st->duration * av_q2d(st->time_base)
		   : 0.0;
}

/*
 * In a multi-program MPEG-TS each programme keeps its own clock, so the
 * container's span across them means nothing (a broadcast capture of five
 * 1.4 s programmes spans 72054 s): the video's programme is as long as
 * its longest picture or sound. 0 when no such stream knows its length.
 */
static bool
probe_in_program(const AVProgram *p, int idx)
{
	unsigned j;

	for (j = 0; j < p->nb_stream_indexes; j++)
		if (p->stream_index[j] == (unsigned)idx)
			return true;
	return false;
}

static double
probe_program_duration(const AVFormatContext *fmt, const AVStream *st)
{
	const AVProgram *p;
	const AVStream *o;
	enum AVMediaType type;
	double longest = 0.0;
	unsigned i, j;

	for (i = 0; fmt->nb_programs > 1 && i < fmt->nb_programs; i++) {
		p = fmt->programs[i];
		if (!probe_in_program(p, st->index))
			continue;
		for (j = 0; j < p->nb_stream_indexes; j++) {
			o = fmt->streams[p->stream_index[j]];
			type = o->codecpar->codec_type;
			if (type == AVMEDIA_TYPE_VIDEO ||
			    type == AVMEDIA_TYPE_AUDIO)
				longest =
				    fmax(longest, probe_stream_duration(o));
		}
		if (longest > 0.0)
			return longest;
	}
	return 0.0;
}

/*
 * The video's programme's duration when the file has several, else the
 * container's, else the video stream's; 0 when unknown.
 */
static double
probe_duration(const AVFormatContext *fmt, const AVStream *st)
{
	double programme = probe_program_duration(fmt, st);

	if (programme > 0.0)
		return programme;
	if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		return fmt->duration / (double)AV_TIME_BASE;
	return probe_stream_duration(st);
}

/*
 * Where the video stream says it ends (seconds, absolute): its own
 * duration when the container keeps one per track, else the container's;
 * -1 when neither is known.
 */
static double
probe_video_end(const AVFormatContext *fmt, const AVStream *st)
{
	double tb = av_q2d(st->time_base);

	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		return (st->start_time != AV_NOPTS_VALUE ? st->start_time : 0) *
			   tb +
		       st->duration * tb;
	if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		return probe_start(fmt) + fmt->duration / (double)AV_TIME_BASE;
	return -1.0;
}

/* Where the video's packets and any stream's packets end, s, absolute. */
struct probe_ends {
	double video, any;
};

/*
 * Seeks to from (seconds; < 0: the end) and reads every packet to EOF.
 * Ends are -1 where no packet was read. Without an index to seek with,
 * the read goes on from where it is.
 */
static void
probe_last_end(AVFormatContext *fmt, int idx, double from, struct probe_ends *e)
{
	const AVStream *st;
	int64_t ts, t;
	double end;
	AVPacket *pkt;

	e->video = e->any = -1.0;
	if ((pkt = av_packet_alloc()) == NULL)
		return;
	ts = from < 0.0 ? PROBE_SEEK_END : (int64_t)(from * AV_TIME_BASE);
	(void)avformat_seek_file(fmt, -1, INT64_MIN, ts, ts, 0);
	while (av_read_frame(fmt, pkt) >= 0) {
		st = fmt->streams[pkt->stream_index];
		t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
		if (t != AV_NOPTS_VALUE) {
			end = (t + pkt->duration) * av_q2d(st->time_base);
			e->any = fmax(e->any, end);
			if (pkt->stream_index == idx)
				e->video = fmax(e->video, end);
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
}

/*
 * A file cut short can keep a whole header (faststart mp4, mkv, avi): its
 * last second of video must be there too. A file that does not say how
 * long it is (a browser's MediaRecorder webm) gets its duration from the
 * end of its video instead.
 */
static enum stage_result
probe_check_end(
    struct stage_ctx *ctx, AVFormatContext *fmt, int idx, double *duration)
{
	const AVStream *st = fmt->streams[idx];
	bool own = st->duration != AV_NOPTS_VALUE && st->duration > 0;
	double start = probe_start(fmt), want, last;
	struct probe_ends e;

	want = probe_video_end(fmt, st);
	probe_last_end(
	    fmt, idx, want >= 0.0 ? want - PROBE_TAIL_SECONDS : -1.0, &e);
	/* Nothing after the seek: the data stops well before; find where. */
	if (want >= 0.0 && e.video < 0.0)
		probe_last_end(fmt, idx, start, &e);
	if (*duration <= 0.0) {
		if (e.video <= start)
			return stage_fail(
			    ctx, STAGE_E_DATA, "unknown duration");
		*duration = e.video - start;
		return STAGE_OK;
	}
	/*
	 * The container's duration covers every stream: a subtitle that
	 * ends after a short video is not a truncation.
	 */
	last = own ? e.video : e.any;
	if (last < want - PROBE_TAIL_SECONDS)
		return stage_fail(ctx, STAGE_E_DATA,
		    "truncated: the video stops at %.1f s of %.1f s",
		    e.video > start ? e.video - start : 0.0, want - start);
	return STAGE_OK;
}

static double
probe_frame_rate(const AVStream *st)
{
	if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
		return av_q2d(st->avg_frame_rate);
	if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0)
		return av_q2d(st->r_frame_rate);
	return 0.0;
}

/* The video's own rate when known; else the container's (audio too). */
static int64_t
probe_bitrate_kbps(
    const AVFormatContext *fmt, const AVStream *st, double duration)
{
	int64_t bps = st->codecpar->bit_rate, size;

	if (bps <= 0)
		bps = fmt->bit_rate;
	if (bps <= 0 && (size = avio_size(fmt->pb)) > 0)
		bps = (int64_t)(size * 8.0 / duration);
	return bps > 0 ? (bps + 500) / 1000 : 0;
}

/* Counterclockwise degrees of the display matrix, 0..359. */
static int
probe_rotation(const AVStream *st)
{
	const uint8_t *sd;
	size_t size = 0;
	double theta;
	long deg;

	sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (sd == NULL || size < 9 * sizeof(int32_t))
		return 0;
	theta = av_display_rotation_get((const int32_t *)(const void *)sd);
	if (isnan(theta))
		return 0;
	deg = lround(theta) % 360;
	return (int)(deg < 0 ? deg + 360 : deg);
}

/* FFmpeg's codec names, except HEVC, which the API documents as h265. */
static const char *
probe_codec_name(enum AVCodecID id)
{
	return id == AV_CODEC_ID_HEVC ? "h265" : avcodec_get_name(id);
}

static double
probe_round3(double x)
{
	return round(x * 1000.0) / 1000.0;
}

static enum stage_result
probe_result(struct stage_ctx *ctx, const AVFormatContext *fmt,
    const AVStream *st, const char *format, bool has_audio, double duration)
{
	double rate = probe_frame_rate(st);

	if (rate <= 0.0)
		return stage_fail(ctx, STAGE_E_DATA, "unknown frame rate");
	ctx->result = json_pack("{s:i, s:i, s:f, s:f, s:s, s:I, s:s, s:b, s:i}",
	    "width", st->codecpar->width, "height", st->codecpar->height,
	    "duration_seconds", probe_round3(duration), "frame_rate",
	    probe_round3(rate), "codec",
	    probe_codec_name(st->codecpar->codec_id), "bitrate_kbps",
	    (json_int_t)probe_bitrate_kbps(fmt, st, duration), "format", format,
	    "has_audio", (int)has_audio, "rotation", probe_rotation(st));
	if (ctx->result == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

static enum stage_result
probe_media(struct stage_ctx *ctx, AVFormatContext *fmt)
{
	const char *format = NULL;
	enum stage_result code;
	bool has_audio = false;
	double duration;
	int idx = -1;

	if ((code = probe_container(ctx, fmt, &format)) != STAGE_OK)
		return code;
	if ((code = probe_streams(ctx, fmt, &idx, &has_audio)) != STAGE_OK)
		return code;
	stage_progress(ctx, 0.5);
	if ((code = probe_decode(ctx, fmt, idx)) != STAGE_OK)
		return code;
	stage_progress(ctx, 0.75);
	duration = probe_duration(fmt, fmt->streams[idx]);
	if ((code = probe_check_end(ctx, fmt, idx, &duration)) != STAGE_OK)
		return code;
	return probe_result(
	    ctx, fmt, fmt->streams[idx], format, has_audio, duration);
}

enum stage_result
probe_run(struct stage_ctx *ctx)
{
	AVFormatContext *fmt = NULL;
	enum stage_result code;

	if (ctx->source == NULL)
		return stage_fail(ctx, STAGE_E_NOINPUT, "no video to probe");
	if ((code = probe_open(ctx, ctx->source, &fmt)) != STAGE_OK)
		return code;
	stage_progress(ctx, 0.25);
	code = probe_media(ctx, fmt);
	avformat_close_input(&fmt);
	if (code == STAGE_OK)
		stage_progress(ctx, 1.0);
	return code;
}
