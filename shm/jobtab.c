/*
 * The shared-memory job table (jobtab.h). reeld creates the file and is its
 * only writer; readers map it read-only and check every layout field before
 * trusting it. The header's counters and each slot are updated under a
 * sequence counter (a seqlock with a single writer), so readers get
 * consistent copies without locks and can never slow reeld down. Strings in
 * a slot are always NUL-terminated, by the writer and again by the reader.
 * A reader never hangs: it gives up after JOBTAB_READ_TIMEOUT_MS and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobtab.h"
#include "log.h"
#include "util.h"

/* Reader retries spin this often before yielding and watching the clock. */
#define JOBTAB_SPINS 64

struct jobtab_hdr_fields {
	uint64_t magic;
	uint32_t abi_version;
	uint32_t header_size;
	uint32_t slot_size;
	uint32_t slot_count;
	atomic_uint seq; /* guards info */
	uint32_t pad;
	struct jobtab_info info;
};

union jobtab_hdr {
	struct jobtab_hdr_fields h;
	unsigned char raw[JOBTAB_HEADER_SIZE];
};

struct jobtab_slot_fields {
	atomic_uint seq; /* guards job */
	uint32_t pad;
	struct jobtab_job job;
};

union jobtab_slot {
	struct jobtab_slot_fields s;
	unsigned char raw[JOBTAB_SLOT_SIZE];
};

