/* dteq: self-hosted distributed task execution over Redis. */

/*
 * --junit PATH: the run as JUnit XML, the test-report format CI servers
 * read (Bitbucket Pipelines picks up any XML file under test-results/
 * by itself, GitLab through artifacts:reports:junit). One testsuite for
 * the run and one testcase per task, named by the task id, its class the
 * project (the id up to the first ':'):
 *
 *	success			<testcase .../>
 *	failed, timed out	<failure message="failed (exit 1)"
 *				type="failed">the end of its output</failure>
 *	lost, cancelled		<error ...> the same, as an error
 *	skipped, unfinished	<skipped message="dependency api:build failed"/>
 *	flaky			<system-out> names the attempts it took
 *	cache hit		time 0, <system-out>cache hit: not run ...
 *
 * The commands recorded in the main job (dteq record) follow in a second
 * testsuite named "recorded", classname "recorded", a failed one with a
 * <failure> holding the end of its output; the root's counts add both
 * suites.
 *
 * The file is written under a temporary name and renamed into place, so
 * a CI server never reads half of it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "producer.h"

/* Seconds with milliseconds, as JUnit's time attribute has them. */
static void
junit_time(FILE *f, uint64_t ms)
{
	fprintf(f, "%llu.%03u", (unsigned long long)(ms / 1000),
	    (unsigned)(ms % 1000));
}

/* Print text escaped for an attribute or element. */
static void
junit_str(FILE *f, const char *text)
{
	if (text != NULL)
		export_escape(f, text, strlen(text));
}

/* The testcase element of task i. */
static void
junit_case(const struct submit *s, FILE *f, size_t i)
{
	const struct ptask *p = &s->pt[i];
	const char	*id = graph_node(s->g, i)->task->id, *elem, *tail;
	char		 what[256];
	size_t		 tlen;

	fputs("    <testcase name=\"", f);
	junit_str(f, id);
	fputs("\" classname=\"", f);
	export_escape(f, id, strcspn(id, ":"));
	fputs("\" time=\"", f);
	junit_time(f, p->state == PT_DONE ? p->result.duration_ms : 0);
	fputs("\"", f);
	if (p->state == PT_DONE && p->result.status == RESULT_SUCCESS &&
	    !summary_is_flaky(s, i) && !summary_is_cached(s, i)) {
		fputs("/>\n", f);
		return;
	}
	fputs(">\n", f);
	if (summary_is_cached(s, i)) {
		fputs("      <system-out>cache hit: not run, its outputs were "
		    "in the remote cache (", f);
		junit_str(f, graph_node(s->g, i)->task->hash);
		fputs(")</system-out>\n    </testcase>\n", f);
		return;
	}
	if (p->state != PT_DONE || p->result.status == RESULT_SKIPPED) {
		fputs("      <skipped message=\"", f);
		if (p->state != PT_DONE)
			fprintf(f, "not finished (%s)", summary_word(s, i));
		else
			junit_str(f, p->reason != NULL ? p->reason :
			    "skipped");
		fputs("\"/>\n", f);
	} else if (p->result.status == RESULT_SUCCESS) {
		fprintf(f, "      <system-out>flaky: succeeded on attempt %d "
		    "of %d after a failed attempt</system-out>\n",
		    p->result.attempt, p->tries);
	} else {
		elem = p->result.status == RESULT_FAILED ||
		    p->result.status == RESULT_TIMEOUT ? "failure" : "error";
		if (p->result.status == RESULT_FAILED)
			snprintf(what, sizeof what, "failed (exit %d) on %s",
			    p->result.exit_code, p->result.agent != NULL ?
			    p->result.agent : "?");
		else
			snprintf(what, sizeof what, "%s on %s",
			    result_status_name(p->result.status),
			    p->result.agent != NULL ? p->result.agent : "?");
		fprintf(f, "      <%s message=\"", elem);
		junit_str(f, what);
		if (p->reason != NULL) {
			fputs(": ", f);
			junit_str(f, p->reason);
		}
		fprintf(f, "\" type=\"%s\">", result_status_name(
		    p->result.status));
		tail = summary_tail(s, i, &tlen);
		export_escape(f, tail, tlen);
		fprintf(f, "</%s>\n", elem);
	}
	fputs("    </testcase>\n", f);
}

