/*
 * The table of reel-stages-nolibav.so: the stages that read only reel's
 * own artifacts (proxies and JSON). Their workers never load FFmpeg, which
 * costs about 30 ms of dynamic linking and most of a worker's memory.
 */
#include <stddef.h>

#include "motion_analysis.h"
#include "style_extraction.h"
#include "stage.h"

static const struct stage_ops nolibav_table[] = {
    {"motion_analysis", motion_analysis_run},
    {"style_extraction", style_extraction_run},
};

const struct stage_ops *
stage_find_nolibav(const char *name)
{
	return stage_lookup(nolibav_table,
	    sizeof(nolibav_table) / sizeof(nolibav_table[0]), name);
}
