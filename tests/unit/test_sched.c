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

static void
test_ranks_without_history(void)
{
	struct submit	s;

	setup(&s);
	CHECK(sched_rank_of(&s, idx(&s, "L1")) == 4);
	CHECK(sched_rank_of(&s, idx(&s, "L2")) == 3);
	CHECK(sched_rank_of(&s, idx(&s, "L4")) == 1);
	CHECK(sched_rank_of(&s, idx(&s, "s1")) == 2);
	CHECK(sched_rank_of(&s, idx(&s, "s2")) == 1);
	CHECK(sched_rank_of(&s, idx(&s, "w")) == 1);
	teardown(&s);
}

static void
test_sort_by_rank_then_file_order(void)
{
	struct submit	s;
	size_t		b[4], out[8];
	int		urg[8];

	setup(&s);
	b[0] = idx(&s, "s3");
	b[1] = idx(&s, "s2");
	b[2] = idx(&s, "L1");
	b[3] = idx(&s, "s1");
	/* An empty queue takes all, most urgent nearest the popping end. */
	CHECK(dispatch(&s, b, 4, out, urg) == 4);
	CHECK(out[0] == idx(&s, "L1") && urg[0]);
	CHECK(out[1] == idx(&s, "s1") && urg[1]);
	CHECK(out[2] == idx(&s, "s2") && urg[2]);	/* ties: file order */
	CHECK(out[3] == idx(&s, "s3") && urg[3]);
	CHECK(sched_nheld(&s) == 0);
	teardown(&s);
}

