/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for producer/report.c and summary.c, export.c, junit.c,
 * html.c: the block format and what it keeps of an attempt, the summary's
 * order (failures last), flaky tasks, the critical path with retries, the
 * timeline's lanes, text cleaning and escaping, and the report files.
 * No Redis: a struct submit is built by hand around a real graph, and
 * stdout is sent to a file while report.c prints.
 */

#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "producer.h"
#include "helpers.h"

static char	test_dir[] = "/tmp/dteq-test-report.XXXXXX";

/* The options every test's submit has: no colour, no --stream. */
static struct submit_opts test_opts;

/* A submit around the graph of ts, started at wall time 1000000. */
static void
setup(struct submit *s, struct taskset *ts)
{
	char	*cause = NULL;

	memset(s, 0, sizeof *s);
	s->g = graph_new(ts, &cause);
	CHECK(s->g != NULL);
	if (s->g == NULL) {
		printf("    %s\n", cause);
		exit(1);
	}
	s->pt = xcalloc(graph_size(s->g), sizeof *s->pt);
	s->run = xstrdup("unit-1");
	test_opts.color = 0;
	s->o = &test_opts;
	s->started = 1;
	s->ended = 1 + 2000;
}

/* Free what setup() and the report made. */
static void
teardown(struct submit *s)
{
	size_t	i;

	for (i = 0; i < graph_size(s->g); i++) {
		result_clear(&s->pt[i].result);
		free(s->pt[i].reason);
	}
	free(s->pt);
	graph_free(s->g);
	free(s->run);
	free(s->abort_reason);
	if (s->report != NULL) {
		struct report *r = s->report;

		for (i = 0; i < r->nattempts; i++) {
			free(r->attempts[i].agent);
			free(r->attempts[i].tail);
		}
		for (i = 0; i < r->nlanes; i++)
			free(r->lanes[i]);
		free(r->lanes);
		free(r->attempts);
		free(r->order);
		free(r->path);
		free(r->tasks);
		free(r->last_counts);
		free(r);
	}
}

/* Run one attempt of task id through report_block(); final unless note. */
static void
finish(struct submit *s, const char *id, int status, int attempt,
    const char *agent, uint64_t start, uint64_t dur, const char *out,
    const char *note)
{
	size_t		 i = graph_find(s->g, id);
	struct ptask	*p = &s->pt[i];
	struct result	 r;

	memset(&r, 0, sizeof r);
	r.id = (char *)id;
	r.status = status;
	r.exit_code = status == RESULT_FAILED ? 1 : 0;
	r.attempt = attempt;
	r.agent = (char *)agent;
	r.start_ms = start;
	r.end_ms = start + dur;
	r.duration_ms = dur;
	report_block(s, i, &r, out, out != NULL ? strlen(out) : 0, note);
	p->tries = attempt;
	p->attempt = attempt;
	if (note != NULL)
		return;
	ptask_set_state(s, i, PT_DONE);
	result_clear(&p->result);
	p->result.id = xstrdup(id);
	p->result.status = status;
	p->result.exit_code = r.exit_code;
	p->result.attempt = attempt;
	p->result.agent = xstrdup(agent);
	p->result.start_ms = start;
	p->result.end_ms = start + dur;
	p->result.duration_ms = dur;
}

/* Send stdout to path until restore_stdout(). */
static int
capture_stdout(const char *path)
{
	int	saved, fd;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY|O_CREAT|O_TRUNC, 0600);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	return (saved);
}

/* Give stdout back after capture_stdout(). */
static void
restore_stdout(int saved)
{
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
}

/* Read a whole file. Caller frees. */
static char *
slurp(const char *path)
{
	char	*buf = NULL, *cause = NULL;
	size_t	 len;

	if (util_read_file(path, &buf, &len, &cause) != 0) {
		printf("    %s\n", cause);
		free(cause);
		return (xstrdup(""));
	}
	return (buf);
}

/* A path in the test directory. Caller frees. */
static char *
tpath(const char *name)
{
	char	*p;

	xasprintf(&p, "%s/%s", test_dir, name);
	return (p);
}

