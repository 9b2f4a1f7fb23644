/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for producer/sched.c without Redis (no history): ranks are
 * longest remaining paths counted in tasks, ready tasks go out by rank
 * with ties in file order, to the popping end when they outrank (or tie)
 * what is queued there, to the far end when they rank no higher than
 * what is there, and are held while they belong in between, until the
 * tasks above them started; tasks that left the queue stop counting, a
 * held task skipped meanwhile is dropped, staging is only for a task
 * above everything queued and held, and DTEQ_SCHED=fifo keeps readiness
 * order; with durations
 * given as history (sched_history_set), unknown tasks weigh the median
 * of their target, else of all known tasks.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"
#include "test.h"

/*
 * L1 -> L2 -> L3 -> L4 is a chain (L2 needs L1, ...); s1, s2, s3 stand
 * alone; w needs s1.
 */
static const char graph_json[] =
    "{\"tasks\": ["
    "{\"id\": \"s1\", \"command\": \"true\"},"
    "{\"id\": \"L1\", \"command\": \"true\"},"
    "{\"id\": \"s2\", \"command\": \"true\"},"
    "{\"id\": \"s3\", \"command\": \"true\"},"
    "{\"id\": \"L2\", \"command\": \"true\", \"deps\": [\"L1\"]},"
    "{\"id\": \"L3\", \"command\": \"true\", \"deps\": [\"L2\"]},"
    "{\"id\": \"L4\", \"command\": \"true\", \"deps\": [\"L3\"]},"
    "{\"id\": \"w\", \"command\": \"true\", \"deps\": [\"s1\"]}"
    "]}";

/* Three projects' build and lint, one test; c's and d's are new. */
static const char targets_json[] =
    "{\"tasks\": ["
    "{\"id\": \"a:build\", \"command\": \"true\"},"
    "{\"id\": \"b:build\", \"command\": \"true\"},"
    "{\"id\": \"c:build\", \"command\": \"true\"},"
    "{\"id\": \"a:lint\", \"command\": \"true\"},"
    "{\"id\": \"b:lint\", \"command\": \"true\"},"
    "{\"id\": \"c:lint\", \"command\": \"true\"},"
    "{\"id\": \"d:test\", \"command\": \"true\", "
    "\"deps\": [\"c:build\"]}"
    "]}";

static void
setup_json(struct submit *s, const char *json)
{
	struct taskset	 ts;
	char		*cause = NULL;

	memset(s, 0, sizeof *s);
	memset(&ts, 0, sizeof ts);
	if (taskfile_parse(json, strlen(json), "test", &ts,
	    &cause) != 0) {
		printf("    %s\n", cause);
		exit(1);
	}
	if ((s->g = graph_new(&ts, &cause)) == NULL) {
		printf("    %s\n", cause);
		exit(1);
	}
	s->pt = xcalloc(graph_size(s->g), sizeof *s->pt);
	sched_init(s, NULL);
}

static void
setup(struct submit *s)
{
	setup_json(s, graph_json);
}

static void
teardown(struct submit *s)
{
	sched_free(s);
	CHECK(s->sched == NULL);
	free(s->pt);
	graph_free(s->g);
}

static size_t
idx(struct submit *s, const char *id)
{
	return (graph_find(s->g, id));
}

/*
 * What dispatch_ready() does with a batch: hold it with the tasks held
 * already and push what sched_take() lets go (out[], urgent[]).
 */
static size_t
dispatch(struct submit *s, const size_t *batch, size_t n, size_t *out,
    int *urgent)
{
	size_t	k, m;

	for (k = 0; k < n; k++)
		ptask_set_state(s, batch[k], PT_WAITING);
	sched_ready(s, batch, n);
	CHECK(sched_nheld(s) <= graph_size(s->g));
	m = sched_take(s, out, urgent);
	for (k = 0; k < m; k++) {
		s->pt[out[k]].attempt++;
		ptask_set_state(s, out[k], PT_QUEUED);
	}
	return (m);
}

