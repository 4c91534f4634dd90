/*
 * jobstate.c: the contract's state machine, pure (no I/O, no clock).
 */
#ifndef REEL_SUP_JOBSTATE_H
#define REEL_SUP_JOBSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "contract.h"
#include "jobtab.h"

#define JOBSTATE_CODE_SIZE 32
struct jobstate {
	enum job_status status;
	enum stage stage; /* STAGE_NONE unless processing */
	int progress;
	bool template_only;
	int64_t created_ms;
	int64_t updated_ms;
	int64_t started_ms;
	int64_t completed_ms;
	enum stage error_stage;
	char error_code[JOBSTATE_CODE_SIZE];
	char error[JOBTAB_ERROR_SIZE];
};
void jobstate_init(struct jobstate *st, bool template_only, int64_t now);
int jobstate_start(struct jobstate *st, int64_t now);
int jobstate_progress(
    struct jobstate *st, enum stage stage, unsigned permille, int64_t now);
int jobstate_stage_done(struct jobstate *st, enum stage stage, int64_t now);
int jobstate_fail(struct jobstate *st, enum stage stage, const char *code,
    const char *message, int64_t now);
int jobstate_cancel(struct jobstate *st, int64_t now);
bool jobstate_valid(const struct jobstate *st);

#endif
