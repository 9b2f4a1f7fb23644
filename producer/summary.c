/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The run's summary, computed once the run is over (summary_build(),
 * which reads a const struct submit and fills the second half of its
 * struct report) from s->pt and what report.c kept:
 *
 * - the order of the summary table: successes, skipped, unfinished, and
 *   failures last, each group by start time;
 * - the totals, flaky tasks (a last attempt that succeeded after a failed
 *   one), the wall time and the sum of task times;
 * - the critical path: the chain of dependencies with the most work,
 *   from the graph and the actual durations of every attempt;
 * - the lanes of the HTML timeline: one per agent slot, found by packing
 *   each agent's attempts into as few rows as never overlap.
 *
 * It also holds what the report writers share: text cleaning for XML and
 * HTML, writing a file atomically (a temporary name, then rename), and
 * the --json file itself, whose "recorded" array lists the commands
 * recorded in the main job (record.c). No cJSON here: strings go through
 * util_json_escape().
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "producer.h"

/* One attempt's place in the lane packing order. */
struct summary_key {
	const char	*agent;
	uint64_t	 start;
	size_t		 index;
};

/* Is task i's final result a failure (not success, not skipped)? */
int
summary_is_failure(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	return (p->state == PT_DONE && p->result.status != RESULT_SUCCESS &&
	    p->result.status != RESULT_SKIPPED);
}

/* Did task i succeed only after a failed attempt? */
int
summary_is_flaky(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	return (p->state == PT_DONE && p->result.status == RESULT_SUCCESS &&
	    p->tries > 1);
}

/* The word for task i's state: a status name, or where it stopped. */
const char *
summary_word(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	switch (p->state) {
	case PT_WAITING:
		return ("not run");
	case PT_QUEUED:
		return ("queued");
	case PT_RUNNING:
		return (p->killed ? "cancelled" : "running");
	}
	return (result_status_name(p->result.status));
}

/* The end of task i's last output ("" if none); *len its length. */
const char *
summary_tail(const struct submit *s, size_t i, size_t *len)
{
	const struct report	*r = s->report;
	const struct rattempt	*a;

	*len = 0;
	if (r->tasks[i].last == GRAPH_NONE)
		return ("");
	a = &r->attempts[r->tasks[i].last];
	if (a->tail == NULL)
		return ("");
	*len = a->taillen;
	return (a->tail);
}

/* The summary group of task i: failures come last. */
static int
summary_rank(const struct submit *s, size_t i)
{
	if (s->pt[i].state != PT_DONE)
		return (2);
	if (s->pt[i].result.status == RESULT_SUCCESS)
		return (0);
	if (s->pt[i].result.status == RESULT_SKIPPED)
		return (1);
	return (3);
}

/* Order tasks by group, start time, then task-file order. */
static int
summary_order_cmp(const void *a, const void *b, void *arg)
{
	const struct submit	*s = arg;
	size_t			 x = *(const size_t *)a, y = *(const size_t *)b;
	int			 rx = summary_rank(s, x);
	int			 ry = summary_rank(s, y);
	uint64_t		 sx = s->pt[x].result.start_ms;
	uint64_t		 sy = s->pt[y].result.start_ms;

	if (rx != ry)
		return (rx < ry ? -1 : 1);
	if (sx != sy)
		return (sx < sy ? -1 : 1);
	return (x < y ? -1 : x > y);
}

/* The work of task i on the critical path: all its attempts. */
static uint64_t
summary_weight(const struct submit *s, size_t i)
{
	const struct report	*r = s->report;
	const struct ptask	*p = &s->pt[i];

	if (r->tasks[i].work_ms > 0)
		return (r->tasks[i].work_ms);
	if (p->state == PT_DONE && p->result.status != RESULT_SKIPPED)
		return (p->result.duration_ms);
	return (0);
}

/*
 * The critical path: visit the graph in dependency order (Kahn), give
 * each task the heaviest chain of work that ends with it, and walk back
 * from the heaviest end.
 */
