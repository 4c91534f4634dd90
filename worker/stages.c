/*
 * The stage table: every name reel-worker accepts after --stage, and the
 * function that runs it. A name missing from the table is a usage error.
 */
#include <stddef.h>
#include <string.h>

#include <libavutil/log.h>

#include "audio_analysis.h"
#include "motion_analysis.h"
#include "rendering.h"
#include "style_application.h"
#include "style_extraction.h"
#include "video_analysis.h"
#include "worker.h"

static const struct stage_ops stages_table[] = {
    {"probe", stage_probe_run},
    {"video_analysis", video_analysis_run},
    {"audio_analysis", audio_analysis_run},
    {"motion_analysis", motion_analysis_run},
    {"style_extraction", style_extraction_run},
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
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof(stages_table) / sizeof(stages_table[0]); i++) {
		if (strcmp(stages_table[i].name, name) == 0)
			return &stages_table[i];
	}
	return NULL;
}