/* A submit, and what its last dispatch() pushed. */
struct q {
	struct submit	s;
	size_t		out[8];
	int		urg[8];
};

/*
 * dispatch() of the batch of tasks named in ids (space-separated, ""
 * for none), into q->out and q->urg.
 */
static size_t
take(struct q *q, const char *ids)
{
	size_t	 batch[8], n = 0;
	char	*copy, *p, *id;

	copy = p = xstrdup(ids);
	while ((id = strsep(&p, " ")) != NULL) {
		if (*id != '\0' && n < 8)
			batch[n++] = idx(&q->s, id);
	}
	free(copy);
	return (dispatch(&q->s, batch, n, q->out, q->urg));
}

/* Set the state of the tasks named in ids (space-separated). */
static void
set_state(struct submit *s, const char *ids, int state)
{
	char	*copy, *p, *id;

	copy = p = xstrdup(ids);
	while ((id = strsep(&p, " ")) != NULL)
		ptask_set_state(s, idx(s, id), state);
	free(copy);
}

/*
 * Check what the last take() pushed, in order: the words of want name
 * the tasks of q->out, "+ID" one for the popping end (urgent), "-ID" one
 * for the far end, a bare ID either; "*" any task.
 */
static void
check_out(struct q *q, const char *want)
{
	char	*copy, *p, *w;
	size_t	 i = 0;

	copy = p = xstrdup(want);
	while ((w = strsep(&p, " ")) != NULL) {
		if (*w == '+')
			CHECK(q->urg[i]);
		else if (*w == '-')
			CHECK(!q->urg[i]);
		w += *w == '+' || *w == '-';
		if (strcmp(w, "*") != 0)
			CHECK(q->out[i] == idx(&q->s, w));
		i++;
	}
	free(copy);
}

/* Check the rank of each task: "ID RANK ID RANK ...". */
static void
check_ranks(struct submit *s, const char *ranks)
{
	char	*copy, *p, *id, *rank;

	copy = p = xstrdup(ranks);
	while ((id = strsep(&p, " ")) != NULL &&
	    (rank = strsep(&p, " ")) != NULL) {
		CHECK(sched_rank_of(s, idx(s, id)) == atof(rank));
		if (sched_rank_of(s, idx(s, id)) != atof(rank))
			printf("    rank of %s: %g\n",
			    id, (double)sched_rank_of(s, idx(s, id)));
	}
	free(copy);
}

static void
test_ranks_without_history(void)
{
	struct submit	s;

	setup(&s);
	check_ranks(&s, "L1 4 L2 3 L4 1 s1 2 s2 1 w 1");
	teardown(&s);
}

static void
test_sort_by_rank_then_file_order(void)
{
	struct q	q;

	setup(&q.s);
	/* An empty queue takes all, most urgent nearest the popping end. */
	CHECK(take(&q, "s3 s2 L1 s1") == 4);
	check_out(&q, "+L1 +s1 +s2 +s3");	/* ties: file order */
	CHECK(sched_nheld(&q.s) == 0);
	teardown(&q.s);
}

static void
test_ends_of_a_sorted_queue(void)
{
	struct q	q;

	setup(&q.s);
	CHECK(take(&q, "s1 L1 s2 s3") == 4);	/* L1 s1 s2 s3 */
	/* An agent took L1; L2 (3) outranks s1 (2), the popping end. */
	set_state(&q.s, "L1", PT_RUNNING);
	CHECK(take(&q, "L2") == 1 && q.urg[0]);
	/* L2 and s1 were taken: w (1) ties s3 at the far end: FIFO. */
	set_state(&q.s, "L2 s1", PT_RUNNING);
	CHECK(take(&q, "w") == 1 && !q.urg[0]);
	/* L3 (2) beats s2, s3, w (1 each). */
	set_state(&q.s, "L2", PT_DONE);
	CHECK(take(&q, "L3") == 1 && q.urg[0]);
	CHECK(sched_nheld(&q.s) == 0);
	teardown(&q.s);
}

