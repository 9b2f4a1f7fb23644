/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What the main job prints on stdout while the run goes, and what it
 * remembers of the run (struct report, s->report) for the summary and the
 * report files. Logs and errors go to stderr.
 *
 * The mode is chosen once, in report_init():
 *
 * - Lines, when stdout is not a terminal (CI logs, the usual case). Each
 *   finished attempt is one block: a header "> ID (agent, duration,
 *   attempt N)", the output verbatim, a footer "< ID: status". Blocks are
 *   written whole, so two tasks' output never mix. A skipped task is one
 *   "- " line, a cache hit (not run) one "= " line, a note one "! " line, and while tasks run a "~ " progress
 *   line comes at most every 10 s (and at least every minute). With
 *   --stream, output lines are printed as they arrive, each prefixed
 *   with its task id; only whole lines are printed, so they never mix
 *   either, and a successful task's block shrinks to its footer.
 * - Terminal. The same blocks scroll above a live area (live.c) that is
 *   erased before each piece of output (report_begin()) and redrawn
 *   after it. live.c draws from what this file keeps (the colours, the
 *   counts); nothing here calls it, so submit.c starts it once the mode
 *   is chosen, and report_free() frees its timer if still drawing.
 *
 * Colour is --color always or never, or by default a terminal with
 * NO_COLOR unset. Without colour, escape sequences in task output are
 * removed as well, so a CI log holds no ANSI codes at all.
 *
 * Each block also keeps the attempt (its times, the end of its output)
 * in s->report; recap.c prints the end of the run from it.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "producer.h"

#define REPORT_TAIL_BYTES	16384	/* output kept per task */
#define REPORT_PARTIAL_MAX	65536	/* --stream: a longer line is cut */
#define REPORT_NOTE_MS		10000	/* progress lines at most this often */
#define REPORT_QUIET_MS		60000	/* and this often when nothing moves */

/* Prefix colours of --stream lines, picked by a hash of the task id. */
static const char *report_palette[] = {
	"\033[36m", "\033[35m", "\033[34m", "\033[33m", "\033[32m",
	"\033[96m", "\033[95m", "\033[94m", "\033[93m", "\033[92m"
};

/* The report state, created on first use. */
struct report *
report_get(struct submit *s)
{
	struct report	*r;
	size_t		 i, n = graph_size(s->g);

	if (s->report != NULL)
		return (s->report);
	r = xcalloc(1, sizeof *r);
	r->tasks = xcalloc(n == 0 ? 1 : n, sizeof *r->tasks);
	for (i = 0; i < n; i++)
		r->tasks[i].path_prev = r->tasks[i].last = GRAPH_NONE;
	r->start_wall = util_wall_ms();
	r->last_note = util_now_ms();
	s->report = r;
	return (r);
}

/* An SGR sequence, or "" without colour. */
const char *
report_sgr(const struct report *r, const char *sgr)
{
	return (r->color ? sgr : "");
}

/* The colour of a status word. */
const char *
report_status_sgr(const struct report *r, int status)
{
	switch (status) {
	case RESULT_SUCCESS:
		return (report_sgr(r, SGR_GREEN));
	case RESULT_SKIPPED:
	case RESULT_TIMEOUT:
		return (report_sgr(r, SGR_YELLOW));
	default:
		return (report_sgr(r, SGR_RED));
	}
}

/* Does the locale say UTF-8? */
static int
report_is_utf8(void)
{
	const char	*names[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	const char	*v;
	size_t		 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((v = getenv(names[i])) == NULL || *v == '\0')
			continue;
		return (strcasestr(v, "utf-8") != NULL ||
		    strcasestr(v, "utf8") != NULL);
	}
	return (0);
}

/*
 * The end of the terminal escape sequence whose ESC is just before p (CSI,
 * OSC or a two-byte one), at most end.
 */
