/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What the main job prints on stdout, and what it remembers of the run
 * for the summary and the report files. Logs and errors go to stderr.
 *
 * The mode is chosen once, in report_init():
 *
 * - Lines, when stdout is not a terminal (CI logs, the usual case). Each
 *   finished attempt is one block: a header "> ID (agent, duration,
 *   attempt N)", the output verbatim, a footer "< ID: status". Blocks are
 *   written whole, so two tasks' output never mix. A skipped task is one
 *   "- " line, a note one "! " line, and while tasks run a "~ " progress
 *   line comes at most every 10 s (and at least every minute). With
 *   --stream, output lines are printed as they arrive, each prefixed
 *   with its task id; only whole lines are printed, so they never mix
 *   either, and a successful task's block shrinks to its footer.
 * - Terminal. The same blocks scroll above a live area (the running
 *   tasks with their agent and elapsed time, the counts, a progress bar)
 *   that report_draw_cb() redraws in place at most ten times a second.
 *
 * Colour is --color always or never, or by default a terminal with
 * NO_COLOR unset. Without colour, escape sequences in task output are
 * removed as well, so a CI log holds no ANSI codes at all.
 *
 * At the end submit_report() erases the live area, prints the end of
 * each failed task's output again, then the summary (summary.c sorts it
 * with failures last and finds the critical path) with the commands
 * recorded in the main job (record.c) in a section of their own, and
 * writes the --json, --junit and --report files. A recorded command
 * that failed does not change the exit status: `dteq record` already
 * exited with it.
 */

#include <sys/ioctl.h>

#include <ctype.h>
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
#define REPORT_DRAW_MS		100	/* live area: ten redraws a second */
#define REPORT_AREA_ROWS	8	/* running tasks the live area lists */
#define REPORT_REPLAY_LINES	30	/* lines replayed per failed task */

#define SGR_RESET	"\033[0m"
#define SGR_BOLD	"\033[1m"
#define SGR_DIM		"\033[2m"
#define SGR_RED		"\033[31m"
#define SGR_GREEN	"\033[32m"
#define SGR_YELLOW	"\033[33m"
#define SGR_CYAN	"\033[36m"

/* Prefix colours of --stream lines, picked by a hash of the task id. */
static const char *report_palette[] = {
	"\033[36m", "\033[35m", "\033[34m", "\033[33m", "\033[32m",
	"\033[96m", "\033[95m", "\033[94m", "\033[93m", "\033[92m"
};

static void	report_draw_cb(evutil_socket_t, short, void *);

/* The report state, created on first use. */
static struct report *
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
static const char *
report_sgr(const struct report *r, const char *sgr)
{
	return (r->color ? sgr : "");
}

/* The colour of a status word. */
static const char *
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
static void
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
static FILE *
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
static void
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
	struct timeval	 tv = { 0, REPORT_DRAW_MS * 1000 };
	const char	*term = getenv("TERM"), *nocolor = getenv("NO_COLOR");

	r->tty = isatty(STDOUT_FILENO) &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	if (s->color != -1)
		r->color = s->color;
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
	if (r->tty && s->base != NULL) {
		r->ev_draw = event_new(s->base, -1, EV_PERSIST,
		    report_draw_cb, s);
		if (r->ev_draw == NULL)
			fatalx("%s: event_new failed", __func__);
		evtimer_add(r->ev_draw, &tv);
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
static void
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

	if (!s->stream || len == 0)
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

/* Count the tasks by state. */
static void
report_count(struct submit *s, size_t *done, size_t *running,
    size_t *queued, size_t *failed)
{
	size_t	i, n = graph_size(s->g);

	*done = *running = *queued = *failed = 0;
	for (i = 0; i < n; i++) {
		switch (s->pt[i].state) {
		case PT_DONE:
			(*done)++;
			if (s->pt[i].result.status != RESULT_SUCCESS &&
			    s->pt[i].result.status != RESULT_SKIPPED)
				(*failed)++;
			break;
		case PT_RUNNING:
			(*running)++;
			break;
		default:
			(*queued)++;
			break;
		}
	}
}

/* The counts as words: "12/40 done, 6 running on 3 agents, 22 queued". */
static char *
report_counts(struct submit *s)
{
	size_t	 done, running, queued, failed;
	char	*text, fails[64] = "";

	report_count(s, &done, &running, &queued, &failed);
	if (failed > 0)
		snprintf(fails, sizeof fails, " (%zu failed)", failed);
	xasprintf(&text, "%zu/%zu done%s, %zu running on %d agent%s, "
	    "%zu queued", done, graph_size(s->g), fails, running,
	    s->agents_alive, s->agents_alive == 1 ? "" : "s", queued);
	return (text);
}

/*
 * Once a second: notice a cancel (status.c). In lines mode, print a
 * progress line when 10 s have
 * passed and the counts changed, or a minute passed anyway.
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
	if (s->stream && res->status == RESULT_SUCCESS && note == NULL &&
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

/* The terminal's width and height. */
static void
report_winsize(int *cols, int *rows)
{
	struct winsize	ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row > 0 ? ws.ws_row : 24;
	}
}