/* The diamond a -> {b, c} -> d plus a lone e. */
static void
diamond(struct submit *s)
{
	struct taskset	ts;

	memset(&ts, 0, sizeof ts);
	add_tasks(&ts, "p:a, p:b(p:a), p:c(p:a), p:d(p:b p:c), q:e");
	setup(s, &ts);
}

/* A block: header, output without escapes, footer; what it keeps. */
static void
test_block_format(void)
{
	struct submit	 s;
	struct report	*r;
	char		*path = tpath("block.out"), *got;
	int		 saved;

	diamond(&s);
	saved = capture_stdout(path);
	finish(&s, "p:a", RESULT_SUCCESS, 1, "ag1", 1000000, 1500,
	    "hello \033[31mred\033[0m\nno newline", NULL);
	finish(&s, "p:b", RESULT_FAILED, 1, "ag2", 1001500, 20, "boom\n",
	    "retrying (attempt 2 of 2)");
	restore_stdout(saved);
	got = slurp(path);
	CHECK_STREQ(got, "> p:a (ag1, 1.50s, attempt 1)\n"
	    "hello red\nno newline\n"
	    "< p:a: succeeded\n"
	    "> p:b (ag2, 0.02s, attempt 1)\nboom\n"
	    "< p:b: failed (exit 1), retrying (attempt 2 of 2)\n");
	r = s.report;
	CHECK(r != NULL && r->nattempts == 2);
	if (r != NULL && r->nattempts == 2) {
		CHECK(r->tasks[0].last == 0);
		CHECK(r->attempts[0].taillen == strlen(
		    "hello \033[31mred\033[0m\nno newline"));
		CHECK_STREQ(r->attempts[1].agent, "ag2");
		CHECK(r->tasks[1].work_ms == 20);
	}
	free(got);
	free(path);
	teardown(&s);
}

/* A long output keeps its end, cut at a line start. */
static void
test_tail_cut(void)
{
	struct submit	 s;
	char		*path = tpath("tail.out"), *big;
	size_t		 i, len = 0;
	const char	*t;
	int		 saved;

	diamond(&s);
	big = xmalloc(50000);
	for (i = 0; len + 40 < 50000; i++)
		len += (size_t)snprintf(big + len, 50000 - len,
		    "line %zu of the output\n", i);
	saved = capture_stdout(path);
	finish(&s, "q:e", RESULT_SUCCESS, 1, "ag1", 1000000, 10, big, NULL);
	restore_stdout(saved);
	t = summary_tail(&s, graph_find(s.g, "q:e"), &len);
	CHECK(len > 8000 && len <= 16384);
	CHECK(strncmp(t, "line ", 5) == 0);
	CHECK(t[len - 1] == '\n');
	CHECK(memcmp(t + len - 4, "ut\n", 3) == 0 || t[len - 2] == 't');
	free(big);
	free(path);
	teardown(&s);
}

/* Run the diamond: b is slow, c was retried, e failed, d skipped. */
static void
diamond_run(struct submit *s)
{
	char	*path = tpath("run.out");
	int	 saved;

	diamond(s);
	saved = capture_stdout(path);
	finish(s, "p:a", RESULT_SUCCESS, 1, "x", 1000000, 100, "a\n", NULL);
	finish(s, "p:b", RESULT_SUCCESS, 1, "x", 1000100, 500, "b\n", NULL);
	finish(s, "p:c", RESULT_FAILED, 1, "y", 1000100, 300, "c1\n",
	    "retrying");
	finish(s, "p:c", RESULT_SUCCESS, 2, "x", 1000400, 300, "c2\n", NULL);
	finish(s, "q:e", RESULT_FAILED, 1, "x", 1000050, 100, "e <&>\n",
	    NULL);
	restore_stdout(saved);
	ptask_set_state(s, 3, PT_DONE);
	s->pt[3].result.id = xstrdup("p:d");
	s->pt[3].result.status = RESULT_SKIPPED;
	s->pt[3].reason = xstrdup("dependency p:b failed");
	summary_build(s->report, s);
	free(path);
}