/* Durations from history for the tasks named: "ID MS ID MS ...". */
static void
set_history(struct submit *s, const char *history)
{
	char	*copy, *p, *id, *ms;

	copy = p = xstrdup(history);
	while ((id = strsep(&p, " ")) != NULL &&
	    (ms = strsep(&p, " ")) != NULL)
		sched_history_set(s, idx(s, id), atof(ms));
	free(copy);
}

/* a, b, c, d stand alone; their durations come from history. */
static const char four_json[] =
    "{\"tasks\": ["
    "{\"id\": \"a\", \"command\": \"true\"},"
    "{\"id\": \"b\", \"command\": \"true\"},"
    "{\"id\": \"c\", \"command\": \"true\"},"
    "{\"id\": \"d\", \"command\": \"true\"}"
    "]}";

/*
 * four_json with a 400 ms, b 100 ms, c and d as given, and a and b
 * queued (a at the popping end).
 */
static void
setup_four(struct q *q, double c_ms, double d_ms)
{
	setup_json(&q->s, four_json);
	set_history(&q->s, "a 400 b 100");
	sched_history_set(&q->s, idx(&q->s, "c"), c_ms);
	sched_history_set(&q->s, idx(&q->s, "d"), d_ms);
	CHECK(take(q, "b a") == 2);
	check_out(q, "a b");
}

static void
test_held_between_the_ends(void)
{
	struct q	q;

	setup_four(&q, 300, 50);
	/* c (300) belongs between a (400) and b (100): held. */
	CHECK(take(&q, "c") == 0);
	CHECK(sched_nheld(&q.s) == 1);
	CHECK(q.s.pt[idx(&q.s, "c")].held && q.s.pt[idx(&q.s, "c")].state ==
	    PT_WAITING);
	/* Nothing moved: still held, waiting for a to start. */
	CHECK(sched_take(&q.s, q.out, q.urg) == 0);
	CHECK(sched_above_held(&q.s, q.out, 8) == 1 &&
	    q.out[0] == idx(&q.s, "a"));
	/* d (50) waits behind c, which goes first. */
	CHECK(take(&q, "d") == 0);
	CHECK(sched_nheld(&q.s) == 2);
	/* a started: c tops the queue, d goes to the far end behind b. */
	set_state(&q.s, "a", PT_RUNNING);
	CHECK(take(&q, "") == 2);
	check_out(&q, "+c -d");
	CHECK(sched_nheld(&q.s) == 0 && !q.s.pt[idx(&q.s, "c")].held);
	CHECK(sched_above_held(&q.s, q.out, 8) == 0);
	teardown(&q.s);
}

static void
test_held_then_skipped(void)
{
	struct q	q;

	setup_four(&q, 300, 50);
	CHECK(take(&q, "c") == 0);
	/* c was skipped (--fail-fast) while held: never pushed. */
	set_state(&q.s, "c", PT_DONE);
	set_state(&q.s, "a", PT_RUNNING);
	CHECK(take(&q, "") == 0);
	CHECK(sched_nheld(&q.s) == 0);
	teardown(&q.s);
}