static void
summary_path(struct report *r, const struct submit *s)
{
	struct node	*nd;
	size_t		 n = graph_size(s->g), *queue, i, j, k;
	size_t		 end = GRAPH_NONE, len;
	uint64_t	 best;

	queue = graph_order(s->g);
	for (j = 0; j < n; j++) {
		i = queue[j];
		nd = graph_node(s->g, i);
		best = 0;
		r->tasks[i].path_prev = GRAPH_NONE;
		for (k = 0; k < nd->ndeps; k++) {
			if (r->tasks[nd->deps[k]].path_ms > best ||
			    r->tasks[i].path_prev == GRAPH_NONE) {
				best = r->tasks[nd->deps[k]].path_ms;
				r->tasks[i].path_prev = nd->deps[k];
			}
		}
		r->tasks[i].path_ms = best + summary_weight(s, i);
		if (end == GRAPH_NONE ||
		    r->tasks[i].path_ms > r->tasks[end].path_ms)
			end = i;
	}
	free(r->path);
	r->path = NULL;
	r->npath = 0;
	r->path_ms = 0;
	if (end == GRAPH_NONE || r->tasks[end].path_ms == 0) {
		free(queue);
		return;
	}
	r->path_ms = r->tasks[end].path_ms;
	for (len = 0, i = end; i != GRAPH_NONE; i = r->tasks[i].path_prev)
		queue[len++] = i;
	r->path = xcalloc(len, sizeof *r->path);
	for (k = 0; k < len; k++) {
		r->path[k] = queue[len - 1 - k];
		r->tasks[r->path[k]].critical = 1;
	}
	r->npath = len;
	free(queue);
}

/* Order attempts by agent, then start time. */
static int
summary_key_cmp(const void *a, const void *b)
{
	const struct summary_key	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->agent, y->agent)) != 0)
		return (c);
	if (x->start != y->start)
		return (x->start < y->start ? -1 : 1);
	return (x->index < y->index ? -1 : x->index > y->index);
}

/* Name the slots of one agent as lanes: "agent", or "agent #N". */
static void
summary_name_lanes(struct report *r, const char *agent, size_t nslots)
{
	size_t	k;

	r->lanes = xreallocarray(r->lanes, r->nlanes + nslots,
	    sizeof *r->lanes);
	for (k = 0; k < nslots; k++) {
		if (nslots == 1)
			r->lanes[r->nlanes + k] = xstrdup(agent);
		else
			xasprintf(&r->lanes[r->nlanes + k], "%s #%zu", agent,
			    k + 1);
	}
	r->nlanes += nslots;
}

/*
 * Pack each agent's attempts into slots, first fit by start time: the
 * fewest rows in which no two attempts overlap. Each slot is a lane.
 */
static void
summary_lanes(struct report *r)
{
	struct summary_key	*keys;
	struct rattempt		*a;
	uint64_t		*ends = NULL;
	size_t			 k, slot, nslots = 0;
	const char		*agent = NULL;

	if (r->nattempts == 0)
		return;
	keys = xcalloc(r->nattempts, sizeof *keys);
	for (k = 0; k < r->nattempts; k++) {
		keys[k].agent = r->attempts[k].agent;
		keys[k].start = r->attempts[k].start_ms;
		keys[k].index = k;
	}
	qsort(keys, r->nattempts, sizeof *keys, summary_key_cmp);
	ends = xcalloc(r->nattempts, sizeof *ends);
	for (k = 0; k < r->nattempts; k++) {
		a = &r->attempts[keys[k].index];
		if (agent == NULL || strcmp(agent, a->agent) != 0) {
			if (agent != NULL)
				summary_name_lanes(r, agent, nslots);
			agent = a->agent;
			nslots = 0;
		}
		for (slot = 0; slot < nslots; slot++) {
			if (ends[slot] <= a->start_ms)
				break;
		}
		if (slot == nslots)
			nslots++;
		ends[slot] = a->end_ms > a->start_ms ? a->end_ms : a->start_ms;
		a->lane = r->nlanes + slot;
	}
	summary_name_lanes(r, agent, nslots);
	free(ends);
	free(keys);
}