/* The file is an ABI: these pin every offset that docs/reelstat.md lists. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free atomics across processes");
_Static_assert(sizeof(atomic_uint) == 4, "32-bit sequence counter");
_Static_assert(sizeof(struct jobtab_info) == 72, "jobtab_info size");
_Static_assert(sizeof(struct jobtab_job) == 392, "jobtab_job size");
_Static_assert(offsetof(struct jobtab_job, owner_uid) == 320, "job owner");
_Static_assert(offsetof(struct jobtab_job, created_ms) == 16, "job times");
_Static_assert(offsetof(struct jobtab_job, job_id) == 48, "job strings");
_Static_assert(offsetof(struct jobtab_hdr_fields, abi_version) == 8, "abi");
_Static_assert(offsetof(struct jobtab_hdr_fields, slot_count) == 20, "count");
_Static_assert(offsetof(struct jobtab_hdr_fields, seq) == 24, "header seq");
_Static_assert(offsetof(struct jobtab_hdr_fields, info) == 32, "header info");
_Static_assert(sizeof(union jobtab_hdr) == JOBTAB_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct jobtab_slot_fields, job) == 8, "slot job");
_Static_assert(sizeof(union jobtab_slot) == JOBTAB_SLOT_SIZE, "slot size");
_Static_assert(JOBTAB_SLOT_SIZE % 64 == 0, "slots fill whole cache lines");
_Static_assert(JOBTAB_SLOT_SIZE - 64 < sizeof(struct jobtab_slot_fields),
    "slot is the smallest multiple of 64 that fits");
_Static_assert(JOBTAB_HEADER_SIZE % _Alignof(union jobtab_slot) == 0,
    "slots stay aligned after the header");

struct jobtab {
	union jobtab_hdr *hdr;
	union jobtab_slot *slots;
	size_t len;
	uint32_t slot_count;
};

static void jobtab_err(char *err, size_t errlen, const char *fmt, ...)
    LOG_PRINTF(3, 4);

static size_t
jobtab_file_size(uint32_t slot_count)
{
	return JOBTAB_HEADER_SIZE + (size_t)slot_count * JOBTAB_SLOT_SIZE;
}

static void
jobtab_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static struct jobtab *
jobtab_map(int fd, size_t len, int prot)
{
	struct jobtab *jt;
	void *base;

	base = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return NULL;
	jt = xcalloc(1, sizeof(*jt));
	jt->hdr = base;
	jt->slots =
	    (union jobtab_slot *)((unsigned char *)base + JOBTAB_HEADER_SIZE);
	jt->len = len;
	return jt;
}

static void
jobtab_init_header(struct jobtab *jt, uint32_t slot_count)
{
	struct jobtab_hdr_fields *h = &jt->hdr->h;

	memset(jt->hdr, 0, jt->len);
	h->magic = JOBTAB_MAGIC;
	h->abi_version = JOBTAB_ABI_VERSION;
	h->header_size = JOBTAB_HEADER_SIZE;
	h->slot_size = JOBTAB_SLOT_SIZE;
	h->slot_count = slot_count;
	h->info.slot_count = slot_count;
	jt->slot_count = slot_count;
}

/* Sizes and reserves the temporary file; -1 with errno set on failure. */
static int
jobtab_size_file(int fd, size_t len)
{
	int rc;

	/* Exact mode whatever the umask: readers run as other users. */
	if (fchmod(fd, 0644) == -1 || ftruncate(fd, (off_t)len) == -1)
		return -1;
	/*
	 * Reserve the pages now: on a full tmpfs a later store into the
	 * mapping would be SIGBUS in reeld instead of an error here.
	 */
	rc = posix_fallocate(fd, 0, (off_t)len);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

struct jobtab *
jobtab_create(const char *path, uint32_t slot_count)
{
	char tmp[PATH_MAX];
	struct jobtab *jt = NULL;
	size_t len = jobtab_file_size(slot_count);
	int fd;

	if (slot_count == 0 || slot_count > JOBTAB_MAX_SLOTS) {
		log_warnx("%s: %u slots, want 1 to %d", path, slot_count,
		    JOBTAB_MAX_SLOTS);
		return NULL;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		log_warnx("%s: path too long", path);
		return NULL;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("%s", tmp);
		return NULL;
	}
	if (jobtab_size_file(fd, len) == -1 ||
	    (jt = jobtab_map(fd, len, PROT_READ | PROT_WRITE)) == NULL) {
		log_warn("%s", tmp);
		goto fail;
	}
	jobtab_init_header(jt, slot_count);
	/*
	 * The header is complete before the name appears, and a reader that
	 * still maps the previous file keeps its last, consistent view.
	 */
	if (rename(tmp, path) == -1) {
		log_warn("rename %s", path);
		jobtab_close(jt);
		goto fail;
	}
	close(fd);
	return jt;
fail:
	close(fd);
	unlink(tmp);
	return NULL;
}

static int
jobtab_validate(
    const union jobtab_hdr *hdr, off_t size, char *err, size_t errlen)
{
	const struct jobtab_hdr_fields *h = &hdr->h;

	if (h->magic != JOBTAB_MAGIC) {
		jobtab_err(err, errlen, "bad magic: not a reel job table");
		return -1;
	}
	if (h->abi_version != JOBTAB_ABI_VERSION) {
		jobtab_err(err, errlen, "ABI version %u, this reader knows %d",
		    h->abi_version, JOBTAB_ABI_VERSION);
		return -1;
	}
	if (h->header_size != JOBTAB_HEADER_SIZE ||
	    h->slot_size != JOBTAB_SLOT_SIZE) {
		jobtab_err(err, errlen,
		    "header/slot size %u/%u, this reader knows %d/%d",
		    h->header_size, h->slot_size, JOBTAB_HEADER_SIZE,
		    JOBTAB_SLOT_SIZE);
		return -1;
	}
	if (h->slot_count == 0 || h->slot_count > JOBTAB_MAX_SLOTS) {
		jobtab_err(err, errlen, "slot count %u out of range 1 to %d",
		    h->slot_count, JOBTAB_MAX_SLOTS);
		return -1;
	}
	if ((uint64_t)size != jobtab_file_size(h->slot_count)) {
		jobtab_err(err, errlen, "file is %lld bytes, %u slots need %zu",
		    (long long)size, h->slot_count,
		    jobtab_file_size(h->slot_count));
		return -1;
	}
	return 0;
}

/* Maps an open table file read-only and checks it; NULL with err if bad. */
static struct jobtab *
jobtab_map_ro(int fd, char *err, size_t errlen)
{
	struct jobtab *jt;
	struct stat st;

	if (fstat(fd, &st) == -1) {
		jobtab_err(err, errlen, "fstat: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		jobtab_err(err, errlen, "not a regular file");
		return NULL;
	}
	if (st.st_size < JOBTAB_HEADER_SIZE) {
		jobtab_err(err, errlen,
		    "file is %lld bytes, shorter than the "
		    "%d-byte header",
		    (long long)st.st_size, JOBTAB_HEADER_SIZE);
		return NULL;
	}
	if ((jt = jobtab_map(fd, (size_t)st.st_size, PROT_READ)) == NULL) {
		jobtab_err(err, errlen, "mmap: %s", strerror(errno));
		return NULL;
	}
	if (jobtab_validate(jt->hdr, st.st_size, err, errlen) == -1) {
		jobtab_close(jt);
		return NULL;
	}
	/* Written once before the file got its name, so a plain read. */
	jt->slot_count = jt->hdr->h.slot_count;
	return jt;
}

struct jobtab *
jobtab_open_ro(const char *path, char *err, size_t errlen)
{
	char why[256];
	struct jobtab *jt;
	int fd;

	jobtab_err(err, errlen, "%s", "");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		jobtab_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	jt = jobtab_map_ro(fd, why, sizeof(why));
	close(fd);
	if (jt == NULL)
		jobtab_err(err, errlen, "%s: %s", path, why);
	return jt;
}

void
jobtab_close(struct jobtab *jt)
{
	if (jt == NULL)
		return;
	munmap(jt->hdr, jt->len);
	free(jt);
}

uint32_t
jobtab_slot_count(const struct jobtab *jt)
{
	return jt->slot_count;
}

/*
 * Writer side of the seqlock. The release fence keeps the data stores from
 * becoming visible before the odd count; the release store publishes them
 * before the even one.
 */
static void
jobtab_write_begin(atomic_uint *seq)
{
	unsigned s = atomic_load_explicit(seq, memory_order_relaxed);

	atomic_store_explicit(seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void
jobtab_write_end(atomic_uint *seq)
{
	unsigned s = atomic_load_explicit(seq, memory_order_relaxed);

	atomic_store_explicit(seq, s + 1, memory_order_release);
}

void
jobtab_set_pid(struct jobtab *jt, int32_t pid, int64_t start_ms)
{
	struct jobtab_hdr_fields *h = &jt->hdr->h;

	jobtab_write_begin(&h->seq);
	h->info.pid = pid;
	h->info.start_ms = start_ms;
	/* A fresh reeld is live before its first timer tick. */
	h->info.heartbeat_ms = start_ms;
	jobtab_write_end(&h->seq);
}

void
jobtab_heartbeat(struct jobtab *jt, int64_t now_ms)
{
	struct jobtab_hdr_fields *h = &jt->hdr->h;

	jobtab_write_begin(&h->seq);
	h->info.heartbeat_ms = now_ms;
	jobtab_write_end(&h->seq);
}

/* Only the counters: identity and heartbeat have their own writers. */
void
jobtab_write_counters(struct jobtab *jt, const struct jobtab_info *in)
{
	struct jobtab_hdr_fields *h = &jt->hdr->h;

	jobtab_write_begin(&h->seq);
	h->info.submitted = in->submitted;
	h->info.completed = in->completed;
	h->info.failed = in->failed;
	h->info.cancelled = in->cancelled;
	h->info.queue_depth = in->queue_depth;
	h->info.running = in->running;
	jobtab_write_end(&h->seq);
}

static void
jobtab_terminate(struct jobtab_job *job)
{
	job->job_id[sizeof(job->job_id) - 1] = '\0';
	job->video_id[sizeof(job->video_id) - 1] = '\0';
	job->template_id[sizeof(job->template_id) - 1] = '\0';
	job->error[sizeof(job->error) - 1] = '\0';
	job->owner_name[sizeof(job->owner_name) - 1] = '\0';
	job->error_code[sizeof(job->error_code) - 1] = '\0';
}

static union jobtab_slot *
jobtab_wslot(struct jobtab *jt, uint32_t slot)
{
	/* Only reeld writes: a bad index is its bug, and memory is at stake. */
	if (slot >= jt->slot_count)
		fatalx("jobtab: slot %u of %u", slot, jt->slot_count);
	return &jt->slots[slot];
}

/* Publishing a job marks its slot in use; jobtab_clear_job() frees it. */
void
jobtab_write_job(struct jobtab *jt, uint32_t slot, const struct jobtab_job *job)
{
	union jobtab_slot *sl = jobtab_wslot(jt, slot);
	struct jobtab_job copy = *job;

	copy.in_use = 1;
	jobtab_terminate(&copy);
	jobtab_write_begin(&sl->s.seq);
	memcpy(&sl->s.job, &copy, sizeof(copy));
	jobtab_write_end(&sl->s.seq);
}

void
jobtab_clear_job(struct jobtab *jt, uint32_t slot)
{
	union jobtab_slot *sl = jobtab_wslot(jt, slot);

	jobtab_write_begin(&sl->s.seq);
	memset(&sl->s.job, 0, sizeof(sl->s.job));
	jobtab_write_end(&sl->s.seq);
}

/*
 * Reader side of the seqlock: copy between two loads of the counter, and
 * keep the copy only if the counter was even and unchanged. After a few
 * spins it yields, so a reader of a stopped reeld does not burn a CPU, and
 * after JOBTAB_READ_TIMEOUT_MS it gives up with dst zeroed.
 */
static int
jobtab_read(const atomic_uint *seq, void *dst, const void *src, size_t len)
{
	int64_t now, deadline = 0;
	unsigned s1, s2;

	for (unsigned spins = 0;; spins++) {
		s1 = atomic_load_explicit(seq, memory_order_acquire);
		if ((s1 & 1) == 0) {
			memcpy(dst, src, len);
			atomic_thread_fence(memory_order_acquire);
			s2 = atomic_load_explicit(seq, memory_order_relaxed);
			if (s1 == s2)
				return 0;
		}
		if (spins < JOBTAB_SPINS)
			continue;
		now = clock_monotonic_us();
		if (deadline == 0)
			deadline = now + JOBTAB_READ_TIMEOUT_MS * 1000;
		else if (now >= deadline)
			break;
		sched_yield();
	}
	memset(dst, 0, len);
	return -1;
}

int
jobtab_try_read_info(const struct jobtab *jt, struct jobtab_info *out)
{
	const struct jobtab_hdr_fields *h = &jt->hdr->h;

	if (jobtab_read(&h->seq, out, &h->info, sizeof(*out)) == -1)
		return -1;
	out->slot_count = jt->slot_count;
	return 0;
}

int
jobtab_try_read_job(
    const struct jobtab *jt, uint32_t slot, struct jobtab_job *out)
{
	const union jobtab_slot *sl;

	if (slot >= jt->slot_count) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	sl = &jt->slots[slot];
	if (jobtab_read(&sl->s.seq, out, &sl->s.job, sizeof(*out)) == -1)
		return -1;
	/* The file is only as trustworthy as whoever last wrote it. */
	jobtab_terminate(out);
	return 0;
}

void
jobtab_read_info(const struct jobtab *jt, struct jobtab_info *out)
{
	(void)jobtab_try_read_info(jt, out);
}

void
jobtab_read_job(const struct jobtab *jt, uint32_t slot, struct jobtab_job *out)
{
	(void)jobtab_try_read_job(jt, slot, out);
}