static void
test_requeued_task_counts_once(void)
{
	struct q	q;
	size_t		b[1];

	setup(&q.s);
	CHECK(take(&q, "s2") == 1);
	/* s2 lost and dispatched again: its old entry is stale. */
	set_state(&q.s, "s2", PT_RUNNING);
	CHECK(take(&q, "s2") == 1);
	CHECK(q.s.pt[idx(&q.s, "s2")].attempt == 2);
	/* Held twice, taken once. */
	set_state(&q.s, "s3", PT_WAITING);
	b[0] = idx(&q.s, "s3");
	sched_ready(&q.s, b, 1);
	sched_ready(&q.s, b, 1);
	CHECK(sched_nheld(&q.s) == 1);
	/* Alone in the queue, s2 (1) vs L1 (4): L1 jumps. */
	CHECK(take(&q, "L1") == 2);
	check_out(&q, "+L1 -s3");
	/* Staging: only above everything queued. */
	CHECK(sched_stage(&q.s, idx(&q.s, "L2")) == SCHED_STAGE_NO);
	set_state(&q.s, "L1", PT_RUNNING);
	CHECK(sched_stage(&q.s, idx(&q.s, "L2")) == SCHED_STAGE_URGENT);
	teardown(&q.s);
}

static void
test_stage_below_held(void)
{
	struct q	q;

	setup_four(&q, 300, 350);
	CHECK(take(&q, "d") == 0);	/* held: 350 */
	set_state(&q.s, "a b", PT_RUNNING);
	/* The queue is empty now, but d (350) is held: c (300) waits. */
	CHECK(sched_stage(&q.s, idx(&q.s, "c")) == SCHED_STAGE_NO);
	CHECK(take(&q, "") == 1);
	check_out(&q, "+d");
	teardown(&q.s);
}

static void
test_fifo_mode(void)
{
	struct q	q;

	setenv("DTEQ_SCHED", "fifo", 1);
	setup(&q.s);
	/* Readiness order, all at the far end. */
	CHECK(take(&q, "s3 s2 L1 s1") == 4);
	check_out(&q, "-s3 -* -L1 -*");
	set_state(&q.s, "L1", PT_RUNNING);
	CHECK(take(&q, "L2") == 1 && !q.urg[0]);
	CHECK(sched_stage(&q.s, idx(&q.s, "w")) == SCHED_STAGE_FIFO);
	teardown(&q.s);
	unsetenv("DTEQ_SCHED");
}

static void
test_record_without_redis(void)
{
	struct submit	s;
	struct result	r;
	size_t		i;

	setup(&s);
	memset(&r, 0, sizeof r);
	r.status = RESULT_SUCCESS;
	for (i = 0; i < 300; i++) {
		r.duration_ms = i;
		sched_record(&s, i % graph_size(s.g), &r);
	}
	r.status = RESULT_FAILED;
	sched_record(&s, 0, &r);
	teardown(&s);		/* nothing sent, nothing leaked */
}

static void
test_history_medians(void)
{
	struct q	q;

	setup_json(&q.s, targets_json);
	set_history(&q.s, "a:build 100 b:build 300 a:lint 10 b:lint 30");
	/*
	 * New tasks: their target's median; d:test the median of all;
	 * c:build 200 + d:test's 65.
	 */
	check_ranks(&q.s, "b:build 300 a:lint 10 c:lint 20 d:test 65 "
	    "c:build 265");
	/* The roots in order of their longest remaining path. */
	CHECK(take(&q, "a:lint a:build c:build") == 3);
	check_out(&q, "c:build a:build a:lint");
	/* A zero duration still counts a little. */
	sched_history_set(&q.s, idx(&q.s, "a:lint"), 0);
	CHECK(sched_rank_of(&q.s, idx(&q.s, "a:lint")) > 0);
	teardown(&q.s);
}

int
main(void)
{
	unsetenv("DTEQ_SCHED");
	TEST_RUN(test_ranks_without_history);
	TEST_RUN(test_sort_by_rank_then_file_order);
	TEST_RUN(test_ends_of_a_sorted_queue);
	TEST_RUN(test_held_between_the_ends);
	TEST_RUN(test_held_then_skipped);
	TEST_RUN(test_requeued_task_counts_once);
	TEST_RUN(test_stage_below_held);
	TEST_RUN(test_fifo_mode);
	TEST_RUN(test_record_without_redis);
	TEST_RUN(test_history_medians);
	return (test_exit());
}
