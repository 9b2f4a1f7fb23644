/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The live area of submit on a terminal: below the blocks report.c
 * prints, a few rows redrawn in place at most ten times a second (every
 * LIVE_DRAW_MS): one per running task, the longest-running first, with
 * its agent and elapsed time, a row for the rest, and a progress bar with
 * the counts. report_begin() erases it before each piece of output and
 * marks it dirty; live_draw_cb() draws it again. Never in lines mode.
 *
 * It sits above report.c: it reads the mode, the colours and the counts
 * there, and report.c never calls here. submit.c starts it after
 * report_init(); recap.c stops it before the summary.
 */

#include <sys/ioctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "producer.h"

#define LIVE_DRAW_MS	100	/* ten redraws a second */
#define LIVE_AREA_ROWS	8	/* running tasks the area lists */

/* The terminal's width and height. */
static void
live_winsize(int *cols, int *rows)
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
live_fit(FILE *f, const char *str, int cols)
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
live_since_cmp(const void *a, const void *b, void *arg)
{
	const struct report	*r = arg;
	uint64_t		 x = r->tasks[*(const size_t *)a].since;
	uint64_t		 y = r->tasks[*(const size_t *)b].since;

	return (x < y ? -1 : x > y);
}

/* The live area's last row: a progress bar and the counts. */
static void
live_bar(struct submit *s, FILE *f, int cols, uint64_t now)
{
	struct report	*r = s->report;
	struct report_counts c;
	size_t		 n = graph_size(s->g);
	char		*text, *el, *counts;
	int		 bar, fill, k;

	report_count(s, &c);
	el = util_format_duration(now - s->started);
	counts = report_counts(s);
	xasprintf(&text, " %s, %s", counts, el);
	free(counts);
	free(el);
	/* At least 10 cells on a terminal of 40 columns: the text is cut. */
	bar = cols - 3 - (int)strlen(text);
	if (bar > 30)
		bar = 30;
	if (bar < 10 && cols >= 40)
		bar = 10;
	if (bar >= 10) {
		fill = n == 0 ? bar : (int)((size_t)bar * c.done / n);
		fputs(c.failed > 0 ? report_sgr(r, SGR_RED) :
		    report_sgr(r, SGR_GREEN), f);
		for (k = 0; k < fill; k++)
			fputs(r->utf8 ? "\u2588" : "#", f);
		fputs(report_sgr(r, SGR_DIM), f);
		for (; k < bar; k++)
			fputs(r->utf8 ? "\u2591" : "-", f);
		fputs(report_sgr(r, SGR_RESET), f);
		live_fit(f, text, cols - 1 - bar);
	} else
		live_fit(f, text + 1, cols - 1);
	fputc('\n', f);
	free(text);
}

/*
 * Print the rows of the running tasks in run[0..nrun) (the longest-running
 * first), at most maxrows with a row for the rest. Returns the rows.
 */
static int
live_rows(struct submit *s, FILE *f, const size_t *run, size_t nrun,
    int cols, int maxrows, uint64_t now)
{
	static const char	*spin_utf8[] = { "\u280b", "\u2819", "\u2839",
				    "\u2838", "\u283c", "\u2834", "\u2826",
				    "\u2827", "\u2807", "\u280f" };
	static const char	*spin_ascii[] = { "|", "/", "-", "\\" };
	struct report		*r = s->report;
	const char		*spin;
	char			*el, *row;
	size_t			 i;
	int			 shown = 0;

	spin = r->utf8 ? spin_utf8[now / 100 % 10] : spin_ascii[now / 250 % 4];
	for (i = 0; i < nrun && shown < maxrows; i++) {
		if (nrun > (size_t)maxrows && shown == maxrows - 1)
			break;
		el = util_format_duration(now - r->tasks[run[i]].since);
		xasprintf(&row, " %s %s  %s  %s", spin,
		    graph_node(s->g, run[i])->task->id,
		    r->tasks[run[i]].agent, el);
		fputs(report_sgr(r, SGR_CYAN), f);
		live_fit(f, row, cols - 1);
		fprintf(f, "%s\n", report_sgr(r, SGR_RESET));
		free(row);
		free(el);
		shown++;
	}
	if ((size_t)shown < nrun) {
		xasprintf(&row, "   and %zu more running",
		    nrun - (size_t)shown);
		live_fit(f, row, cols - 1);
		fputc('\n', f);
		free(row);
		shown++;
	}
	return (shown);
}

/*
 * Redraw the live area: one row per running task (the longest-running
 * first), a row for the rest, and the progress bar; in one write.
 */
static void
live_draw(struct submit *s)
{
	struct report	*r = s->report;
	size_t		*run, nrun = 0, i, n = graph_size(s->g), len;
	uint64_t	 now = util_now_ms();
	int		 cols, rows, maxrows, shown;
	char		*buf;
	FILE		*f;

	if (!r->tty || s->ending || (!r->dirty && r->drawn > 0 &&
	    s->nfinal == n))
		return;
	live_winsize(&cols, &rows);
	maxrows = rows - 3 < LIVE_AREA_ROWS ? rows - 3 : LIVE_AREA_ROWS;
	run = xcalloc(n == 0 ? 1 : n, sizeof *run);
	for (i = 0; i < n; i++) {
		if (s->pt[i].state == PT_RUNNING && r->tasks[i].since != 0)
			run[nrun++] = i;
	}
	qsort_r(run, nrun, sizeof *run, live_since_cmp, r);
	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	if (r->drawn > 0)
		fprintf(f, "\033[%dA\033[J", r->drawn);
	shown = live_rows(s, f, run, nrun, cols, maxrows, now);
	live_bar(s, f, cols, now);
	fclose(f);
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	free(buf);
	free(run);
	r->drawn = shown + 1;
	r->dirty = 0;
}

/* The live area's timer: redraw while something changes. */
static void
live_draw_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	live_draw(arg);
}

/*
 * Start redrawing the live area, after report_init() chose the mode: only
 * on a terminal, and only with an event loop.
 */
void
live_start(struct submit *s)
{
	struct report	*r = report_get(s);
	struct timeval	 tv = { 0, LIVE_DRAW_MS * 1000 };

	if (!r->tty || s->base == NULL)
		return;
	r->ev_draw = event_new(s->base, -1, EV_PERSIST, live_draw_cb, s);
	if (r->ev_draw == NULL)
		fatalx("%s: event_new failed", __func__);
	evtimer_add(r->ev_draw, &tv);
}

/* Stop redrawing: the run is over. */
void
live_stop(struct submit *s)
{
	struct report	*r = s->report;

	if (r != NULL && r->ev_draw != NULL) {
		event_free(r->ev_draw);
		r->ev_draw = NULL;
	}
}