static void
test_ends_of_a_sorted_queue(void)
{
	struct submit	s;
	size_t		b[4], out[8];
	int		urg[8];

	setup(&s);
	b[0] = idx(&s, "s1");
	b[1] = idx(&s, "L1");
	b[2] = idx(&s, "s2");
	b[3] = idx(&s, "s3");
	CHECK(dispatch(&s, b, 4, out, urg) == 4);	/* L1 s1 s2 s3 */
	/* An agent took L1; L2 (3) outranks s1 (2), the popping end. */
	ptask_set_state(&s, idx(&s, "L1"), PT_RUNNING);
	b[0] = idx(&s, "L2");
	CHECK(dispatch(&s, b, 1, out, urg) == 1 && urg[0]);
	/* L2 and s1 were taken: w (1) ties s3 at the far end: FIFO. */
	ptask_set_state(&s, idx(&s, "L2"), PT_RUNNING);
	ptask_set_state(&s, idx(&s, "s1"), PT_RUNNING);
	b[0] = idx(&s, "w");
	CHECK(dispatch(&s, b, 1, out, urg) == 1 && !urg[0]);
	/* L3 (2) beats s2, s3, w (1 each). */
	ptask_set_state(&s, idx(&s, "L2"), PT_DONE);
	b[0] = idx(&s, "L3");
	CHECK(dispatch(&s, b, 1, out, urg) == 1 && urg[0]);
	CHECK(sched_nheld(&s) == 0);
	teardown(&s);
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
setup_four(struct submit *s, double c_ms, double d_ms)
{
	size_t	b[2], out[8];
	int	urg[8];

	setup_json(s, four_json);
	sched_history_set(s, idx(s, "a"), 400);
	sched_history_set(s, idx(s, "b"), 100);
	sched_history_set(s, idx(s, "c"), c_ms);
	sched_history_set(s, idx(s, "d"), d_ms);
	b[0] = idx(s, "b");
	b[1] = idx(s, "a");
	CHECK(dispatch(s, b, 2, out, urg) == 2);
	CHECK(out[0] == idx(s, "a") && out[1] == idx(s, "b"));
}

static void
test_held_between_the_ends(void)
{
	struct submit	s;
	size_t		b[2], out[8];
	int		urg[8];

	setup_four(&s, 300, 50);
	/* c (300) belongs between a (400) and b (100): held. */
	b[0] = idx(&s, "c");
	CHECK(dispatch(&s, b, 1, out, urg) == 0);
	CHECK(sched_nheld(&s) == 1);
	CHECK(s.pt[idx(&s, "c")].held && s.pt[idx(&s, "c")].state ==
	    PT_WAITING);
	/* Nothing moved: still held, waiting for a to start. */
	CHECK(sched_take(&s, out, urg) == 0);
	CHECK(sched_above_held(&s, out, 8) == 1 && out[0] == idx(&s, "a"));
	/* d (50) waits behind c, which goes first. */
	b[0] = idx(&s, "d");
	CHECK(dispatch(&s, b, 1, out, urg) == 0);
	CHECK(sched_nheld(&s) == 2);
	/* a started: c tops the queue, d goes to the far end behind b. */
	ptask_set_state(&s, idx(&s, "a"), PT_RUNNING);
	CHECK(dispatch(&s, NULL, 0, out, urg) == 2);
	CHECK(out[0] == idx(&s, "c") && urg[0]);
	CHECK(out[1] == idx(&s, "d") && !urg[1]);
	CHECK(sched_nheld(&s) == 0 && !s.pt[idx(&s, "c")].held);
	CHECK(sched_above_held(&s, out, 8) == 0);
	teardown(&s);
}

static void
test_held_then_skipped(void)
{
	struct submit	s;
	size_t		b[2], out[8];
	int		urg[8];

	setup_four(&s, 300, 50);
	b[0] = idx(&s, "c");
	CHECK(dispatch(&s, b, 1, out, urg) == 0);
	/* c was skipped (--fail-fast) while held: never pushed. */
	ptask_set_state(&s, idx(&s, "c"), PT_DONE);
	ptask_set_state(&s, idx(&s, "a"), PT_RUNNING);
	CHECK(dispatch(&s, NULL, 0, out, urg) == 0);
	CHECK(sched_nheld(&s) == 0);
	teardown(&s);
}

static void
test_requeued_task_counts_once(void)
{
	struct submit	s;
	size_t		b[1], out[8];
	int		urg[8];

	setup(&s);
	b[0] = idx(&s, "s2");
	CHECK(dispatch(&s, b, 1, out, urg) == 1);
	/* s2 lost and dispatched again: its old entry is stale. */
	ptask_set_state(&s, idx(&s, "s2"), PT_RUNNING);
	CHECK(dispatch(&s, b, 1, out, urg) == 1);
	CHECK(s.pt[idx(&s, "s2")].attempt == 2);
	/* Held twice, taken once. */
	ptask_set_state(&s, idx(&s, "s3"), PT_WAITING);
	b[0] = idx(&s, "s3");
	sched_ready(&s, b, 1);
	sched_ready(&s, b, 1);
	CHECK(sched_nheld(&s) == 1);
	/* Alone in the queue, s2 (1) vs L1 (4): L1 jumps. */
	b[0] = idx(&s, "L1");
	CHECK(dispatch(&s, b, 1, out, urg) == 2);
	CHECK(out[0] == idx(&s, "L1") && urg[0]);
	CHECK(out[1] == idx(&s, "s3") && !urg[1]);
	/* Staging: only above everything queued. */
	CHECK(sched_stage(&s, idx(&s, "L2")) == SCHED_STAGE_NO);
	ptask_set_state(&s, idx(&s, "L1"), PT_RUNNING);
	CHECK(sched_stage(&s, idx(&s, "L2")) == SCHED_STAGE_URGENT);
	teardown(&s);
}

static void
test_stage_below_held(void)
{
	struct submit	s;
	size_t		b[2], out[8];
	int		urg[8];

	setup_four(&s, 300, 350);
	b[0] = idx(&s, "d");
	CHECK(dispatch(&s, b, 1, out, urg) == 0);	/* held: 350 */
	ptask_set_state(&s, idx(&s, "a"), PT_RUNNING);
	ptask_set_state(&s, idx(&s, "b"), PT_RUNNING);
	/* The queue is empty now, but d (350) is held: c (300) waits. */
	CHECK(sched_stage(&s, idx(&s, "c")) == SCHED_STAGE_NO);
	CHECK(dispatch(&s, NULL, 0, out, urg) == 1 && urg[0]);
	CHECK(out[0] == idx(&s, "d"));
	teardown(&s);
}

static void
test_fifo_mode(void)
{
	struct submit	s;
	size_t		b[4], out[8];
	int		urg[8];

	setenv("DTEQ_SCHED", "fifo", 1);
	setup(&s);
	b[0] = idx(&s, "s3");
	b[1] = idx(&s, "s2");
	b[2] = idx(&s, "L1");
	b[3] = idx(&s, "s1");
	/* Readiness order, all at the far end. */
	CHECK(dispatch(&s, b, 4, out, urg) == 4);
	CHECK(out[0] == idx(&s, "s3") && out[2] == idx(&s, "L1"));
	CHECK(!urg[0] && !urg[1] && !urg[2] && !urg[3]);
	ptask_set_state(&s, idx(&s, "L1"), PT_RUNNING);
	b[0] = idx(&s, "L2");
	CHECK(dispatch(&s, b, 1, out, urg) == 1 && !urg[0]);
	CHECK(sched_stage(&s, idx(&s, "w")) == SCHED_STAGE_FIFO);
	teardown(&s);
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
	struct submit	s;
	size_t		b[3], out[8];
	int		urg[8];

	setup_json(&s, targets_json);
	sched_history_set(&s, idx(&s, "a:build"), 100);
	sched_history_set(&s, idx(&s, "b:build"), 300);
	sched_history_set(&s, idx(&s, "a:lint"), 10);
	sched_history_set(&s, idx(&s, "b:lint"), 30);
	CHECK(sched_rank_of(&s, idx(&s, "b:build")) == 300);
	CHECK(sched_rank_of(&s, idx(&s, "a:lint")) == 10);
	/* New tasks: their target's median; d:test the median of all. */
	CHECK(sched_rank_of(&s, idx(&s, "c:lint")) == 20);
	CHECK(sched_rank_of(&s, idx(&s, "d:test")) == 65);
	CHECK(sched_rank_of(&s, idx(&s, "c:build")) == 200 + 65);
	/* The roots in order of their longest remaining path. */
	b[0] = idx(&s, "a:lint");
	b[1] = idx(&s, "a:build");
	b[2] = idx(&s, "c:build");
	CHECK(dispatch(&s, b, 3, out, urg) == 3);
	CHECK(out[0] == idx(&s, "c:build"));
	CHECK(out[1] == idx(&s, "a:build"));
	CHECK(out[2] == idx(&s, "a:lint"));
	/* A zero duration still counts a little. */
	sched_history_set(&s, idx(&s, "a:lint"), 0);
	CHECK(sched_rank_of(&s, idx(&s, "a:lint")) > 0);
	teardown(&s);
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