/* Counts, flaky and failures, and the order: failures last. */
static void
test_order_and_counts(void)
{
	struct submit	 s;
	struct report	*r;

	diamond_run(&s);
	r = s.report;
	CHECK(r->counts[RESULT_SUCCESS] == 3);
	CHECK(r->counts[RESULT_FAILED] == 1);
	CHECK(r->counts[RESULT_SKIPPED] == 1);
	CHECK(r->nfailed == 1 && r->unfinished == 0 && r->flaky == 1);
	CHECK(summary_is_flaky(&s, 2));
	CHECK(!summary_is_flaky(&s, 0));
	CHECK(summary_is_failure(&s, 4));
	/* Successes by start time, then skipped, then the failure. */
	CHECK(r->order[0] == 0 && r->order[1] == 1 && r->order[2] == 2);
	CHECK(r->order[3] == 3);
	CHECK(r->order[4] == 4);
	CHECK(r->wall_ms == 2000);
	CHECK(r->work_ms == 100 + 500 + 600 + 100);
	CHECK_STREQ(summary_word(&s, 3), "skipped");
	teardown(&s);
}

/*
 * The counts of a run going on: a task waiting on its dependencies is
 * waiting, not queued, also one pushed early (staged); one that never
 * started has no attempt, and is "not run" unless it was ready.
 */
static void
test_counts_waiting(void)
{
	struct submit	 s;
	char		*counts, *path = tpath("counts.out");
	size_t		 a, b, c, d, e;
	int		 saved;

	diamond(&s);
	a = graph_find(s.g, "p:a");
	b = graph_find(s.g, "p:b");
	c = graph_find(s.g, "p:c");
	d = graph_find(s.g, "p:d");
	e = graph_find(s.g, "q:e");
	report_get(&s);
	saved = capture_stdout(path);
	finish(&s, "p:a", RESULT_SUCCESS, 1, "w1", 1000, 100, "a\n", NULL);
	restore_stdout(saved);
	unlink(path);
	free(path);
	s.pt[b].state = PT_RUNNING;
	s.pt[b].tries = s.pt[b].attempt = 1;
	s.pt[c].state = PT_QUEUED;	/* pushed early: waits for p:a... */
	s.pt[c].staged = 1;
	s.pt[c].tries = 1;
	s.pt[d].state = PT_WAITING;
	s.pt[e].state = PT_QUEUED;	/* ready, for a free slot */
	s.pt[e].tries = 1;
	s.agents_alive = 3;
	counts = report_counts(&s);
	CHECK_STREQ(counts, "1/5 done, 1 running on 3 agents, 1 queued, "
	    "2 waiting");
	free(counts);
	s.pt[d].held = 1;		/* ready, held back: queued */
	counts = report_counts(&s);
	CHECK_STREQ(counts, "1/5 done, 1 running on 3 agents, 2 queued, "
	    "1 waiting");
	free(counts);
	s.pt[d].held = 0;
	CHECK_STREQ(summary_word(&s, c), "not run");
	CHECK_STREQ(summary_word(&s, d), "not run");
	CHECK_STREQ(summary_word(&s, e), "queued");
	CHECK(summary_attempts(&s, c) == 0 && summary_attempt(&s, c) == 0);
	CHECK(summary_attempts(&s, e) == 0 && summary_attempt(&s, e) == 0);
	CHECK(summary_attempts(&s, b) == 1 && summary_attempt(&s, b) == 1);
	CHECK(summary_attempts(&s, a) == 1 && summary_attempt(&s, a) == 1);
	CHECK(!summary_ran(&s, c) && !summary_ran(&s, b));
	teardown(&s);
}

/* The heaviest chain, counting every attempt. */
static void
test_critical_path(void)
{
	struct submit	 s;
	struct report	*r;

	/*
	 * a 100 > c (300 + 300, retried) 600 beats a > b 500; the skipped
	 * d adds nothing, so the path ends at c.
	 */
	diamond_run(&s);
	r = s.report;
	CHECK(r->npath == 2);
	if (r->npath == 2) {
		CHECK_STREQ(graph_node(s.g, r->path[0])->task->id, "p:a");
		CHECK_STREQ(graph_node(s.g, r->path[1])->task->id, "p:c");
	}
	CHECK(r->path_ms == 700);
	CHECK(r->tasks[0].critical && r->tasks[2].critical);
	CHECK(!r->tasks[1].critical && !r->tasks[3].critical &&
	    !r->tasks[4].critical);
	teardown(&s);
}