/* Print s cut to at most cols columns (one per UTF-8 character). */
static void
report_fit(FILE *f, const char *str, int cols)
{
	const unsigned char	*p = (const unsigned char *)str;
	size_t			 n = 0;
	int			 used = 0;

	for (; p[n] != '\0'; n++) {
		if ((p[n] & 0xc0) == 0x80)
			continue;
		if (used == cols)
			break;
		used++;
	}
	fwrite(str, 1, n, f);
}

/* Order running tasks by how long they have run, longest first. */
static int
report_since_cmp(const void *a, const void *b, void *arg)
{
	const struct report	*r = arg;
	uint64_t		 x = r->tasks[*(const size_t *)a].since;
	uint64_t		 y = r->tasks[*(const size_t *)b].since;

	return (x < y ? -1 : x > y);
}

/* The live area's last row: a progress bar and the counts. */
static void
report_bar(struct submit *s, FILE *f, int cols, uint64_t now)
{
	struct report	*r = report_get(s);
	size_t		 done, running, queued, failed, n = graph_size(s->g);
	char		*text, *el, *counts;
	int		 bar, fill, k;

	report_count(s, &done, &running, &queued, &failed);
	el = util_format_duration(now - s->started);
	counts = report_counts(s);
	xasprintf(&text, " %s, %s", counts, el);
	free(counts);
	free(el);
	bar = cols - 3 - (int)strlen(text);
	if (bar > 30)
		bar = 30;
	if (bar >= 10) {
		fill = n == 0 ? bar : (int)((size_t)bar * done / n);
		fputs(failed > 0 ? report_sgr(r, SGR_RED) :
		    report_sgr(r, SGR_GREEN), f);
		for (k = 0; k < fill; k++)
			fputs(r->utf8 ? "\u2588" : "#", f);
		fputs(report_sgr(r, SGR_DIM), f);
		for (; k < bar; k++)
			fputs(r->utf8 ? "\u2591" : "-", f);
		fputs(report_sgr(r, SGR_RESET), f);
		report_fit(f, text, cols - 1 - bar);
	} else
		report_fit(f, text + 1, cols - 1);
	fputc('\n', f);
	free(text);
}

/*
 * Redraw the live area (terminal mode): one row per running task (the
 * longest-running first), a row for the rest, and the progress bar.
 */
