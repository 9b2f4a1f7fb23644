/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What submit prints once the run is over, from what report.c kept and
 * summary.c computed (reading a const struct submit), and the report
 * files. recap_print(), in this order:
 *
 * 1. the --stream lines not yet ended, and the live area goes;
 * 2. the end of each failed task's output again (RECAP_REPLAY_LINES);
 * 3. the summary table of every task, failures last; past
 *    SUMMARY_FULL_MAX tasks, only the slowest, the flaky and the failed
 *    ones (the report files have them all);
 * 4. the commands recorded in the main job (dteq record, records.c) in a
 *    table of their own; a recorded command that failed does not change
 *    the exit status: `dteq record` already exited with it;
 * 5. the critical path, and the closing line with the totals;
 * 6. on stderr, why an aborted run ended and what did not finish;
 * 7. the --json, --junit and --report files (export.c, junit.c,
 *    html.c).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"

#define RECAP_REPLAY_LINES	30	/* lines replayed per failed task */

/* Print the last RECAP_REPLAY_LINES lines of t[0..len), indented. */
static void
recap_tail(const struct report *r, FILE *f, const char *t, size_t len)
{
	const char	*end = t + len, *nl, *eol;
	size_t		 lines;

	if (len == 0) {
		fprintf(f, "  | (no output)\n");
		return;
	}
	if (end[-1] == '\n')
		end--;
	for (lines = 0, nl = end; nl > t; nl--) {
		if (nl[-1] == '\n' && ++lines == RECAP_REPLAY_LINES)
			break;
	}
	while (nl < end) {
		eol = memchr(nl, '\n', (size_t)(end - nl));
		if (eol == NULL)
			eol = end;
		fputs("  | ", f);
		report_text(r, f, nl, (size_t)(eol - nl));
		if (r->color)
			fputs(SGR_RESET, f);
		fputc('\n', f);
		nl = eol + 1;
	}
}

/* Print the end of each failed task's output again, before the summary. */
static void
recap_replay(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	const struct ptask *p;
	struct result	 res;
	const char	*t;
	char		 footer[512], *dur;
	size_t		 k, i, tlen;

	if (r->nfailed == 0)
		return;
	fprintf(f, "\n%sFailed tasks (%zu), the end of their output:%s\n",
	    report_sgr(r, SGR_BOLD), r->nfailed, report_sgr(r, SGR_RESET));
	for (k = 0; k < graph_size(s->g); k++) {
		i = r->order[k];
		if (!summary_is_failure(s, i))
			continue;
		p = &s->pt[i];
		res = p->result;
		res.reason = p->reason;
		report_footer(&res, footer, sizeof footer);
		dur = util_format_duration(p->result.duration_ms);
		fprintf(f, "  %s%s: %s%s on %s, attempt %d, %s\n",
		    report_status_sgr(r, p->result.status),
		    graph_node(s->g, i)->task->id, footer,
		    report_sgr(r, SGR_RESET), p->result.agent != NULL ?
		    p->result.agent : "no agent", p->result.attempt, dur);
		free(dur);
		t = summary_tail(s, i, &tlen);
		recap_tail(r, f, t, tlen);
	}
}

/* The summary's note column for task i: flaky, exit code, reason. */
static char *
recap_row_note(const struct submit *s, size_t i)
{
	const struct ptask *p = &s->pt[i];
	char		*note;

	if (summary_is_flaky(s, i))
		xasprintf(&note, "flaky: %d attempts", p->tries);
	else if (summary_is_cached(s, i))
		note = xstrdup("cache hit, not run");
	else if (p->state == PT_DONE && p->result.status == RESULT_FAILED)
		xasprintf(&note, "exit %d%s%s", p->result.exit_code,
		    p->reason != NULL ? ", " : "",
		    p->reason != NULL ? p->reason : "");
	else
		note = xstrdup(p->reason != NULL ? p->reason : "");
	return (note);
}

/* Where every task is, when the log's table shows only some. */
static void
recap_elsewhere(const struct submit *s, FILE *f)
{
	const char	*paths[3];
	size_t		 n = 0, k;

	if (s->o->json_path != NULL)
		paths[n++] = s->o->json_path;
	if (s->o->junit_path != NULL)
		paths[n++] = s->o->junit_path;
	if (s->o->report_path != NULL)
		paths[n++] = s->o->report_path;
	if (n == 0) {
		fputs("--json, --junit or --report", f);
		return;
	}
	for (k = 0; k < n; k++)
		fprintf(f, "%s%s", k == 0 ? "" : k + 1 == n ? " and " : ", ",
		    paths[k]);
}

