/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What the main job prints on stdout: one block per finished attempt
 * (header, the output verbatim, footer), never interleaved with another,
 * a line per skipped task, and the final summary table. Everything else
 * (logs, errors) goes to stderr.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"

/* Decide how to print (colour, terminal) before the run starts. */
void
report_init(struct submit *s)
{
	(void)s;
}

/* An agent started task i. */
void
report_started(struct submit *s, size_t i, const char *agent)
{
	(void)s;
	(void)i;
	log_debug("%s started on %s", graph_node(s->g, i)->task->id, agent);
}

/* A live output chunk of task i (--stream). */
void
report_log(struct submit *s, size_t i, int attempt, const char *data,
    size_t len)
{
	(void)attempt;
	if (!s->stream)
		return;
	printf("%s: %.*s", graph_node(s->g, i)->task->id, (int)len, data);
	fflush(stdout);
}

/* Once a second while the run goes on. */
void
report_tick(struct submit *s)
{
	(void)s;
}

/* The footer words for a result. */
static void
report_footer(const struct result *r, char *buf, size_t len)
{
	switch (r->status) {
	case RESULT_SUCCESS:
		snprintf(buf, len, "succeeded");
		break;
	case RESULT_FAILED:
		snprintf(buf, len, "failed (exit %d)", r->exit_code);
		break;
	case RESULT_TIMEOUT:
		snprintf(buf, len, "timed out (%s)", r->reason != NULL ?
		    r->reason : "deadline");
		break;
	default:
		snprintf(buf, len, "%s%s%s%s", result_status_name(r->status),
		    r->reason != NULL ? " (" : "",
		    r->reason != NULL ? r->reason : "",
		    r->reason != NULL ? ")" : "");
		break;
	}
}

/* Print one attempt's block: header, output, footer. */
void
report_block(struct submit *s, size_t i, const struct result *r,
    const char *out, size_t len, const char *note)
{
	char	*dur, footer[512];

	(void)s;
	(void)i;
	dur = util_format_duration(r->duration_ms);
	printf("> %s (%s, %s, attempt %d)\n", r->id,
	    r->agent != NULL ? r->agent : "?", dur, r->attempt);
	if (out != NULL && len > 0) {
		fwrite(out, 1, len, stdout);
		if (out[len - 1] != '\n')
			putchar('\n');
	}
	report_footer(r, footer, sizeof footer);
	printf("< %s: %s%s%s\n", r->id, footer, note != NULL ? ", " : "",
	    note != NULL ? note : "");
	fflush(stdout);
	free(dur);
}

/* Print a skipped task's line. */
void
report_skipped(struct submit *s, size_t i)
{
	struct ptask	*p = &s->pt[i];

	printf("- %s: skipped (%s)\n", graph_node(s->g, i)->task->id,
	    p->reason != NULL ? p->reason : "not run");
	fflush(stdout);
}

/* Print a one-line note about the run. */
void
report_note(struct submit *s, const char *fmt, ...)
{
	va_list	ap;

	(void)s;
	fputs("! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Sort key of a status: successes first, failures last. */
static int
report_rank(const struct ptask *p)
{
	if (p->state != PT_DONE)
		return (4);
	switch (p->result.status) {
	case RESULT_SUCCESS:
		return (0);
	case RESULT_SKIPPED:
		return (2);
	default:
		return (3);
	}
}

/* The word a task's line of the summary starts with. */
static const char *
report_word(const struct ptask *p)
{
	if (p->state == PT_WAITING)
		return ("not run");
	if (p->state == PT_QUEUED)
		return ("queued");
	if (p->state == PT_RUNNING)
		return ("running");
	return (result_status_name(p->result.status));
}

/*
 * Print the summary: a line per task (failures last, never truncated) and
 * the totals. Returns the exit code of the submit.
 */
int
submit_report(struct submit *s)
{
	size_t		 i, n = graph_size(s->g), w = 4, counts[RESULT_NSTATUS];
	size_t		 unfinished = 0;
	uint64_t	 work = 0, wall;
	int		 rank;
	char		*dur;
	struct ptask	*p;

	memset(counts, 0, sizeof counts);
	for (i = 0; i < n; i++) {
		if (strlen(graph_node(s->g, i)->task->id) > w)
			w = strlen(graph_node(s->g, i)->task->id);
	}
	printf("\nSummary of run %s\n", s->run);
	printf("  %-10s %-*s %-16s %9s %s\n", "STATUS", (int)w, "TASK",
	    "AGENT", "DURATION", "ATTEMPTS");
	for (rank = 0; rank <= 4; rank++) {
		for (i = 0; i < n; i++) {
			p = &s->pt[i];
			if (report_rank(p) != rank)
				continue;
			dur = util_format_duration(p->result.duration_ms);
			printf("  %-10s %-*s %-16s %9s %d%s%s\n",
			    report_word(p), (int)w,
			    graph_node(s->g, i)->task->id,
			    p->result.agent != NULL ? p->result.agent : "-",
			    p->state == PT_DONE && p->result.status !=
			    RESULT_SKIPPED ? dur : "-", p->tries,
			    p->reason != NULL ? "  " : "",
			    p->reason != NULL ? p->reason : "");
			free(dur);
			if (p->state == PT_DONE)
				counts[p->result.status]++;
			else
				unfinished++;
			work += p->result.duration_ms;
		}
	}
	wall = (s->ended != 0 ? s->ended : util_now_ms()) - s->started;
	dur = util_format_duration(wall);
	printf("%zu tasks: %zu succeeded, %zu failed", n,
	    counts[RESULT_SUCCESS], counts[RESULT_FAILED] +
	    counts[RESULT_LOST] + counts[RESULT_CANCELLED]);
	if (counts[RESULT_TIMEOUT] > 0)
		printf(", %zu timed out", counts[RESULT_TIMEOUT]);
	printf(", %zu skipped", counts[RESULT_SKIPPED]);
	if (unfinished > 0)
		printf(", %zu not finished", unfinished);
	printf(" in %s", dur);
	free(dur);
	dur = util_format_duration(work);
	printf(" (task time %s", dur);
	if (wall > 0 && work > 0)
		printf(", %.1fx", (double)work / (double)wall);
	printf(")\n");
	free(dur);
	fflush(stdout);
	if (s->abort_reason != NULL) {
		fprintf(stderr, "dteq submit: run %s: %s\n", s->run,
		    s->abort_reason);
		if (unfinished > 0) {
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
	if (counts[RESULT_SUCCESS] == n)
		return (EXIT_OK);
	return (EXIT_TASKS_FAILED);
}
