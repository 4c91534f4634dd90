/*
 * The table of reel-stages.so: the stages that decode or encode media,
 * and the function that runs each. The others are in table_nolibav.c.
 */
#include <stddef.h>

#include <libavutil/log.h>

#include "audio_analysis.h"
#include "probe.h"
#include "rendering/rendering.h"
#include "stage.h"
#include "style_application.h"
#include "video_analysis.h"

static const struct stage_ops stages_table[] = {
    {"probe", probe_run},
    {"video_analysis", video_analysis_run},
    {"audio_analysis", audio_analysis_run},
    {"style_application", style_application_run},
    {"rendering", rendering_run},
};

/*
 * Runs when reel-stages.so is loaded. libav logs its errors per bad
 * packet; the stage reports the one cause that matters, in STAGE_FAIL and
 * on stderr.
 */
static void __attribute__((__constructor__)) stages_quiet_libav(void)
{
	av_log_set_level(AV_LOG_FATAL);
}

const struct stage_ops *
stage_find(const char *name)
{
	return stage_lookup(
	    stages_table, sizeof(stages_table) / sizeof(stages_table[0]), name);
}