/* Print the rows rows[0..nrows) of the summary table. */
static void
recap_rows(const struct submit *s, FILE *f, const size_t *rows,
    size_t nrows)
{
	const struct report *r = s->report;
	const struct ptask *p;
	size_t		 k, i, wid = 4, wag = 5, l;
	char		*dur, *note;

	for (k = 0; k < nrows; k++) {
		i = rows[k];
		if ((l = strlen(graph_node(s->g, i)->task->id)) > wid)
			wid = l;
		if (s->pt[i].result.agent != NULL &&
		    (l = strlen(s->pt[i].result.agent)) > wag)
			wag = l;
	}
	fprintf(f, "  %-10s %-*s %-*s %9s %-8s %s\n", "STATUS", (int)wid,
	    "TASK", (int)wag, "AGENT", "DURATION", "ATTEMPTS", "NOTE");
	for (k = 0; k < nrows; k++) {
		i = rows[k];
		p = &s->pt[i];
		dur = util_format_duration(p->result.duration_ms);
		note = recap_row_note(s, i);
		fprintf(f, "  %s%-10s%s %-*s %-*s %9s %*d", p->state ==
		    PT_DONE ? report_status_sgr(r, p->result.status) :
		    report_sgr(r, SGR_DIM), summary_word(s, i),
		    report_sgr(r, SGR_RESET), (int)wid,
		    graph_node(s->g, i)->task->id, (int)wag,
		    p->result.agent != NULL ? p->result.agent : "-",
		    p->state == PT_DONE && p->result.status != RESULT_SKIPPED &&
		    !summary_is_cached(s, i) ? dur : "-", *note != '\0' ? -8 : 1,
		    summary_attempts(s, i));
		if (*note != '\0')
			fprintf(f, " %s%s%s", summary_is_flaky(s, i) ?
			    report_sgr(r, SGR_YELLOW) : "", note,
			    summary_is_flaky(s, i) ? report_sgr(r, SGR_RESET) :
			    "");
		fputc('\n', f);
		free(note);
		free(dur);
	}
}

/*
 * Print the summary table: every task, failures last; past
 * SUMMARY_FULL_MAX tasks, only the slowest, the flaky and the failures,
 * with the counts and where the whole table is.
 */
static void
recap_table(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	size_t		*rows, nrows, nslow, n = graph_size(s->g);

	fprintf(f, "\n%sSummary of run %s%s\n", report_sgr(r, SGR_BOLD),
	    s->run, report_sgr(r, SGR_RESET));
	if (n <= SUMMARY_FULL_MAX) {
		recap_rows(s, f, r->order, n);
		return;
	}
	rows = xcalloc(n, sizeof *rows);
	nrows = summary_short_rows(s, rows, &nslow);
	fprintf(f, "  %zu tasks: shown are the %zu slowest that succeeded, "
	    "%zu flaky and %zu failed; every task is in ", n, nslow, r->flaky,
	    r->nfailed);
	recap_elsewhere(s, f);
	fputs("\n", f);
	recap_rows(s, f, rows, nrows);
	free(rows);
}

/*
 * Print the commands recorded in the main job (dteq record), apart from
 * the tasks: they are not in the graph and ran on no agent.
 */
static void
recap_records(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	const struct result *res;
	size_t		 k, wid = strlen("COMMAND"), l;
	char		*dur;

	if (r->nrecords == 0)
		return;
	for (k = 0; k < r->nrecords; k++) {
		if ((l = strlen(r->records[k].result.id)) > wid)
			wid = l;
	}
	fprintf(f, "\n%sRecorded in the main job (dteq record)%s\n",
	    report_sgr(r, SGR_BOLD), report_sgr(r, SGR_RESET));
	fprintf(f, "  %-10s %-*s %9s %s\n", "STATUS", (int)wid, "COMMAND",
	    "DURATION", "EXIT");
	for (k = 0; k < r->nrecords; k++) {
		res = &r->records[k].result;
		dur = util_format_duration(res->duration_ms);
		fprintf(f, "  %s%-10s%s %-*s %9s %d\n",
		    report_status_sgr(r, res->status),
		    result_status_name(res->status), report_sgr(r, SGR_RESET),
		    (int)wid, res->id, dur, res->exit_code);
		free(dur);
	}
}

/* Print the critical path, wrapped, never cut. */
static void
recap_path(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	size_t		 k, col;
	char		*dur, *item;

	if (r->npath == 0)
		return;
	dur = util_format_duration(r->path_ms);
	fprintf(f, "\nCritical path: %s over %zu task%s", dur, r->npath,
	    r->npath == 1 ? "" : "s");
	free(dur);
	if (r->wall_ms > 0)
		fprintf(f, " (%.0f%% of the wall time)", 100.0 *
		    (double)r->path_ms / (double)r->wall_ms);
	fputs("\n ", f);
	col = 1;
	for (k = 0; k < r->npath; k++) {
		dur = util_format_duration(r->tasks[r->path[k]].work_ms);
		xasprintf(&item, " %s%s %s", k > 0 ? "> " : "",
		    graph_node(s->g, r->path[k])->task->id, dur);
		if (col > 2 && col + strlen(item) > 78) {
			fputs("\n ", f);
			col = 1;
		}
		fputs(item, f);
		col += strlen(item);
		free(item);
		free(dur);
	}
	fputc('\n', f);
}

