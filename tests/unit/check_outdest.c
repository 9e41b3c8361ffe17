/*
 * check_outdest - destinations (connector/smtp/outdest.c) on a real event
 * loop, with peers on 127.0.0.1 the test holds itself: results always
 * come back from the loop, after outdest_submit (or outdest_stop) has
 * returned, whatever ends a job (an invalid domain, a DNS server that
 * refuses, a closed port); a stop gives queued jobs back unstarted; while
 * one destination holds every slot, another one waiting gets its share.
 *
 * Jobs are built by hand (no Out/ queue): the connections in these tests
 * never reach a transaction, so no content is read. Every wait is
 * bounded.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "evloop.h"
#include "outdest.h"
#include "outq.h"
#include "qtest.h"
#include "route.h"

#define MAX_JOBS	8

struct tjob {
	struct out_job	 job;
	const char	*rcpts[1];
	const char	*notify[1];
	const char	*orcpt[1];
	size_t		 idx[1];
	struct mail_status res[1];
	char		 qid[QID_SIZE];
};

static struct qtest T;
static struct evloop *L;
static struct outdest *OD;
static struct {
	bool		 in_call;	/* inside outdest_submit or _stop */
	size_t		 done;
	size_t		 done_inside;	/* job_done while in_call: a defect */
	struct out_job	*jobs[MAX_JOBS];
} F;

static void
fake_job_done(void *arg, struct out_job *job)
{
	ck_assert_ptr_eq(arg, &F);
	if (F.in_call)
		F.done_inside++;
	ck_assert_uint_lt(F.done, MAX_JOBS);
	F.jobs[F.done++] = job;
}

static const struct outdest_ops fake_ops = { fake_job_done };

static void
start(const char *conf)
{
	struct buf err;

	memset(&F, 0, sizeof(F));
	qtest_init(&T, conf);
	ck_assert_ptr_nonnull(L = evloop_new());
	buf_init(&err);
	OD = outdest_new(&T.cfg, L, T.dir[LAYOUT_OUT], &fake_ops, &F, &err);
	ck_assert_msg(OD != NULL, "%s", buf_cstr(&err));
	buf_fini(&err);
}

static void
finish(void)
{
	int i;

	outdest_abort(OD, "the test ends");
	/* deferred results of the aborted jobs */
	for (i = 0; i < 4; i++)
		(void)evloop_run_once(L, 0);
	outdest_free(OD);
	evloop_free(L);
	qtest_fini(&T);
}

static void
tjob_init(struct tjob *tj, const char *rcpt)
{
	memset(tj, 0, sizeof(*tj));
	ck_assert_int_eq(qid_new(tj->qid), 0);
	tj->rcpts[0] = rcpt;
	tj->job.qid = tj->qid;
	tj->job.sender = "alice@remote.example";
	tj->job.size = 100;
	tj->job.n = 1;
	tj->job.rcpts = tj->rcpts;
	tj->job.notify = tj->notify;
	tj->job.orcpt = tj->orcpt;
	tj->job.idx = tj->idx;
	tj->job.res = tj->res;
	tj->job.conv.charset = "preserve";
	mail_status_set(&tj->res[0], MAIL_TEMP, "4.4.0", "not attempted");
}

/* Submit a job for the recipient's domain, as outq would. */
static void
submit(struct tjob *tj, const char *domain)
{
	struct route r;

	ck_assert_int_eq(route_for(&T.cfg, domain, 0, &r), 0);
	F.in_call = true;
	outdest_submit(OD, &r, &tj->job);
	F.in_call = false;
	route_free(&r);
}

/* Loop rounds until want results are in, at most ms. */
static void
wait_done(size_t want, int ms)
{
	long long end = qtest_now_ms() + ms;

	while (F.done < want && qtest_now_ms() < end)
		ck_assert_int_ne(evloop_run_once(L, 50), -1);
	ck_assert_msg(F.done >= want, "%zu of %zu results in %d ms", F.done,
	    want, ms);
}