/* Attempts packed into agent slots without overlap. */
static void
test_lanes(void)
{
	struct submit	 s;
	struct report	*r;
	size_t		 k;

	diamond_run(&s);
	r = s.report;
	/*
	 * x: a 0-100, e 50-150, b 100-600, c#2 400-700: two slots; y: c#1.
	 */
	CHECK(r->nlanes == 3);
	if (r->nlanes == 3) {
		CHECK_STREQ(r->lanes[0], "x #1");
		CHECK_STREQ(r->lanes[1], "x #2");
		CHECK_STREQ(r->lanes[2], "y");
	}
	for (k = 0; k < r->nattempts; k++) {
		if (strcmp(r->attempts[k].agent, "y") == 0)
			CHECK(r->attempts[k].lane == 2);
		else
			CHECK(r->attempts[k].lane < 2);
	}
	CHECK(r->attempts[0].lane == 0);	/* a */
	CHECK(r->attempts[1].lane == 0);	/* b, after a */
	CHECK(r->attempts[4].lane == 1);	/* e, beside a */
	CHECK(r->attempts[3].lane == 1);	/* c#2, beside b */
	CHECK(!r->attempts[2].final && r->attempts[3].final);
	CHECK(r->span_ms == 2000);
	teardown(&s);
}

/*
 * The slots the agents offered (slots:NAME) are lanes too, used or not:
 * x offered 3 (used 2), y 2 (used 1), z 2 and ran nothing. (An agent
 * that said nothing has the lanes its attempts need: test_lanes.)
 */
static void
test_lanes_offered(void)
{
	static const char *want[] = { "x #1", "x #2", "x #3", "y #1", "y #2",
	    "z #1", "z #2" };
	static const struct { const char *agent; int slots; } offered[] = {
		{ "z", 2 }, { "x", 3 }, { "y", 2 } };
	struct submit	 s;
	struct report	*r;
	size_t		 k;

	diamond_run(&s);
	r = s.report;
	for (k = 0; k < nitems(offered); k++) {
		r->slots = xreallocarray(r->slots, r->nslots + 1,
		    sizeof *r->slots);
		r->slots[r->nslots].agent = xstrdup(offered[k].agent);
		r->slots[r->nslots++].slots = offered[k].slots;
	}
	summary_build(r, &s);
	CHECK(r->nlanes == nitems(want));
	CHECK(r->nagents == 3);
	for (k = 0; k < r->nlanes && k < nitems(want); k++)
		CHECK_STREQ(r->lanes[k], want[k]);
	for (k = 0; k < r->nattempts; k++) {
		if (strcmp(r->attempts[k].agent, "y") == 0)
			CHECK(r->attempts[k].lane == 3);
		else
			CHECK(r->attempts[k].lane < 2);
	}
	for (k = 0; k < r->nslots; k++)
		free(r->slots[k].agent);
	free(r->slots);
	r->slots = NULL;
	r->nslots = 0;
	teardown(&s);
}