static const char *
report_skip_escape(const char *p, const char *end)
{
	if (p < end && *p == '[') {
		for (p++; p < end; p++) {
			if (*p >= 0x40 && *p <= 0x7e)
				return (p + 1);
		}
		return (end);
	}
	if (p < end && *p == ']') {
		for (p++; p < end; p++) {
			if (*p == '\a')
				return (p + 1);
			if (*p == '\033' && p + 1 < end && p[1] == '\\')
				return (p + 2);
		}
		return (end);
	}
	return (p < end ? p + 1 : end);
}

/*
 * Write text to f, without escape sequences unless colour is on; no copy,
 * so a task's output of many megabytes costs nothing more.
 */
void
report_text(const struct report *r, FILE *f, const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *esc;

	if (r->color) {
		fwrite_unlocked(text, 1, len, f);
		return;
	}
	while (p < end) {
		if ((esc = memchr(p, '\033', (size_t)(end - p))) == NULL) {
			fwrite_unlocked(p, 1, (size_t)(end - p), f);
			return;
		}
		fwrite_unlocked(p, 1, (size_t)(esc - p), f);
		p = report_skip_escape(esc + 1, end);
	}
}

/*
 * Start a piece of output on stdout: in terminal mode, erase the live
 * area first; report_end() has it redrawn below. The piece is written
 * with nothing else in between, so blocks never mix.
 */
FILE *
report_begin(struct submit *s)
{
	struct report	*r = report_get(s);

	if (r->tty && r->drawn > 0)
		fprintf(stdout, "\033[%dA\033[J", r->drawn);
	r->drawn = 0;
	return (stdout);
}

/* The loop turn that printed is over: one write for all it printed. */
static void
report_flush_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	fflush(stdout);
}

/*
 * End a piece of output: flush it once the loop turn's callbacks have
 * run (the blocks of several results that arrived together leave in one
 * write), and redraw the live area later.
 */
void
report_end(struct submit *s)
{
	struct report	*r = report_get(s);

	if (r->ev_flush != NULL)
		event_active(r->ev_flush, EV_TIMEOUT, 0);
	else
		fflush(stdout);
	r->dirty = 1;
}

/* Decide how to print: terminal or lines, colour or not. */
void
report_init(struct submit *s)
{
	struct report	*r = report_get(s);
	const char	*term = getenv("TERM"), *nocolor = getenv("NO_COLOR");

	r->tty = isatty(STDOUT_FILENO) &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	if (s->o->color != -1)
		r->color = s->o->color;
	else
		r->color = r->tty && (nocolor == NULL || *nocolor == '\0');
	r->utf8 = report_is_utf8();
	r->start_wall = util_wall_ms();
	r->last_note = util_now_ms();
	if (s->base != NULL) {
		r->ev_flush = event_new(s->base, -1, 0, report_flush_cb, s);
		if (r->ev_flush == NULL)
			fatalx("%s: event_new failed", __func__);
	}
}

/* An agent started task i. */
void
report_started(struct submit *s, size_t i, const char *agent)
{
	struct report	*r = report_get(s);
	struct rtask	*rt = &r->tasks[i];

	log_debug("%s started on %s", graph_node(s->g, i)->task->id, agent);
	free(rt->agent);
	rt->agent = xstrdup(agent != NULL ? agent : "?");
	rt->since = util_now_ms();
	r->dirty = 1;
}

/* The prefix colour of task i's --stream lines. */
static const char *
report_prefix_sgr(const struct report *r, const char *id)
{
	unsigned int	h = 5381;

	if (!r->color)
		return ("");
	for (; *id != '\0'; id++)
		h = h * 33 + (unsigned char)*id;
	return (report_palette[h % (sizeof report_palette /
	    sizeof report_palette[0])]);
}

/*
 * Print the complete --stream lines of task i and keep the unfinished
 * rest; with all, or past REPORT_PARTIAL_MAX, print the rest too.
 */