static void
report_draw(struct submit *s)
{
	static const char	*spin_utf8[] = { "\u280b", "\u2819", "\u2839",
				    "\u2838", "\u283c", "\u2834", "\u2826",
				    "\u2827", "\u2807", "\u280f" };
	static const char	*spin_ascii[] = { "|", "/", "-", "\\" };
	struct report		*r = report_get(s);
	size_t			*run, nrun = 0, i, n = graph_size(s->g), shown;
	uint64_t		 now = util_now_ms();
	int			 cols, rows, maxrows;
	char			*buf, *el, *row;
	const char		*spin;
	size_t			 len;
	FILE			*f;

	if (!r->tty || s->ending || (!r->dirty && r->drawn > 0 &&
	    s->nfinal == n))
		return;
	report_winsize(&cols, &rows);
	maxrows = rows - 3 < REPORT_AREA_ROWS ? rows - 3 : REPORT_AREA_ROWS;
	run = xcalloc(n == 0 ? 1 : n, sizeof *run);
	for (i = 0; i < n; i++) {
		if (s->pt[i].state == PT_RUNNING && r->tasks[i].since != 0)
			run[nrun++] = i;
	}
	qsort_r(run, nrun, sizeof *run, report_since_cmp, r);
	spin = r->utf8 ? spin_utf8[now / 100 % 10] : spin_ascii[now / 250 % 4];
	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	if (r->drawn > 0)
		fprintf(f, "\033[%dA\033[J", r->drawn);
	shown = 0;
	for (i = 0; i < nrun && (int)shown < maxrows; i++) {
		if (nrun > (size_t)maxrows && (int)shown == maxrows - 1)
			break;
		el = util_format_duration(now - r->tasks[run[i]].since);
		xasprintf(&row, " %s %s  %s  %s", spin,
		    graph_node(s->g, run[i])->task->id,
		    r->tasks[run[i]].agent, el);
		fputs(report_sgr(r, SGR_CYAN), f);
		report_fit(f, row, cols - 1);
		fprintf(f, "%s\n", report_sgr(r, SGR_RESET));
		free(row);
		free(el);
		shown++;
	}
	if (shown < nrun) {
		xasprintf(&row, "   and %zu more running", nrun - shown);
		report_fit(f, row, cols - 1);
		fputc('\n', f);
		free(row);
		shown++;
	}
	report_bar(s, f, cols, now);
	fclose(f);
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	free(buf);
	free(run);
	r->drawn = (int)shown + 1;
	r->dirty = 0;
}

/* The live area's timer: redraw while something changes. */
static void
report_draw_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	report_draw(arg);
}

/* Print the end of each failed task's output again, before the summary. */
static void
report_replay(struct submit *s, FILE *f)
{
	struct report	*r = report_get(s);
	struct ptask	*p;
	struct result	 res;
	const char	*t, *end, *nl;
	char		 footer[512], *dur;
	size_t		 k, i, lines, tlen;

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
		end = t + tlen;
		if (tlen == 0) {
			fprintf(f, "  | (no output)\n");
			continue;
		}
		if (end[-1] == '\n')
			end--;
		for (lines = 0, nl = end; nl > t; nl--) {
			if (nl[-1] == '\n' && ++lines == REPORT_REPLAY_LINES)
				break;
		}
		while (nl < end) {
			t = memchr(nl, '\n', (size_t)(end - nl));
			if (t == NULL)
				t = end;
			fputs("  | ", f);
			report_text(r, f, nl, (size_t)(t - nl));
			if (r->color)
				fputs(SGR_RESET, f);
			fputc('\n', f);
			nl = t + 1;
		}
	}
}

/* The summary's note column for task i: flaky, exit code, reason. */
static char *
report_row_note(struct submit *s, size_t i)
{
	struct ptask	*p = &s->pt[i];
	char		*note;

	if (summary_is_flaky(s, i))
		xasprintf(&note, "flaky: %d attempts", p->tries);
	else if (p->state == PT_DONE && p->result.status == RESULT_FAILED)
		xasprintf(&note, "exit %d%s%s", p->result.exit_code,
		    p->reason != NULL ? ", " : "",
		    p->reason != NULL ? p->reason : "");
	else
		note = xstrdup(p->reason != NULL ? p->reason : "");
	return (note);
}