/* Output made safe for XML and HTML. */
static void
test_clean_and_escape(void)
{
	const char	 in[] = "a\033[31mb\033[0m\r\nc\rd\001e\xff\033]0;t\a!";
	char		*out, *buf = NULL;
	size_t		 len, blen = 0;
	FILE		*f;

	out = export_clean(in, sizeof in - 1, &len);
	CHECK_STREQ(out, "ab\nc\nde\xef\xbf\xbd!");
	CHECK(len == strlen(out));
	free(out);
	out = export_clean("\xe2\x82\xac \xef\xbf\xbe", 7, &len);
	CHECK_STREQ(out, "\xe2\x82\xac \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(out);

	f = open_memstream(&buf, &blen);
	export_escape(f, "<a href='x'>&\"</a>", 18);
	fclose(f);
	CHECK_STREQ(buf, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
	free(buf);
}

/* The --json, --junit and --report files of a run. */
static void
test_files(void)
{
	struct submit	 s;
	char		*json = tpath("out/deep/run.json");
	char		*xml = tpath("test-results/x/junit.xml");
	char		*html = tpath("r.html"), *got, *cause = NULL;

	diamond_run(&s);
	CHECK(export_json(&s, json, &cause) == 0);
	CHECK(junit_write(&s, xml, &cause) == 0);
	CHECK(html_write(&s, html, &cause) == 0);
	if (cause != NULL) {
		printf("    %s\n", cause);
		free(cause);
	}

	got = slurp(json);
	CHECK(strstr(got, "\"run\": \"unit-1\"") != NULL);
	CHECK(strstr(got, "\"result\": \"failed\", \"exit\": 1") != NULL);
	CHECK(strstr(got, "\"critical_path\": {\"duration_ms\": 700, "
	    "\"tasks\": [\"p:a\", \"p:c\"]}") != NULL);
	CHECK(strstr(got, "\"flaky\": 1, \"cached\": 0}") != NULL);
	CHECK(strstr(got, "\"cached\": true") == NULL);
	CHECK(strstr(got, "\"reason\": \"dependency p:b failed\"") != NULL);
	free(got);

	got = slurp(xml);
	CHECK(strncmp(got, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
	    39) == 0);
	CHECK(strstr(got, "tests=\"5\" failures=\"1\" errors=\"0\" "
	    "skipped=\"1\"") != NULL);
	CHECK(strstr(got, "<testcase name=\"q:e\" classname=\"q\" "
	    "time=\"0.100\">") != NULL);
	CHECK(strstr(got, ">e &lt;&amp;&gt;\n</failure>") != NULL);
	CHECK(strstr(got, "<skipped message=\"dependency p:b failed\"/>") !=
	    NULL);
	free(got);

	got = slurp(html);
	CHECK(strstr(got, "data-bars=\"5\" data-lanes=\"3\"") != NULL);
	CHECK(strstr(got, "class=\"bar retried\"") != NULL);
	CHECK(strstr(got, "class=\"bar success crit\"") != NULL);
	CHECK(strstr(got, "e &lt;&amp;&gt;") != NULL);
	CHECK(strstr(got, "http") == NULL);
	free(got);

	free(json);
	free(xml);
	free(html);
	teardown(&s);
}

/*
 * Task i of s is a cache hit, as cached.c makes one: final, a success
 * with cached set, attempt 0, no agent, its line printed.
 */
static void
cache_hit(struct submit *s, const char *id, const char *hash)
{
	size_t		 i = graph_find(s->g, id);
	struct ptask	*p = &s->pt[i];

	graph_node(s->g, i)->task->hash = xstrdup(hash);
	ptask_set_state(s, i, PT_DONE);
	p->result.id = xstrdup(id);
	p->result.status = RESULT_SUCCESS;
	p->result.cached = 1;
	p->result.start_ms = p->result.end_ms = 1000000;
	report_cached(s, i);
}

/*
 * Cache hits (a and e of the diamond; b, c and d ran): their lines, the
 * counts, no weight on the critical path, and what the summary, --json,
 * --junit and --report say of them.
 */
static void
test_cached(void)
{
	struct submit	 s;
	struct report	*r;
	char		*out = tpath("cached.out"), *json = tpath("cached.json");
	char		*xml = tpath("cached.xml"), *html = tpath("cached.html");
	char		*got;
	int		 saved;

	diamond(&s);
	test_opts.json_path = json;
	test_opts.junit_path = xml;
	test_opts.report_path = html;
	saved = capture_stdout(out);
	cache_hit(&s, "p:a", "aaaa1111");
	finish(&s, "p:b", RESULT_SUCCESS, 1, "x", 1000000, 500, "b\n", NULL);
	finish(&s, "p:c", RESULT_SUCCESS, 1, "y", 1000000, 300, "c\n", NULL);
	finish(&s, "p:d", RESULT_SUCCESS, 1, "x", 1000500, 200, "d\n", NULL);
	cache_hit(&s, "q:e", "eeee2222");
	summary_build(s.report, &s);
	r = s.report;
	CHECK(r->counts[RESULT_SUCCESS] == 5 && r->ncached == 2);
	CHECK(r->nattempts == 3 && r->nlanes == 2);
	CHECK(summary_is_cached(&s, 0) && summary_is_cached(&s, 4));
	CHECK(!summary_is_cached(&s, 1) && !summary_is_flaky(&s, 0));
	CHECK(summary_attempts(&s, 0) == 0 && summary_ran(&s, 0));
	CHECK(r->path_ms == 700 && r->npath == 3);	/* a, b, d: a adds 0 */
	CHECK(r->work_ms == 1000);
	CHECK(recap_print(&s) == EXIT_OK);
	restore_stdout(saved);
	test_opts.json_path = test_opts.junit_path = NULL;
	test_opts.report_path = NULL;

	got = slurp(out);
	CHECK(strncmp(got, "= p:a: cache hit (aaaa1111), not run\n", 37) == 0);
	CHECK(strstr(got, "\n= q:e: cache hit (eeee2222), not run\n") != NULL);
	CHECK(strstr(got, "\n  success    p:a  -             - 0        "
	    "cache hit, not run\n") != NULL);
	CHECK(strstr(got, "\n5 tasks: 5 succeeded (2 cached), 0 failed, "
	    "0 skipped in ") != NULL);
	free(got);
	got = slurp(json);
	CHECK(strstr(got, "\"flaky\": 0, \"cached\": 2}") != NULL);
	CHECK(strstr(got, "{\"id\": \"p:a\", \"status\": \"success\", "
	    "\"agent\": null, \"attempts\": 0, \"attempt\": 0, "
	    "\"flaky\": false, \"cached\": true, \"exit\": 0,") != NULL);
	CHECK(strstr(got, "{\"id\": \"p:b\", \"status\": \"success\", "
	    "\"agent\": \"x\", \"attempts\": 1, \"attempt\": 1, "
	    "\"flaky\": false, \"cached\": false,") != NULL);
	CHECK(strstr(got, "{\"id\": \"p:a\", \"attempt\"") == NULL);
	free(got);
	got = slurp(xml);
	CHECK(strstr(got, "<property name=\"cached\" value=\"2\"/>") != NULL);
	CHECK(strstr(got, "<testcase name=\"p:a\" classname=\"p\" "
	    "time=\"0.000\">\n      <system-out>cache hit: not run, its "
	    "outputs were in the remote cache (aaaa1111)</system-out>\n"
	    "    </testcase>\n") != NULL);
	CHECK(strstr(got, "<testcase name=\"p:b\" classname=\"p\" "
	    "time=\"0.500\"/>") != NULL);
	free(got);
	got = slurp(html);
	CHECK(strstr(got, "2 cached, not run</span>") != NULL);
	CHECK(strstr(got, "data-bars=\"3\"") != NULL);
	CHECK(strstr(got, "data-meta=\"success: cache hit, not run\"") !=
	    NULL);
	free(got);
	free(out);
	free(json);
	free(xml);
	free(html);
	teardown(&s);
}

/* An unwritable report path is an error with a cause. */
static void
test_report_path_error(void)
{
	struct submit	 s;
	char		*cause = NULL;

	diamond_run(&s);
	CHECK(junit_write(&s, "/dev/null/x/junit.xml", &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "/dev/null") != NULL);
	free(cause);
	teardown(&s);
}

/* Run the tests in a scratch directory. */
int
main(void)
{
	pid_t	pid;

	if (mkdtemp(test_dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	TEST_RUN(test_block_format);
	TEST_RUN(test_tail_cut);
	TEST_RUN(test_order_and_counts);
	TEST_RUN(test_counts_waiting);
	TEST_RUN(test_critical_path);
	TEST_RUN(test_lanes);
	TEST_RUN(test_lanes_offered);
	TEST_RUN(test_clean_and_escape);
	TEST_RUN(test_files);
	TEST_RUN(test_cached);
	TEST_RUN(test_report_path_error);
	if ((pid = fork()) == 0) {
		execlp("rm", "rm", "-rf", test_dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return (test_exit());
}