void
report_stream_lines(struct submit *s, size_t i, int all)
{
	struct report	*r = report_get(s);
	struct rtask	*rt = &r->tasks[i];
	const char	*id = graph_node(s->g, i)->task->id, *p, *nl;
	size_t		 left, line, used, plen;
	char		*prefix;
	FILE		*f;

	p = rt->partial;
	left = rt->partlen;
	if (left == 0 || (!all && left < REPORT_PARTIAL_MAX &&
	    memchr(p, '\n', left) == NULL))
		return;
	plen = (size_t)xasprintf(&prefix, "%s%s:%s ", report_prefix_sgr(r, id),
	    id, report_sgr(r, SGR_RESET));
	f = report_begin(s);
	while (left > 0) {
		if ((nl = memchr(p, '\n', left)) != NULL) {
			line = (size_t)(nl - p);
			used = line + 1;
		} else if (all || left >= REPORT_PARTIAL_MAX)
			line = used = left;
		else
			break;
		fwrite_unlocked(prefix, 1, plen, f);
		report_text(r, f, p, line);
		if (r->color)
			fputs_unlocked(SGR_RESET, f);
		putc_unlocked('\n', f);
		p += used;
		left -= used;
	}
	free(prefix);
	memmove(rt->partial, p, left);
	rt->partlen = left;
	report_end(s);
}

/* A live output chunk of task i (--stream). */
void
report_log(struct submit *s, size_t i, int attempt, const char *data,
    size_t len)
{
	struct rtask	*rt = &report_get(s)->tasks[i];

	if (!s->o->stream || len == 0)
		return;
	if (rt->streamed_attempt != attempt) {
		rt->streamed_attempt = attempt;
		rt->streamed = 0;
	}
	rt->streamed += len;
	rt->partial = xreallocarray(rt->partial, rt->partlen + len, 1);
	memcpy(rt->partial + rt->partlen, data, len);
	rt->partlen += len;
	report_stream_lines(s, i, 0);
}

/*
 * Is task i waiting on dependencies that have not finished? A staged
 * task is pushed early, but its message waits for them; a held or
 * checked one is ready (the scheduler or the cache holds it): queued.
 */
int
report_is_waiting(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	if (p->state == PT_QUEUED)
		return (p->staged);
	return (p->state == PT_WAITING && !p->held && !p->checking);
}

/*
 * Count the tasks by state: done (failed: of them, not a success nor
 * skipped), running, queued (ready, waiting for a free slot) and
 * waiting (on dependencies).
 */
void
report_count(const struct submit *s, struct report_counts *c)
{
	size_t	i, n = graph_size(s->g);

	memset(c, 0, sizeof *c);
	for (i = 0; i < n; i++) {
		switch (s->pt[i].state) {
		case PT_DONE:
			c->done++;
			if (s->pt[i].result.status != RESULT_SUCCESS &&
			    s->pt[i].result.status != RESULT_SKIPPED)
				c->failed++;
			break;
		case PT_RUNNING:
			c->running++;
			break;
		default:
			if (report_is_waiting(s, i))
				c->waiting++;
			else
				c->queued++;
			break;
		}
	}
}

/*
 * The counts as words: "12/40 done, 6 running on 3 agents, 2 queued, 20
 * waiting" (as dteq status says them). Caller frees.
 */
char *
report_counts(const struct submit *s)
{
	struct report_counts	 c;
	char			*text, fails[64] = "";

	report_count(s, &c);
	if (c.failed > 0)
		snprintf(fails, sizeof fails, " (%zu failed)", c.failed);
	xasprintf(&text, "%zu/%zu done%s, %zu running on %d agent%s, "
	    "%zu queued, %zu waiting", c.done, graph_size(s->g), fails,
	    c.running, s->agents_alive, s->agents_alive == 1 ? "" : "s",
	    c.queued, c.waiting);
	return (text);
}

