/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for producer/sched.c without Redis (no history): ranks are
 * longest remaining paths counted in tasks, a batch is sorted by rank
 * with ties in file order, a task goes to the popping end only when it
 * outranks the mean of what is queued, tasks that left the queue stop
 * counting, and DTEQ_SCHED=fifo keeps readiness order; with durations
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

/* What submit_dispatch() does for one batch; returns the urgent mask. */
static unsigned
dispatch(struct submit *s, size_t *batch, size_t n)
{
	unsigned	mask = 0;
	size_t		k;

	sched_sort(s, batch, n);
	for (k = 0; k < n; k++) {
		s->pt[batch[k]].attempt++;
		s->pt[batch[k]].state = PT_QUEUED;
		if (sched_urgent(s, batch[k]))
			mask |= 1u << k;
	}
	return (mask);
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
	size_t		b[4];

	setup(&s);
	b[0] = idx(&s, "s3");
	b[1] = idx(&s, "s2");
	b[2] = idx(&s, "L1");
	b[3] = idx(&s, "s1");
	sched_sort(&s, b, 4);
	CHECK(b[0] == idx(&s, "L1"));
	CHECK(b[1] == idx(&s, "s1"));
	CHECK(b[2] == idx(&s, "s2"));	/* ties: file order */
	CHECK(b[3] == idx(&s, "s3"));
	teardown(&s);
}

static void
test_urgent_above_the_mean(void)
{
	struct submit	s;
	size_t		b[4];

	setup(&s);
	/* The roots: an empty queue, then nothing outranks the mean. */
	b[0] = idx(&s, "s1");
	b[1] = idx(&s, "L1");
	b[2] = idx(&s, "s2");
	b[3] = idx(&s, "s3");
	CHECK(dispatch(&s, b, 4) == 0);
	/* An agent took L1 (the head); L2 (3) beats the mean of 2, 1, 1. */
	s.pt[idx(&s, "L1")].state = PT_RUNNING;
	b[0] = idx(&s, "L2");
	CHECK(dispatch(&s, b, 1) == 1);
	/* L2 and s1 were taken: w (1) is not above the mean of 1, 1. */
	s.pt[idx(&s, "L2")].state = PT_RUNNING;
	s.pt[idx(&s, "s1")].state = PT_RUNNING;
	b[0] = idx(&s, "w");
	CHECK(dispatch(&s, b, 1) == 0);
	/* L3 (2) beats s2, s3, w (1 each). */
	s.pt[idx(&s, "L2")].state = PT_DONE;
	b[0] = idx(&s, "L3");
	CHECK(dispatch(&s, b, 1) == 1);
	teardown(&s);
}

static void
test_requeued_task_counts_once(void)
{
	struct submit	s;
	size_t		b[1];

	setup(&s);
	b[0] = idx(&s, "s2");
	CHECK(dispatch(&s, b, 1) == 0);
	/* s2 lost and dispatched again: its old entry is stale. */
	s.pt[idx(&s, "s2")].state = PT_RUNNING;
	CHECK(dispatch(&s, b, 1) == 0);
	/* Alone in the queue, s2 (1) vs L1 (4): L1 jumps. */
	b[0] = idx(&s, "L1");
	CHECK(dispatch(&s, b, 1) == 1);
	teardown(&s);
}

static void
test_fifo_mode(void)
{
	struct submit	s;
	size_t		b[4];

	setenv("DTEQ_SCHED", "fifo", 1);
	setup(&s);
	b[0] = idx(&s, "s3");
	b[1] = idx(&s, "s2");
	b[2] = idx(&s, "L1");
	b[3] = idx(&s, "s1");
	CHECK(dispatch(&s, b, 4) == 0);
	CHECK(b[0] == idx(&s, "s3") && b[2] == idx(&s, "L1"));
	s.pt[idx(&s, "L1")].state = PT_RUNNING;
	b[0] = idx(&s, "L2");
	CHECK(dispatch(&s, b, 1) == 0);
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
	size_t		b[3];

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
	sched_sort(&s, b, 3);
	CHECK(b[0] == idx(&s, "c:build"));
	CHECK(b[1] == idx(&s, "a:build"));
	CHECK(b[2] == idx(&s, "a:lint"));
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
	TEST_RUN(test_urgent_above_the_mean);
	TEST_RUN(test_requeued_task_counts_once);
	TEST_RUN(test_fifo_mode);
	TEST_RUN(test_record_without_redis);
	TEST_RUN(test_history_medians);
	return (test_exit());
}
