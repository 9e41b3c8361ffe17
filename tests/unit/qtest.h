/*
 * qtest - the scratch tree the queue suites share (check_batch, check_inq,
 * check_dispose, check_outq, check_outdest).
 *
 * qtest_init makes a folder with mkdtemp, writes a small configuration
 * there (root = <tmp>/Imcdata, hostname mx.test.example, local_domains
 * local.example, plus the suite's own lines) and loads it with
 * config_load, makes the tree with layout_create, opens every folder with
 * safe_open_dir, the tracking log on Log/, the store on Store/, intake,
 * and fills a struct qctx by hand, as daemon_init does. New Out/ entries
 * that a commit hands to qctx.out_entry are recorded in out_qids.
 * Everything is real files: nothing here replaces the file system. It
 * works as any user (no chown when the tree's owner is the caller).
 *
 * The checks read the tree the way the code does: queue entries through
 * qenv_load (never a .env file by name: where an envelope lives is
 * qfile's business), other files by name. Failures abort the test (Check's
 * ck_assert), so callers need not test the helpers' results.
 */
#ifndef IMC_QTEST_H
#define IMC_QTEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "intake.h"
#include "layout.h"
#include "qctx.h"
#include "qfile.h"
#include "qid.h"

#define QTEST_MAX_OUT	64

struct batch;

struct qtest {
	char		 tmp[PATH_MAX];		/* mkdtemp */
	char		 root[PATH_MAX];	/* tmp/Imcdata */
	struct imc_config cfg;
	int		 dir[LAYOUT_NDIRS];
	struct tracklog	*track;
	struct maildir_store *store;
	struct intake	*intake;
	struct imc_stats stats;
	struct qctx	 q;
	/* what the commits handed to out_entry, in order */
	char		 out_qids[QTEST_MAX_OUT][QID_SIZE];
	size_t		 n_out;
};

/* Unchecked fixtures of a TCase (tcase_add_unchecked_fixture): a folder
 * made once in the parent that every test's tree goes into (TMPDIR), and
 * removed whatever the tests did, so a failed test leaves nothing. */
void	qtest_suite_setup(void);
void	qtest_suite_teardown(void);
/* A TCase with the fixtures and a time limit fit for disk syncs. */
struct TCase;
struct TCase *qtest_tcase(const char *name);

/* extra: configuration lines after the common ones (may be NULL). */
void	qtest_init(struct qtest *, const char *extra);
void	qtest_fini(struct qtest *);

/* A file in Pickup format put into Work/<new qid> as intake's claim
 * leaves it, with its struct claimed (fd open: qtest_unclaim closes). */
void	qtest_claim(struct qtest *, const char *text, struct claimed *);
void	qtest_unclaim(struct claimed *);
/* qtest_claim, batch_accept, qtest_unclaim; the qid into qid. */
enum accept_result qtest_accept(struct qtest *, struct batch *,
	    const char *text, char qid[QID_SIZE]);
/* A file through a batch of its own, committed; ACCEPT_QUEUED asserted. */
void	qtest_queue(struct qtest *, const char *text, char qid[QID_SIZE]);

/* qenv_load of an entry: 0, or -1 (missing or unreadable). */
int	qtest_load(struct qtest *, enum layout_dir, const char *qid,
	    struct qenv *);
/* An entry loads; the test fails otherwise. */
void	qtest_must_load(struct qtest *, enum layout_dir, const char *qid,
	    struct qenv *);
/* Rewrite an entry's envelope through qenv_store (the way the queue
 * itself changes state). */
void	qtest_store(struct qtest *, enum layout_dir, const struct qenv *);
/* The index of the recipient addr in e, or -1. */
int	qtest_rcpt(const struct qenv *, const char *addr);

/* A name in a folder of the tree exists (lstat). */
bool	qtest_exists(struct qtest *, enum layout_dir, const char *name);
/* "<qid><suffix>" exists in the folder. */
bool	qtest_has(struct qtest *, enum layout_dir, const char *qid,
	    const char *suffix);
/* A whole file, NUL-terminated (the caller frees it); NULL if missing. */
char	*qtest_read(struct qtest *, enum layout_dir, const char *name);
/* Names in a folder of the tree (path relative to the root), "." and
 * ".." and sub-folders left out; 0 when it does not exist. */
size_t	qtest_count(struct qtest *, const char *relpath);
/* The queue ids of the entries in In/ or Out/ (by their content files),
 * at most max, into out; returns how many there are. */
size_t	qtest_entries(struct qtest *, enum layout_dir, char (*out)[QID_SIZE],
	    size_t max);
/* The names of the files in Work/ into out (at most max). */
size_t	qtest_work_files(struct qtest *, char (*out)[QID_SIZE], size_t max);
/* Messages in Store/<domain>/<local>/new. */
size_t	qtest_mailbox(struct qtest *, const char *domain, const char *local);
/* The first message of that mailbox, NUL-terminated; NULL if none. */
char	*qtest_mailbox_first(struct qtest *, const char *domain,
	    const char *local);
/* Lines of the tracking log (flushed first) that hold every one of the
 * NULL-terminated needles. */
size_t	qtest_track(struct qtest *, ...) __attribute__((sentinel));
/* Was qid handed to out_entry? */
bool	qtest_out_entry(const struct qtest *, const char *qid);

/* Write a file (O_TRUNC) at a path relative to the root. */
void	qtest_write(struct qtest *, const char *relpath, const char *text);
/* Remove a path relative to the root, with everything under it. */
void	qtest_rm(struct qtest *, const char *relpath);
/* Milliseconds of CLOCK_MONOTONIC. */
long long qtest_now_ms(void);

#endif