/*
 * Once a second (loop_tick()), in lines mode: print a progress line when
 * 10 s have passed and the counts changed, or a minute passed anyway.
 */
void
report_tick(struct submit *s)
{
	struct report	*r = report_get(s);
	uint64_t	 now = util_now_ms();
	char		*counts, *el;
	FILE		*f;

	if (r->tty || s->ending || now - r->last_note < REPORT_NOTE_MS ||
	    s->nfinal == graph_size(s->g))
		return;
	counts = report_counts(s);
	if (r->last_counts != NULL && strcmp(counts, r->last_counts) == 0 &&
	    now - r->last_note < REPORT_QUIET_MS) {
		free(counts);
		return;
	}
	r->last_note = now;
	el = util_format_duration(now - s->started);
	f = report_begin(s);
	fprintf(f, "%s~ %s, %s elapsed%s\n", report_sgr(r, SGR_DIM), counts,
	    el, report_sgr(r, SGR_RESET));
	report_end(s);
	free(el);
	free(r->last_counts);
	r->last_counts = counts;
}

/*
 * Remember an attempt for the reports: its times, and the end of its
 * output (from a line start) as task i's tail.
 */
static void
report_keep(struct submit *s, size_t i, const struct result *res,
    const char *out, size_t len)
{
	struct report	*r = report_get(s);
	struct rtask	*rt = &r->tasks[i];
	struct rattempt	*a;
	const char	*p;

	r->attempts = xreallocarray(r->attempts, r->nattempts + 1,
	    sizeof *r->attempts);
	a = &r->attempts[r->nattempts++];
	memset(a, 0, sizeof *a);
	a->task = i;
	a->attempt = res->attempt;
	a->status = res->status;
	a->exit_code = res->exit_code;
	a->agent = xstrdup(res->agent != NULL ? res->agent : "?");
	a->start_ms = res->start_ms;
	a->end_ms = res->end_ms;
	a->duration_ms = res->duration_ms;
	rt->last = r->nattempts - 1;
	rt->work_ms += res->duration_ms;
	free(rt->agent);
	rt->agent = NULL;
	rt->since = 0;
	r->dirty = 1;

	if (out == NULL || len == 0)
		return;
	if (len > REPORT_TAIL_BYTES) {
		p = out + len - REPORT_TAIL_BYTES;
		while (p < out + len && *p != '\n')
			p++;
		if (p < out + len)
			p++;
		len -= (size_t)(p - out);
		out = p;
	}
	a->tail = xmalloc(len + 1);
	memcpy(a->tail, out, len);
	a->tail[len] = '\0';
	a->taillen = len;
}

/* The footer words for a result. */
void
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
		if (r->reason != NULL &&
		    strncmp(r->reason, "timed out", 9) == 0)
			snprintf(buf, len, "%s", r->reason);
		else
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

/*
 * Print one attempt's block: header, output, footer, in one write. With
 * --stream, a success whose output all arrived live gets its footer
 * alone; if live chunks were lost (a subscriber dropped by Redis for its
 * output buffer, a reconnect), the stored output is printed as a block.
 */