/* Compute everything the summary and the report files show. */
void
summary_build(struct report *r, const struct submit *s)
{
	const struct ptask *p;
	size_t		 i, k, n = graph_size(s->g);

	r->wall_ms = (s->ended != 0 ? s->ended : util_now_ms()) - s->started;
	r->work_ms = 0;
	r->unfinished = r->flaky = r->nfailed = 0;
	memset(r->counts, 0, sizeof r->counts);
	free(r->order);
	r->order = xcalloc(n + 1, sizeof *r->order);
	for (i = 0; i < n; i++) {
		p = &s->pt[i];
		r->order[i] = i;
		r->work_ms += summary_weight(s, i);
		if (p->state != PT_DONE)
			r->unfinished++;
		else if (p->result.status >= 0 &&
		    p->result.status < RESULT_NSTATUS)
			r->counts[p->result.status]++;
		r->flaky += summary_is_flaky(s, i);
		r->nfailed += summary_is_failure(s, i);
	}
	/* qsort_r() takes no const argument; the comparison only reads. */
	qsort_r(r->order, n, sizeof *r->order, summary_order_cmp, (void *)s);
	summary_path(r, s);
	for (k = 0; k < r->nattempts; k++) {
		p = &s->pt[r->attempts[k].task];
		r->attempts[k].final = p->state == PT_DONE &&
		    r->attempts[k].attempt == p->result.attempt;
	}
	for (i = 0; i < r->nlanes; i++)
		free(r->lanes[i]);
	free(r->lanes);
	r->lanes = NULL;
	r->nlanes = 0;
	summary_lanes(r);
	r->span_ms = r->wall_ms;
	for (k = 0; k < r->nattempts; k++) {
		if (r->attempts[k].end_ms > r->start_wall &&
		    r->attempts[k].end_ms - r->start_wall > r->span_ms)
			r->span_ms = r->attempts[k].end_ms - r->start_wall;
	}
}

/* Length of the well-formed UTF-8 character at p, or 0. */
static size_t
summary_utf8_len(const unsigned char *p, size_t left)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		need, k;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return (0);
	if (left < need)
		return (0);
	for (k = 1; k < need; k++) {
		if (p[k] < lo || p[k] > hi)
			return (0);
		lo = 0x80;
		hi = 0xbf;
	}
	/* U+FFFE and U+FFFF are not allowed in XML. */
	if (need == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
		return (0);
	return (need);
}

/*
 * Clean task output for XML and HTML: terminal escape sequences go, CR LF
 * and a lone CR become LF, control characters other than tab and LF go,
 * and ill-formed UTF-8 becomes U+FFFD. Caller frees; *outlen excludes
 * the NUL.
 */
