# reel: one non-recursive Makefile.
#
#   make                      build reeld, reel-worker, reel-httpd, reelctl, reelstat
#   make check                install missing packages, build, run every test
#   make demo                 install missing packages, run a job end to end
#   make SANITIZE=address,undefined check
#
# Each flavour builds into its own directory, so sanitizer and plain objects
# never mix: build/ by default, build-address-undefined/ with SANITIZE.

comma := ,
O := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

CC ?= cc
CFLAGS ?= -O2 -g
# snprintf into fixed buffers truncates on purpose (bounded messages); paths
# cannot truncate because reeld refuses directories longer than 512 bytes.
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wformat=2 \
	-Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-format-truncation -MMD -MP
ifneq ($(SANITIZE),)
override CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
override LDFLAGS += -fsanitize=$(SANITIZE)
endif

MSGPACK_PC := $(shell pkg-config --exists msgpack-c && echo msgpack-c || echo msgpack)
pc_cflags = $(shell pkg-config --cflags $(1))
pc_libs = $(shell pkg-config --libs $(1))

IPC_PC := jansson $(MSGPACK_PC) libevent
# common/ links zlib (wal.c checksums records with its crc32).
BASE_PC := zlib
SUP_PC := $(IPC_PC) libsystemd libcurl libcrypto
LIBAV_PC := libavformat libavcodec libavfilter libavutil libswscale \
	libswresample
MEDIA_PC := jansson $(LIBAV_PC)
STAGE_PC := $(MEDIA_PC) libebur128 aubio
CLI_PC := jansson $(MSGPACK_PC)
HTTPD_PC := jansson $(MSGPACK_PC) libmicrohttpd libcrypto
# The worker's seccomp filter (worker/sandbox.c).
SANDBOX_PC := libseccomp
WORKER_PC := $(IPC_PC) $(SANDBOX_PC)

# What each folder may include is its include path (docs/ARCHITECTURE.md):
#  - ipc/, shm/ and common/ see only each other;
#  - dsp/ sees only common/, and gets no package's flags: no FFmpeg, no
#    jansson, no I/O library;
#  - media/ sees the stage contract (worker/api/stage.h), dsp/ and common/;
#  - stages/ see media/, dsp/, the contract and common/, never ipc/: no
#    socket, no msgpack;
#  - worker/ (the process) sees ipc/, common/ and the contract, never a
#    stage: it finds them in the stage libraries at run time;
#  - httpd/ (reel-httpd) sees ipc/, shm/, common/ and cli/'s client of
#    reeld.sock, never supervisor/: it holds no job state.
BASE_INC := -Icommon -Iipc -Ishm
DSP_INC := -Idsp -Icommon
MEDIA_INC := -Imedia -Idsp -Iworker/api -Icommon
STAGE_INC := -Istages -Imedia -Idsp -Iworker/api -Icommon
WORKER_INC := -Iworker -Iworker/api $(BASE_INC)
HTTPD_INC := -Ihttpd -Icli $(BASE_INC)