void
report_block(struct submit *s, size_t i, const struct result *res,
    const char *out, size_t len, const char *note)
{
	struct report	*r = report_get(s);
	struct rtask	*rt = &r->tasks[i];
	char		*dur, footer[512];
	const char	*agent = res->agent != NULL ? res->agent : "?";
	int		 whole;
	FILE		*f;

	report_stream_lines(s, i, 1);
	whole = rt->streamed_attempt == res->attempt && rt->streamed == len;
	report_keep(s, i, res, out, len);
	dur = util_format_duration(res->duration_ms);
	report_footer(res, footer, sizeof footer);
	f = report_begin(s);
	if (s->o->stream && res->status == RESULT_SUCCESS && note == NULL &&
	    (whole || len == 0)) {
		/* The output was streamed: the footer alone. */
		fprintf(f, "%s<%s %s: %s%s%s (%s, %s, attempt %d)\n",
		    report_sgr(r, SGR_BOLD), report_sgr(r, SGR_RESET), res->id,
		    report_status_sgr(r, res->status), footer,
		    report_sgr(r, SGR_RESET), agent, dur, res->attempt);
		goto out;
	}
	fprintf(f, "%s> %s%s %s(%s, %s, attempt %d)%s\n",
	    report_sgr(r, SGR_BOLD), res->id, report_sgr(r, SGR_RESET),
	    report_sgr(r, SGR_DIM), agent, dur, res->attempt,
	    report_sgr(r, SGR_RESET));
	if (out != NULL && len > 0) {
		report_text(r, f, out, len);
		if (r->color)
			fputs(SGR_RESET, f);
		if (out[len - 1] != '\n')
			fputc('\n', f);
	}
	fprintf(f, "%s<%s %s: %s%s%s%s%s\n", report_sgr(r, SGR_BOLD),
	    report_sgr(r, SGR_RESET), res->id,
	    report_status_sgr(r, res->status), footer,
	    note != NULL ? ", " : "", note != NULL ? note : "",
	    report_sgr(r, SGR_RESET));
out:
	report_end(s);
	free(dur);
}

/* Print a skipped task's line. */
void
report_skipped(struct submit *s, size_t i)
{
	struct report	*r = report_get(s);
	struct ptask	*p = &s->pt[i];
	FILE		*f;

	f = report_begin(s);
	fprintf(f, "%s- %s: skipped (%s)%s\n", report_sgr(r, SGR_YELLOW),
	    graph_node(s->g, i)->task->id,
	    p->reason != NULL ? p->reason : "not run",
	    report_sgr(r, SGR_RESET));
	report_end(s);
}

/*
 * Print the line of task i, a cache hit (cached.c): final, not run, its
 * outputs in the remote cache.
 */
void
report_cached(struct submit *s, size_t i)
{
	struct report	*r = report_get(s);
	const struct task *t = graph_node(s->g, i)->task;
	FILE		*f;

	f = report_begin(s);
	fprintf(f, "%s= %s: cache hit (%s), not run%s\n",
	    report_sgr(r, SGR_GREEN), t->id, t->hash != NULL ? t->hash : "?",
	    report_sgr(r, SGR_RESET));
	report_end(s);
}

/* Print a one-line note about the run. */
void
report_note(struct submit *s, const char *fmt, ...)
{
	struct report	*r = report_get(s);
	va_list		 ap;
	FILE		*f;

	f = report_begin(s);
	fprintf(f, "%s! ", report_sgr(r, SGR_YELLOW));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, "%s\n", report_sgr(r, SGR_RESET));
	report_end(s);
}

/* Free the report state. */
void
report_free(struct submit *s)
{
	struct report	*r = s->report;
	size_t		 i;

	if (r == NULL)
		return;
	fflush(stdout);
	if (r->ev_flush != NULL)
		event_free(r->ev_flush);
	if (r->ev_draw != NULL)		/* live.c's, if still drawing */
		event_free(r->ev_draw);
	for (i = 0; i < graph_size(s->g); i++) {
		free(r->tasks[i].agent);
		free(r->tasks[i].partial);
	}
	for (i = 0; i < r->nattempts; i++) {
		free(r->attempts[i].agent);
		free(r->attempts[i].tail);
	}
	for (i = 0; i < r->nlanes; i++)
		free(r->lanes[i]);
	for (i = 0; i < r->nrecords; i++) {
		result_clear(&r->records[i].result);
		free(r->records[i].tail);
	}
	free(r->records);
	for (i = 0; i < r->nslots; i++)
		free(r->slots[i].agent);
	free(r->slots);
	free(r->lanes);
	free(r->attempts);
	free(r->tasks);
	free(r->order);
	free(r->path);
	free(r->last_counts);
	free(r);
	s->report = NULL;
}