/* A port on 127.0.0.1 (TCP or UDP) that nobody uses: bound, then
 * closed. */
static unsigned
closed_port(int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, type, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A socket on 127.0.0.1 (TCP listening, or UDP) that never answers. */
static int
silent_peer(int type, unsigned *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, type | SOCK_NONBLOCK, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ------------------------------------------------- results from the loop */

struct fail_case {
	const char	*name;
	int		 port_type;	/* of the closed port */
	const char	*conf;		/* then a closed port, then conf_end */
	const char	*conf_end;
	const char	*domain;
	enum mail_kind	 kind;
	const char	*dsn;		/* NULL: any */
	int		 ms;		/* bound for the result */
};

static const struct fail_case fail_cases[] = {
	{ "invalid_domain_fails_from_the_loop", SOCK_DGRAM,
	    "dns_servers = 127.0.0.1:", "\n", "bad_name!.example", MAIL_PERM, "5.1.2", 2000 },
	{ "closed_loopback_port_defers_from_the_loop", SOCK_STREAM,
	    "[domain closed.example]\nrelay = [127.0.0.1]:", "\ntls = none\n",
	    "closed.example", MAIL_TEMP, NULL, 10000 },
	{ "refusing_dns_server_defers_from_the_loop", SOCK_DGRAM,
	    "dns_servers = 127.0.0.1:", "\n", "refused.example", MAIL_TEMP,
	    "4.4.3", 15000 },
};

START_TEST(test_fail_case)
{
	const struct fail_case *c = &fail_cases[_i];
	struct tjob a, b;
	char conf[256], rcpt[128];

	snprintf(conf, sizeof(conf), "%s%u%s", c->conf,
	    closed_port(c->port_type), c->conf_end);
	start(conf);
	snprintf(rcpt, sizeof(rcpt), "x@%s", c->domain);
	tjob_init(&a, rcpt);
	tjob_init(&b, rcpt);
	submit(&a, c->domain);
	/* the second one finds its destination already in hand */
	submit(&b, c->domain);
	ck_assert_msg(F.done == 0, "%s: a result came back inside submit",
	    c->name);
	wait_done(2, c->ms);
	ck_assert_uint_eq(F.done_inside, 0);
	ck_assert_ptr_eq(F.jobs[0], &a.job);
	ck_assert_ptr_eq(F.jobs[1], &b.job);
	ck_assert_msg(a.res[0].kind == c->kind, "%s: %s %s", c->name,
	    a.res[0].dsn, a.res[0].text);
	ck_assert_int_eq(b.res[0].kind, c->kind);
	if (c->dsn != NULL)
		ck_assert_str_eq(a.res[0].dsn, c->dsn);
	ck_assert(!a.job.not_started);
	/* the destination is forgotten: a new job starts afresh, and
	 * still comes back from the loop */
	tjob_init(&a, rcpt);
	submit(&a, c->domain);
	ck_assert_uint_eq(F.done, 2);
	wait_done(3, c->ms);
	ck_assert_uint_eq(F.done_inside, 0);
	finish();
}
END_TEST

/* ------------------------------------------------------------------ stop */

START_TEST(stop_gives_queued_jobs_back_unstarted)
{
	struct tjob a, b;
	unsigned port;
	char conf[128];
	int dns_fd;

	/* a DNS server that never answers: the jobs wait in their queue */
	dns_fd = silent_peer(SOCK_DGRAM, &port);
	snprintf(conf, sizeof(conf), "dns_servers = 127.0.0.1:%u\n", port);
	start(conf);
	tjob_init(&a, "x@queued.example");
	tjob_init(&b, "y@queued.example");
	submit(&a, "queued.example");
	submit(&b, "queued.example");
	ck_assert_int_ne(evloop_run_once(L, 50), -1);
	ck_assert_uint_eq(F.done, 0);

	F.in_call = true;
	outdest_stop(OD, "the connector is stopping");
	F.in_call = false;
	ck_assert_uint_eq(F.done, 0);
	wait_done(2, 2000);
	ck_assert_uint_eq(F.done_inside, 0);
	ck_assert(a.job.not_started);
	ck_assert(b.job.not_started);
	ck_assert_int_eq(a.res[0].kind, MAIL_TEMP);
	ck_assert_str_eq(a.res[0].dsn, "4.3.2");
	ck_assert_str_eq(a.res[0].text, "the connector is stopping");
	ck_assert_uint_eq(outdest_connections(OD), 0);
	finish();
	close(dns_fd);
}
END_TEST

/* --------------------------------------------------------------- fairness */

static bool
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Accept what waits on a listening socket (the connections stay open,
 * silent, in fds); returns how many. */
static size_t
take(int lfd, int *fds, size_t *n, size_t max)
{
	size_t got = 0;
	int fd;

	while (*n < max && (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) !=
	    -1) {
		fds[(*n)++] = fd;
		got++;
	}
	return got;
}

/* Destination A holds both slots (its peer never greets); B, coming
 * later, is not left waiting behind it: one of A's connections that
 * holds no job makes way. */
START_TEST(waiting_destination_gets_a_slot_from_a_full_one)
{
	struct tjob ja[3], jb;
	unsigned pa, pb;
	int la, lb, fds[16];
	size_t n_fds = 0, from_a = 0, i;
	char conf[512];
	long long end;

	la = silent_peer(SOCK_STREAM, &pa);
	lb = silent_peer(SOCK_STREAM, &pb);
	snprintf(conf, sizeof(conf), "max_connections = 2\n"
	    "max_per_destination = 4\ntimeout_greeting = 60s\n"
	    "[domain a.example]\nrelay = [127.0.0.1]:%u\ntls = none\n"
	    "[domain b.example]\nrelay = [127.0.0.1]:%u\ntls = none\n", pa, pb);
	start(conf);
	for (i = 0; i < 3; i++) {
		tjob_init(&ja[i], "x@a.example");
		submit(&ja[i], "a.example");
	}
	ck_assert_uint_eq(outdest_connections(OD), 2);
	end = qtest_now_ms() + 3000;
	while (from_a < 2 && qtest_now_ms() < end) {
		ck_assert_int_ne(evloop_run_once(L, 20), -1);
		from_a += take(la, fds, &n_fds, 16);
	}
	ck_assert_uint_eq(from_a, 2);

	tjob_init(&jb, "y@b.example");
	submit(&jb, "b.example");
	end = qtest_now_ms() + 3000;
	while (!readable(lb) && qtest_now_ms() < end)
		ck_assert_int_ne(evloop_run_once(L, 20), -1);
	ck_assert_msg(readable(lb), "b.example got no connection");
	ck_assert_uint_le(outdest_connections(OD), 2);
	/* the connection that made way tells nothing of A: its jobs wait */
	ck_assert_uint_eq(F.done, 0);
	/* and A does not take the slot back while B holds its share */
	for (i = 0; i < 5; i++)
		ck_assert_int_ne(evloop_run_once(L, 20), -1);
	ck_assert_uint_eq(take(la, fds, &n_fds, 16), 0);
	ck_assert_uint_eq(take(lb, fds, &n_fds, 16), 1);
	finish();
	ck_assert_uint_eq(F.done, 4);
	for (i = 0; i < n_fds; i++)
		close(fds[i]);
	close(la);
	close(lb);
}
END_TEST

static Suite *
outdest_suite(void)
{
	Suite *s = suite_create("outdest");
	TCase *tc;

	tc = qtest_tcase("results");
	tcase_add_loop_test(tc, test_fail_case, 0,
	    (int)(sizeof(fail_cases) / sizeof(fail_cases[0])));
	suite_add_tcase(s, tc);

	tc = qtest_tcase("stop");
	tcase_add_test(tc, stop_gives_queued_jobs_back_unstarted);
	suite_add_tcase(s, tc);

	tc = qtest_tcase("fairness");
	tcase_add_test(tc, waiting_destination_gets_a_slot_from_a_full_one);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(outdest_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