COMMON_SRCS := $(wildcard common/*.c)
IPC_SRCS := $(wildcard ipc/*.c)
SHM_SRCS := $(wildcard shm/*.c)
SUP_SRCS := $(filter-out supervisor/main.c,$(wildcard supervisor/*.c))
DSP_SRCS := $(wildcard dsp/*.c)
MEDIA_SRCS := $(wildcard media/*.c)
STAGE_SRCS := $(wildcard stages/*.c stages/rendering/*.c)
WORKER_SRCS := $(filter-out worker/main.c,$(wildcard worker/*.c))
CLI_SRCS := $(filter-out cli/reelctl.c cli/reelstat.c,$(wildcard cli/*.c))
HTTPD_SRCS := $(filter-out httpd/main.c,$(wildcard httpd/*.c))

objs = $(patsubst %.c,$(O)/%.o,$(1))
COMMON_OBJS := $(call objs,$(COMMON_SRCS))
IPC_OBJS := $(call objs,$(IPC_SRCS))
SHM_OBJS := $(call objs,$(SHM_SRCS))
SUP_OBJS := $(call objs,$(SUP_SRCS))
DSP_OBJS := $(call objs,$(DSP_SRCS))
MEDIA_OBJS := $(call objs,$(MEDIA_SRCS))
STAGE_OBJS := $(call objs,$(STAGE_SRCS))
WORKER_OBJS := $(call objs,$(WORKER_SRCS))
CLI_OBJS := $(call objs,$(CLI_SRCS))
HTTPD_OBJS := $(call objs,$(HTTPD_SRCS))
# The pure algorithms as one library: a test links it alone.
DSP_LIB := $(O)/libreel-dsp.a
# ipc/ and common/ as archives too, so that a program links only the
# modules it calls: reel-worker needs no libevent (peer.c) and no zlib
# (wal.c), and every library it loads costs its start.
IPC_LIB := $(O)/libreel-ipc.a
COMMON_LIB := $(O)/libreel-common.a

BINS := $(O)/reeld $(O)/reel-worker $(O)/reel-httpd $(O)/reelctl $(O)/reelstat

# Check suites, one per module, named by folder: tests/check_sup_*.c link
# the supervisor modules, check_dsp_*.c only libreel-dsp.a,
# check_media_*.c, check_stage_*.c and check_worker_*.c the worker's
# modules, check_cli_*.c the client modules, check_httpd_*.c
# reel-httpd's, every other tests/check_*.c
# only common/, ipc/ and shm/.
CHECK_SRCS := $(wildcard tests/check_*.c)
CHECKS := $(patsubst tests/%.c,$(O)/tests/%,$(CHECK_SRCS))
TEST_HELPERS := $(O)/tests/fake_worker $(O)/tests/rawclient \
	$(O)/tests/notifylisten $(O)/tests/labmean \
	$(O)/tests/webhook_receiver $(O)/tests/webhook_verify
BENCHES := $(patsubst bench/%.c,$(O)/bench/%,$(wildcard bench/*.c))
# What the benchmarks that drive a real reeld share.
BENCH_LIB_OBJS := $(patsubst bench/lib/%.c,$(O)/bench/lib/%.o,$(wildcard bench/lib/*.c))

.PHONY: all check unit integration demo deps clean format fuzz install

all: $(BINS) $(CHECKS) $(TEST_HELPERS) $(BENCHES)

$(O)/common/%.o: common/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) -c $< -o $@

$(O)/ipc/%.o: ipc/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) $(call pc_cflags,$(IPC_PC)) -c $< -o $@

$(O)/shm/%.o: shm/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) -c $< -o $@

$(O)/supervisor/%.o: supervisor/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) -Isupervisor $(call pc_cflags,$(SUP_PC)) -c $< -o $@

# The stages and what they use go into the stage libraries: -fPIC.
$(O)/dsp/%.o: dsp/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC $(DSP_INC) -c $< -o $@

$(O)/media/%.o: media/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC $(MEDIA_INC) $(call pc_cflags,$(MEDIA_PC)) -c $< -o $@

$(O)/stages/%.o: stages/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC $(STAGE_INC) $(call pc_cflags,$(STAGE_PC)) -c $< -o $@

$(O)/worker/%.o: worker/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WORKER_INC) $(call pc_cflags,$(WORKER_PC)) -c $< -o $@

$(DSP_LIB): $(DSP_OBJS)
$(IPC_LIB): $(IPC_OBJS)
$(COMMON_LIB): $(COMMON_OBJS)
$(DSP_LIB) $(IPC_LIB) $(COMMON_LIB):
	rm -f $@
	$(AR) rcs $@ $^

$(O)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) -Icli $(call pc_cflags,$(CLI_PC)) -c $< -o $@

$(O)/httpd/%.o: httpd/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(HTTPD_INC) $(call pc_cflags,$(HTTPD_PC)) -c $< -o $@

# Each kind of test sees the folders of what it tests (and tests/).
TEST_WORKER_INC := $(WORKER_INC) -Istages -Istages/rendering -Imedia -Idsp
$(O)/tests/check_dsp_%.o: tests/check_dsp_%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DSP_INC) -Itests $(call pc_cflags,check) -c $< -o $@

$(O)/tests/check_sup_%.o: tests/check_sup_%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) -Isupervisor -Itests \
		$(call pc_cflags,check $(SUP_PC)) -c $< -o $@

$(O)/tests/check_cli_%.o: tests/check_cli_%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) -Icli -Itests \
		$(call pc_cflags,check $(CLI_PC)) -c $< -o $@

$(O)/tests/check_httpd_%.o: tests/check_httpd_%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(HTTPD_INC) -Itests \
		$(call pc_cflags,check $(HTTPD_PC)) -c $< -o $@

$(O)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_WORKER_INC) -Icli -Itests \
		$(call pc_cflags,check $(SUP_PC) $(STAGE_PC) $(SANDBOX_PC)) -c $< -o $@

$(O)/bench/%.o: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BASE_INC) -Isupervisor -Icli -Ibench/lib $(call pc_cflags,$(SUP_PC)) -c $< -o $@

$(O)/reeld: $(O)/supervisor/main.o $(SUP_OBJS) $(IPC_OBJS) $(SHM_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SUP_PC) $(BASE_PC))

# reel-worker is the small skeleton: it answers reeld at once, confines
# itself (sandbox.o, seccomp) and then loads the stage code from one of two
# libraries beside it: reel-stages.so, which links FFmpeg, or, for the
# stages that read only reel's own artifacts, reel-stages-nolibav.so. The
# filter stays out of both. -rdynamic lets them call the skeleton's stage_*
# functions. What both kinds of stage use is linked into both.
NOLIBAV_STAGE_OBJS := $(call objs,stages/table_nolibav.c \
	stages/motion_analysis.c stages/style_extraction.c)
NOLIBAV_ONLY_OBJS := $(call objs,stages/table_nolibav.c \
	stages/motion_analysis.c)
LIBAV_STAGE_OBJS := $(filter-out $(NOLIBAV_ONLY_OBJS),$(STAGE_OBJS))
STAGE_LIBS := $(O)/reel-stages.so $(O)/reel-stages-nolibav.so

# reeld waits for a worker's HELLO, so the skeleton starts on as few shared
# libraries as it can: msgpack and libseccomp, which only it uses, are
# linked in, and jansson, which the stage libraries share with it, is not.
# (Six libraries to two took HELLO from 1.2 to 0.75 ms after exec here.)
WORKER_LIBS := $(call pc_libs,jansson) \
	-Wl,-Bstatic $(call pc_libs,$(MSGPACK_PC) $(SANDBOX_PC)) -Wl,-Bdynamic
$(O)/reel-worker: $(O)/worker/main.o $(WORKER_OBJS) $(IPC_LIB) \
		$(COMMON_LIB) | $(STAGE_LIBS)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(WORKER_LIBS)

$(O)/reel-stages.so: $(LIBAV_STAGE_OBJS) $(MEDIA_OBJS) $(DSP_LIB)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(call pc_libs,$(STAGE_PC)) -lm

# proxy.o is the one media/ object without FFmpeg: the motion stage reads
# the proxies video_analysis wrote.
$(O)/reel-stages-nolibav.so: $(NOLIBAV_STAGE_OBJS) $(O)/media/proxy.o \
		$(DSP_LIB)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(call pc_libs,jansson) -lm -pthread

$(O)/reelctl: $(O)/cli/reelctl.o $(CLI_OBJS) $(IPC_OBJS) $(SHM_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CLI_PC) $(BASE_PC) libevent) -lm

$(O)/reelstat: $(O)/cli/reelstat.o $(CLI_OBJS) $(IPC_OBJS) $(SHM_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CLI_PC) $(BASE_PC) libevent) -lm

$(O)/reel-httpd: $(O)/httpd/main.o $(HTTPD_OBJS) $(CLI_OBJS) $(IPC_OBJS) $(SHM_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(HTTPD_PC) $(BASE_PC) libevent) -lm -pthread

BASE_OBJS := $(IPC_OBJS) $(SHM_OBJS) $(COMMON_OBJS)
TEST_MEDIA_OBJ := $(O)/tests/media.o
CHECK_LIBS := $(call pc_libs,check $(IPC_PC) $(BASE_PC)) -lm

$(O)/tests/check_sup_%: $(O)/tests/check_sup_%.o $(TEST_MEDIA_OBJ) $(SUP_OBJS) $(BASE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(call pc_libs,$(SUP_PC) $(BASE_PC))

# The pure algorithms' tests link libreel-dsp.a and Check, nothing else.
$(O)/tests/check_dsp_%: $(O)/tests/check_dsp_%.o $(DSP_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,check) -lm -pthread

WORKER_TEST_OBJS := $(TEST_MEDIA_OBJ) $(WORKER_OBJS) $(STAGE_OBJS) \
	$(MEDIA_OBJS) $(DSP_LIB) $(BASE_OBJS)
WORKER_TEST_LIBS := $(CHECK_LIBS) $(call pc_libs,$(STAGE_PC) $(WORKER_PC))
$(O)/tests/check_media_%: $(O)/tests/check_media_%.o $(WORKER_TEST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(WORKER_TEST_LIBS)

$(O)/tests/check_stage_%: $(O)/tests/check_stage_%.o $(WORKER_TEST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(WORKER_TEST_LIBS)

$(O)/tests/check_worker_%: $(O)/tests/check_worker_%.o $(WORKER_TEST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(WORKER_TEST_LIBS)

$(O)/tests/check_cli_%: $(O)/tests/check_cli_%.o $(TEST_MEDIA_OBJ) $(CLI_OBJS) $(BASE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(call pc_libs,$(CLI_PC))

$(O)/tests/check_httpd_%: $(O)/tests/check_httpd_%.o $(TEST_MEDIA_OBJ) $(HTTPD_OBJS) $(CLI_OBJS) $(BASE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(call pc_libs,$(HTTPD_PC)) -pthread

$(O)/tests/check_%: $(O)/tests/check_%.o $(TEST_MEDIA_OBJ) $(BASE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS)

$(O)/tests/fake_worker: $(O)/tests/fake_worker.o $(O)/worker/sandbox.o \
		$(IPC_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(WORKER_LIBS)

$(O)/tests/rawclient: $(O)/tests/rawclient.o $(CLI_OBJS) $(BASE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CLI_PC) $(BASE_PC) libevent)

$(O)/tests/notifylisten: $(O)/tests/notifylisten.o
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/tests/webhook_receiver: $(O)/tests/webhook_receiver.o
	$(CC) $(LDFLAGS) -o $@ $^

$(O)/tests/webhook_verify: $(O)/tests/webhook_verify.o
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,libcrypto)

$(O)/tests/labmean: $(O)/tests/labmean.o
	$(CC) $(LDFLAGS) -o $@ $^ -lm

$(O)/bench/%: $(O)/bench/%.o $(BENCH_LIB_OBJS) $(SUP_OBJS) $(CLI_OBJS) $(BASE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SUP_PC) $(BASE_PC)) -lm

# bench/quality finds the output's beats with aubio, not with reel's tracker.
$(O)/bench/quality: $(O)/bench/quality.o $(BENCH_LIB_OBJS) $(SUP_OBJS) $(CLI_OBJS) $(BASE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(SUP_PC) $(BASE_PC) aubio) -lm

deps:
	@scripts/install-deps.sh

# Without SANITIZE, check runs every test twice: on the plain build and on
# the address,undefined build. With SANITIZE, on that flavour only.
SAN_FLAVOUR := address,undefined
CHECK_BINS := $(if $(SANITIZE),$(O),build build-$(subst $(comma),-,$(SAN_FLAVOUR)))

NPROC := $(shell nproc 2>/dev/null || echo 2)

check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
ifeq ($(SANITIZE),)
	@$(MAKE) --no-print-directory -j$(NPROC) SANITIZE=$(SAN_FLAVOUR) all
endif
	@BINS="$(CHECK_BINS)" tests/run.sh
	@$(MAKE) --no-print-directory fuzz

unit: all
	@BINS=$(O) tests/run.sh unit

integration: all
	@BINS=$(O) tests/run.sh integration

demo: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BIN=$(O) scripts/demo.sh

# libFuzzer targets (clang), FUZZ_SECONDS each: fuzz_msg (frames, every
# message, reeld's checks of client fields), fuzz_wal (the journal reader)
# and fuzz_http (reel-httpd's router and multipart parser). New inputs go
# to a scratch corpus; the committed seeds in tests/fuzz/corpus/ stay
# small. `make check` runs them for 60 s.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_PC := jansson $(MSGPACK_PC) $(BASE_PC)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -D_GNU_SOURCE \
	$(BASE_INC) $(call pc_cflags,$(FUZZ_PC))
FUZZ_SRCS_msg := ipc/msg.c ipc/jsonmp.c ipc/request.c
FUZZ_SRCS_wal :=
FUZZ_SRCS_http := httpd/multipart.c httpd/router.c
FUZZ_INC_http := -Ihttpd
FUZZERS := msg wal http

$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(IPC_SRCS) $(COMMON_SRCS) $(wildcard httpd/*.c)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_INC_$*) $< $(FUZZ_SRCS_$*) $(COMMON_SRCS) \
		$(call pc_libs,$(FUZZ_PC)) -o $@

# The targets run side by side: FUZZ_SECONDS of wall time for all of them.
fuzz: $(patsubst %,$(O)/fuzz/fuzz_%,$(FUZZERS))
	@for f in $(FUZZERS); do \
		mkdir -p $(O)/fuzz/corpus-$$f; \
		( $(O)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 $(O)/fuzz/corpus-$$f \
			tests/fuzz/corpus/$$f >$(O)/fuzz/fuzz_$$f.log 2>&1; \
		  echo $$? >$(O)/fuzz/fuzz_$$f.rc ) & \
	done; wait; \
	bad=0; for f in $(FUZZERS); do \
		log=$(O)/fuzz/fuzz_$$f.log; rc=$$(cat $(O)/fuzz/fuzz_$$f.rc); \
		echo "fuzz_$$f: $(FUZZ_SECONDS) s, exit $$rc," \
			$$(grep -h '^stat::number_of_executed_units' $$log); \
		if [ "$$rc" -ne 0 ]; then tail -n 40 $$log; bad=1; fi; \
	done; exit $$bad

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binaries, the worker
# where reeld looks for it by default, and the systemd unit.
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/libexec/reel $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(O)/reeld $(DESTDIR)$(PREFIX)/sbin/reeld
	install -m 0755 $(O)/reel-worker $(STAGE_LIBS) \
		$(DESTDIR)$(PREFIX)/libexec/reel/
	install -m 0755 $(O)/reelctl $(O)/reelstat $(O)/reel-httpd \
		$(DESTDIR)$(PREFIX)/bin/
	install -m 0644 systemd/reeld.service systemd/reel-httpd.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-*

-include $(shell find $(O) -name '*.d' 2>/dev/null)