char *
summary_clean(const char *text, size_t len, size_t *outlen)
{
	const unsigned char	*p = (const unsigned char *)text;
	char			*out;
	size_t			 i = 0, o = 0, n;

	out = xmalloc(len * 3 + 1);
	while (i < len) {
		if (p[i] == 0x1b) {
			i++;
			if (i < len && p[i] == '[') {
				for (i++; i < len && (p[i] < 0x40 ||
				    p[i] > 0x7e); i++)
					;
				i++;
			} else if (i < len && p[i] == ']') {
				for (i++; i < len && p[i] != '\a' &&
				    p[i] != 0x1b; i++)
					;
				i += i + 1 < len && p[i] == 0x1b ? 2 : 1;
			} else
				i++;
			continue;
		}
		if (p[i] == '\r') {
			out[o++] = '\n';
			i += i + 1 < len && p[i + 1] == '\n' ? 2 : 1;
			continue;
		}
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') {
			i++;
			continue;
		}
		if (p[i] == 0x7f) {
			i++;
			continue;
		}
		if ((n = summary_utf8_len(p + i, len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}

/* The temporary name a report file is written under. Caller frees. */
static char *
summary_tmpname(const char *path)
{
	char	*tmp;

	xasprintf(&tmp, "%s.tmp%ld", path, (long)getpid());
	return (tmp);
}

/* Create the directories above path (mkdir -p of its parent). */
static int
summary_mkdirs(const char *path, char **cause)
{
	char	*copy, *p;

	copy = xstrdup(path);
	for (p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
			xasprintf(cause, "%s: %s", copy, strerror(errno));
			free(copy);
			return (-1);
		}
		*p = '/';
	}
	free(copy);
	return (0);
}

/*
 * Open a report file for writing, creating its directories; it appears
 * under path only when summary_close() succeeds.
 */
FILE *
summary_open(const char *path, char **cause)
{
	FILE	*f;
	char	*tmp;

	if (summary_mkdirs(path, cause) != 0)
		return (NULL);
	tmp = summary_tmpname(path);
	if ((f = fopen(tmp, "w")) == NULL)
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
	free(tmp);
	return (f);
}

/* Finish a report file: flush, close, rename into place. */
int
summary_close(FILE *f, const char *path, char **cause)
{
	char	*tmp = summary_tmpname(path);
	int	 bad;

	bad = ferror(f) || fflush(f) != 0;
	if (fclose(f) != 0 || bad) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	free(tmp);
	return (0);

fail:
	unlink(tmp);
	free(tmp);
	return (-1);
}

/* Print str as a JSON string literal, or null. */
static void
summary_json_str(FILE *f, const char *str)
{
	char	*e;

	if (str == NULL) {
		fputs("null", f);
		return;
	}
	e = util_json_escape(str, strlen(str));
	fprintf(f, "\"%s\"", e);
	free(e);
}

/* The exit code the run ends with (before writing the reports). */
static int
summary_exit(const struct submit *s)
{
	const struct report	*r = s->report;

	if (s->abort_reason != NULL)
		return (EXIT_INFRA);
	if (r->counts[RESULT_SUCCESS] == graph_size(s->g))
		return (EXIT_OK);
	return (EXIT_TASKS_FAILED);
}

/* One task of the --json file. */
static void
summary_json_task(const struct submit *s, FILE *f, size_t i)
{
	const struct report	*r = s->report;
	const struct ptask	*p = &s->pt[i];
	const struct node	*nd = graph_node(s->g, i);
	size_t		 k;

	fputs("    {\"id\": ", f);
	summary_json_str(f, nd->task->id);
	fputs(", \"status\": ", f);
	summary_json_str(f, summary_word(s, i));
	fputs(", \"agent\": ", f);
	summary_json_str(f, p->result.agent);
	fprintf(f, ", \"attempts\": %d, \"attempt\": %d, \"flaky\": %s, "
	    "\"exit\": %d,\n     \"start\": %llu, \"end\": %llu, "
	    "\"duration_ms\": %llu, \"task_ms\": %llu, \"critical\": %s, "
	    "\"reason\": ", p->tries, p->result.attempt,
	    summary_is_flaky(s, i) ? "true" : "false", p->result.exit_code,
	    (unsigned long long)p->result.start_ms,
	    (unsigned long long)p->result.end_ms,
	    (unsigned long long)p->result.duration_ms,
	    (unsigned long long)r->tasks[i].work_ms,
	    r->tasks[i].critical ? "true" : "false");
	summary_json_str(f, p->reason);
	fputs(",\n     \"deps\": [", f);
	for (k = 0; k < nd->ndeps; k++) {
		if (k > 0)
			fputs(", ", f);
		summary_json_str(f, graph_node(s->g, nd->deps[k])->task->id);
	}
	fprintf(f, "]}%s\n", i + 1 < graph_size(s->g) ? "," : "");
}

/*
 * One command recorded in the main job (dteq record): not a task of the
 * graph, and not counted in "counts" or the exit status.
 */
static void
summary_json_record(FILE *f, const struct result *res, int more)
{
	fputs("    {\"id\": ", f);
	summary_json_str(f, res->id);
	fprintf(f, ", \"status\": \"%s\", \"exit\": %d, \"agent\": ",
	    result_status_name(res->status), res->exit_code);
	summary_json_str(f, res->agent);
	fprintf(f, ", \"attempt\": %d, \"start\": %llu, \"end\": %llu, "
	    "\"duration_ms\": %llu}%s\n", res->attempt,
	    (unsigned long long)res->start_ms,
	    (unsigned long long)res->end_ms,
	    (unsigned long long)res->duration_ms, more ? "," : "");
}

/* Write the machine-readable summary (--json). */
int
summary_write_json(const struct submit *s, const char *path, char **cause)
{
	const struct report	*r = s->report;
	const struct rattempt	*a;
	size_t		 i, k, n = graph_size(s->g);
	FILE		*f;
	int		 rv = summary_exit(s);

	if ((f = summary_open(path, cause)) == NULL)
		return (-1);
	fputs("{\n  \"run\": ", f);
	summary_json_str(f, s->run);
	fprintf(f, ",\n  \"result\": \"%s\", \"exit\": %d, \"reason\": ",
	    rv == EXIT_OK ? "success" : rv == EXIT_INFRA ? "aborted" :
	    "failed", rv);
	summary_json_str(f, s->abort_reason);
	fprintf(f, ",\n  \"started\": %llu, \"wall_ms\": %llu, "
	    "\"task_ms\": %llu, \"speedup\": %.2f,\n",
	    (unsigned long long)r->start_wall, (unsigned long long)r->wall_ms,
	    (unsigned long long)r->work_ms, r->wall_ms > 0 ?
	    (double)r->work_ms / (double)r->wall_ms : 0.0);
	fprintf(f, "  \"counts\": {\"tasks\": %zu", n);
	for (k = 0; k < RESULT_NSTATUS; k++)
		fprintf(f, ", \"%s\": %zu", result_status_name((int)k),
		    r->counts[k]);
	fprintf(f, ", \"not_finished\": %zu, \"flaky\": %zu},\n",
	    r->unfinished, r->flaky);
	fprintf(f, "  \"critical_path\": {\"duration_ms\": %llu, "
	    "\"tasks\": [", (unsigned long long)r->path_ms);
	for (k = 0; k < r->npath; k++) {
		if (k > 0)
			fputs(", ", f);
		summary_json_str(f, graph_node(s->g, r->path[k])->task->id);
	}
	fputs("]},\n  \"tasks\": [\n", f);
	for (i = 0; i < n; i++)
		summary_json_task(s, f, i);
	fputs("  ],\n  \"attempts\": [\n", f);
	for (k = 0; k < r->nattempts; k++) {
		a = &r->attempts[k];
		fputs("    {\"id\": ", f);
		summary_json_str(f, graph_node(s->g, a->task)->task->id);
		fprintf(f, ", \"attempt\": %d, \"status\": \"%s\", "
		    "\"exit\": %d, \"agent\": ", a->attempt,
		    result_status_name(a->status), a->exit_code);
		summary_json_str(f, a->agent);
		fprintf(f, ", \"start\": %llu, \"end\": %llu, "
		    "\"duration_ms\": %llu}%s\n",
		    (unsigned long long)a->start_ms,
		    (unsigned long long)a->end_ms,
		    (unsigned long long)a->duration_ms,
		    k + 1 < r->nattempts ? "," : "");
	}
	fputs("  ],\n  \"recorded\": [\n", f);
	for (k = 0; k < r->nrecords; k++)
		summary_json_record(f, &r->records[k].result,
		    k + 1 < r->nrecords);
	fputs("  ]\n}\n", f);
	return (summary_close(f, path, cause));
}

/*
 * Print text for XML or HTML (text or attribute value): cleaned as
 * summary_clean() does, with & < > " ' as entities.
 */
void
summary_escape(FILE *f, const char *text, size_t len)
{
	char	*clean, *p;
	size_t	 n;

	if (text == NULL)
		return;
	clean = summary_clean(text, len, &n);
	for (p = clean; p < clean + n; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*p, f);
			break;
		}
	}
	free(clean);
}