/* Print the summary table: every task, failures last, nothing cut. */
static void
report_table(struct submit *s, FILE *f)
{
	struct report	*r = report_get(s);
	struct ptask	*p;
	size_t		 k, i, n = graph_size(s->g), wid = 4, wag = 5, l;
	char		*dur, *note;

	for (i = 0; i < n; i++) {
		if ((l = strlen(graph_node(s->g, i)->task->id)) > wid)
			wid = l;
		if (s->pt[i].result.agent != NULL &&
		    (l = strlen(s->pt[i].result.agent)) > wag)
			wag = l;
	}
	fprintf(f, "\n%sSummary of run %s%s\n", report_sgr(r, SGR_BOLD),
	    s->run, report_sgr(r, SGR_RESET));
	fprintf(f, "  %-10s %-*s %-*s %9s %-8s %s\n", "STATUS", (int)wid,
	    "TASK", (int)wag, "AGENT", "DURATION", "ATTEMPTS", "NOTE");
	for (k = 0; k < n; k++) {
		i = r->order[k];
		p = &s->pt[i];
		dur = util_format_duration(p->result.duration_ms);
		note = report_row_note(s, i);
		fprintf(f, "  %s%-10s%s %-*s %-*s %9s %*d", p->state ==
		    PT_DONE ? report_status_sgr(r, p->result.status) :
		    report_sgr(r, SGR_DIM), summary_word(s, i),
		    report_sgr(r, SGR_RESET), (int)wid,
		    graph_node(s->g, i)->task->id, (int)wag,
		    p->result.agent != NULL ? p->result.agent : "-",
		    p->state == PT_DONE && p->result.status != RESULT_SKIPPED ?
		    dur : "-", *note != '\0' ? -8 : 1, p->tries);
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
 * Print the commands recorded in the main job (dteq record), apart from
 * the tasks: they are not in the graph and ran on no agent.
 */
static void
report_records(struct submit *s, FILE *f)
{
	struct report	*r = report_get(s);
	struct result	*res;
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
report_path(struct submit *s, FILE *f)
{
	struct report	*r = report_get(s);
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
report_totals(struct submit *s, FILE *f)
{
	struct report	*r = report_get(s);
	size_t		*c = r->counts;
	char		*dur;

	fprintf(f, "%s%zu tasks: %zu succeeded", report_sgr(r, SGR_BOLD),
	    graph_size(s->g), c[RESULT_SUCCESS]);
	if (r->flaky > 0)
		fprintf(f, " (%zu flaky)", r->flaky);
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
report_files(struct submit *s)
{
	char	*cause;
	int	 rv = 0;

	if (s->json_path != NULL &&
	    summary_write_json(s, s->json_path, &cause) != 0) {
		log_warnx("--json: %s", cause);
		free(cause);
		rv = -1;
	}
	if (s->junit_path != NULL && junit_write(s, s->junit_path,
	    &cause) != 0) {
		log_warnx("--junit: %s", cause);
		free(cause);
		rv = -1;
	}
	if (s->report_path != NULL && html_write(s, s->report_path,
	    &cause) != 0) {
		log_warnx("--report: %s", cause);
		free(cause);
		rv = -1;
	}
	return (rv);
}

/* Free the report state. */
static void
report_free(struct submit *s)
{
	struct report	*r = s->report;
	size_t		 i;

	if (r == NULL)
		return;
	fflush(stdout);
	if (r->ev_flush != NULL)
		event_free(r->ev_flush);
	if (r->ev_draw != NULL)
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
	free(r->lanes);
	free(r->attempts);
	free(r->tasks);
	free(r->order);
	free(r->path);
	free(r->last_counts);
	free(r);
	s->report = NULL;
}

/*
 * The end of the run: replay failures, print the summary and write the
 * report files. Returns the exit code of the submit: a report file that
 * could not be written turns a success into 3.
 */
int
submit_report(struct submit *s)
{
	struct report	*r = report_get(s);
	size_t		 i, n = graph_size(s->g);
	FILE		*f;
	int		 rv;

	if (r->ev_draw != NULL) {
		event_free(r->ev_draw);
		r->ev_draw = NULL;
	}
	for (i = 0; i < n; i++)
		report_stream_lines(s, i, 1);
	summary_build(s);
	f = report_begin(s);
	report_replay(s, f);
	report_table(s, f);
	report_records(s, f);
	report_path(s, f);
	report_totals(s, f);
	report_end(s);

	if (s->abort_reason != NULL) {
		fprintf(stderr, "dteq submit: run %s: %s\n", s->run,
		    s->abort_reason);
		if (r->unfinished > 0) {
			fprintf(stderr, "dteq submit: not finished:");
			for (i = 0; i < n; i++) {
				if (s->pt[i].state != PT_DONE)
					fprintf(stderr, " %s",
					    graph_node(s->g, i)->task->id);
			}
			fprintf(stderr, "\n");
		}
		rv = EXIT_INFRA;
	} else if (r->counts[RESULT_SUCCESS] == n)
		rv = EXIT_OK;
	else
		rv = EXIT_TASKS_FAILED;
	if (report_files(s) != 0 && rv == EXIT_OK)
		rv = EXIT_INFRA;
	s->reported = 1;
	report_free(s);
	return (rv);
}