/* An ISO 8601 timestamp (UTC) of a wall-clock time in ms. */
static void
junit_stamp(char *buf, size_t len, uint64_t ms)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* The testcase of a command recorded in the main job. */
static void
junit_record(FILE *f, const struct rrecord *rec)
{
	const struct result	*res = &rec->result;

	fputs("    <testcase name=\"", f);
	junit_str(f, res->id);
	fputs("\" classname=\"recorded\" time=\"", f);
	junit_time(f, res->duration_ms);
	if (res->status == RESULT_SUCCESS) {
		fputs("\"/>\n", f);
		return;
	}
	fputs("\">\n      <failure message=\"", f);
	if (res->status == RESULT_FAILED)
		fprintf(f, "failed (exit %d)", res->exit_code);
	else
		junit_str(f, result_status_name(res->status));
	fprintf(f, " in the main job\" type=\"%s\">",
	    result_status_name(res->status));
	export_escape(f, rec->tail, rec->taillen);
	fputs("</failure>\n    </testcase>\n", f);
}

/*
 * The commands recorded in the main job (dteq record), as a testsuite
 * of their own named "recorded": they are not tasks of the graph.
 */
static void
junit_records(const struct submit *s, FILE *f, const char *host)
{
	const struct report *r = s->report;
	uint64_t	 ms = 0;
	size_t		 k;
	char		 stamp[32];

	if (r->nrecords == 0)
		return;
	for (k = 0; k < r->nrecords; k++)
		ms += r->records[k].result.duration_ms;
	junit_stamp(stamp, sizeof stamp, r->records[0].result.start_ms);
	fprintf(f, "  <testsuite name=\"recorded\" tests=\"%zu\" "
	    "failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"",
	    r->nrecords, r->nrecfailed);
	junit_time(f, ms);
	fprintf(f, "\" timestamp=\"%s\" hostname=\"", stamp);
	junit_str(f, host);
	fputs("\">\n    <properties>\n      <property name=\"run\" "
	    "value=\"", f);
	junit_str(f, s->run);
	fputs("\"/>\n      <property name=\"agent\" value=\"main\"/>\n"
	    "    </properties>\n", f);
	for (k = 0; k < r->nrecords; k++)
		junit_record(f, &r->records[k]);
	fputs("  </testsuite>\n", f);
}

/* Write the JUnit XML report. */
int
junit_write(const struct submit *s, const char *path, char **cause)
{
	const struct report *r = s->report;
	size_t		 i, n = graph_size(s->g), failures, errors, skipped;
	char		 stamp[32], host[256];
	FILE		*f;

	failures = r->counts[RESULT_FAILED] + r->counts[RESULT_TIMEOUT];
	errors = r->counts[RESULT_LOST] + r->counts[RESULT_CANCELLED];
	skipped = r->counts[RESULT_SKIPPED] + r->unfinished;
	junit_stamp(stamp, sizeof stamp, r->start_wall);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';

	if ((f = export_open(path, cause)) == NULL)
		return (-1);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	/* The root counts both suites: the tasks and the recorded. */
	fprintf(f, "<testsuites name=\"dteq\" tests=\"%zu\" failures=\"%zu\" "
	    "errors=\"%zu\" skipped=\"%zu\" time=\"", n + r->nrecords,
	    failures + r->nrecfailed, errors, skipped);
	junit_time(f, r->wall_ms);
	fputs("\">\n  <testsuite name=\"dteq run ", f);
	junit_str(f, s->run);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	    "skipped=\"%zu\" time=\"", n, failures, errors, skipped);
	junit_time(f, r->wall_ms);
	fprintf(f, "\" timestamp=\"%s\" hostname=\"", stamp);
	junit_str(f, host);
	fputs("\">\n    <properties>\n      <property name=\"run\" value=\"",
	    f);
	junit_str(f, s->run);
	fputs("\"/>\n      <property name=\"task_time\" value=\"", f);
	junit_time(f, r->work_ms);
	fprintf(f, "\"/>\n      <property name=\"cached\" value=\"%zu\"/>\n"
	    "      <property name=\"critical_path\" value=\"", r->ncached);
	for (i = 0; i < r->npath; i++) {
		if (i > 0)
			fputs(" &gt; ", f);
		junit_str(f, graph_node(s->g, r->path[i])->task->id);
	}
	fputs("\"/>\n    </properties>\n", f);
	for (i = 0; i < n; i++)
		junit_case(s, f, i);
	fputs("  </testsuite>\n", f);
	junit_records(s, f, host);
	fputs("</testsuites>\n", f);
	return (export_close(f, path, cause));
}