/* Print the closing line: counts, wall time, task time, speed-up. */
static void
recap_totals(const struct submit *s, FILE *f)
{
	const struct report *r = s->report;
	const size_t	*c = r->counts;
	char		*dur;

	fprintf(f, "%s%zu tasks: %zu succeeded", report_sgr(r, SGR_BOLD),
	    graph_size(s->g), c[RESULT_SUCCESS]);
	if (r->flaky > 0 && r->ncached > 0)
		fprintf(f, " (%zu flaky, %zu cached)", r->flaky, r->ncached);
	else if (r->flaky > 0)
		fprintf(f, " (%zu flaky)", r->flaky);
	else if (r->ncached > 0)
		fprintf(f, " (%zu cached)", r->ncached);
	fprintf(f, ", %zu failed", c[RESULT_FAILED] + c[RESULT_LOST] +
	    c[RESULT_CANCELLED]);
	if (c[RESULT_TIMEOUT] > 0)
		fprintf(f, ", %zu timed out", c[RESULT_TIMEOUT]);
	fprintf(f, ", %zu skipped", c[RESULT_SKIPPED]);
	if (r->unfinished > 0)
		fprintf(f, ", %zu not finished", r->unfinished);
	dur = util_format_duration(r->wall_ms);
	fprintf(f, " in %s", dur);
	free(dur);
	dur = util_format_duration(r->work_ms);
	fprintf(f, " (task time %s", dur);
	free(dur);
	if (r->wall_ms > 0 && r->work_ms > 0)
		fprintf(f, ", %.1fx", (double)r->work_ms / (double)r->wall_ms);
	fputc(')', f);
	if (r->nrecords > 0)
		fprintf(f, "; %zu recorded command%s: %zu succeeded, %zu "
		    "failed", r->nrecords, r->nrecords == 1 ? "" : "s",
		    r->nrecords - r->nrecfailed, r->nrecfailed);
	fprintf(f, "%s\n", report_sgr(r, SGR_RESET));
}

/* Write the report files asked for; -1 if one could not be written. */
static int
recap_files(const struct submit *s)
{
	char	*cause;
	int	 rv = 0;

	if (s->o->json_path != NULL &&
	    export_json(s, s->o->json_path, &cause) != 0) {
		log_warnx("--json: %s", cause);
		free(cause);
		rv = -1;
	}
	if (s->o->junit_path != NULL && junit_write(s, s->o->junit_path,
	    &cause) != 0) {
		log_warnx("--junit: %s", cause);
		free(cause);
		rv = -1;
	}
	if (s->o->report_path != NULL && html_write(s, s->o->report_path,
	    &cause) != 0) {
		log_warnx("--report: %s", cause);
		free(cause);
		rv = -1;
	}
	return (rv);
}

/*
 * The exit code of the run, before the report files: with an abort, say
 * why and what did not finish.
 */
static int
recap_exit(const struct submit *s)
{
	const struct report *r = s->report;
	size_t		     i, n = graph_size(s->g);

	if (s->abort_reason == NULL)
		return (r->counts[RESULT_SUCCESS] == n ? EXIT_OK :
		    EXIT_TASKS_FAILED);
	fprintf(stderr, "dteq submit: run %s: %s\n", s->run, s->abort_reason);
	if (r->unfinished > 0) {
		fprintf(stderr, "dteq submit: not finished:");
		for (i = 0; i < n; i++) {
			if (s->pt[i].state != PT_DONE)
				fprintf(stderr, " %s",
				    graph_node(s->g, i)->task->id);
		}
		fprintf(stderr, "\n");
	}
	return (EXIT_INFRA);
}

/*
 * The end of the run: replay failures, print the summary and write the
 * report files, then free the report state (nothing is printed after).
 * Returns the exit code of the submit: a report file that could not be
 * written turns a success into 3.
 */
int
recap_print(struct submit *s)
{
	struct report	*r = report_get(s);
	size_t		 i, n = graph_size(s->g);
	FILE		*f;
	int		 rv;

	live_stop(s);
	for (i = 0; i < n; i++)
		report_stream_lines(s, i, 1);
	summary_build(r, s);
	f = report_begin(s);
	recap_replay(s, f);
	recap_table(s, f);
	recap_records(s, f);
	recap_path(s, f);
	recap_totals(s, f);
	report_end(s);
	rv = recap_exit(s);
	if (recap_files(s) != 0 && rv == EXIT_OK)
		rv = EXIT_INFRA;
	s->reported = 1;
	report_free(s);
	return (rv);
}
