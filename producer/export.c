/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The report files (--json, --junit, --report): what their writers
 * share, and the --json file itself. Every writer reads a const struct
 * submit, with the summary summary_build() made.
 *
 * - export_clean() and export_escape(): task output as text for XML and
 *   HTML (no terminal escapes, no control characters, well-formed
 *   UTF-8, entities);
 * - export_open() and export_close(): a file written under a temporary
 *   name and renamed into place, so a CI server never reads half of
 *   it, with the directories above it made;
 * - export_json(): the machine-readable summary, whose "recorded" array
 *   lists the commands recorded in the main job (records.c); a task's
 *   "cached" (and the count of that name) says it succeeded from the
 *   remote cache without running (cached.c: attempts 0, agent null, no
 *   attempt in "attempts"). No cJSON here: strings go through
 *   util_json_escape().
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "producer.h"

/*
 * Length of the well-formed UTF-8 character at p, or 0; U+FFFE and U+FFFF
 * count as ill-formed, since XML allows neither.
 */
static size_t
export_utf8_len(const unsigned char *p, size_t left)
{
	size_t	n, skip;

	n = util_utf8_seq(p, left, &skip);
	if (n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
		return (0);
	return (n);
}

/*
 * Clean task output for XML and HTML: terminal escape sequences go, CR LF
 * and a lone CR become LF, control characters other than tab and LF go,
 * and ill-formed UTF-8 becomes U+FFFD. Caller frees; *outlen excludes
 * the NUL.
 */
char *
export_clean(const char *text, size_t len, size_t *outlen)
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
		if ((n = export_utf8_len(p + i, len - i)) == 0) {
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
export_tmpname(const char *path)
{
	char	*tmp;

	xasprintf(&tmp, "%s.tmp%ld", path, (long)getpid());
	return (tmp);
}

/* Create the directories above path (mkdir -p of its parent). */
static int
export_mkdirs(const char *path, char **cause)
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
 * under path only when export_close() succeeds.
 */
FILE *
export_open(const char *path, char **cause)
{
	FILE	*f;
	char	*tmp;

	if (export_mkdirs(path, cause) != 0)
		return (NULL);
	tmp = export_tmpname(path);
	if ((f = fopen(tmp, "w")) == NULL)
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
	free(tmp);
	return (f);
}

/* Finish a report file: flush, close, rename into place. */
int
export_close(FILE *f, const char *path, char **cause)
{
	char	*tmp = export_tmpname(path);
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
export_json_str(FILE *f, const char *str)
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
export_exit(const struct submit *s)
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
export_json_task(const struct submit *s, FILE *f, size_t i)
{
	const struct report	*r = s->report;
	const struct ptask	*p = &s->pt[i];
	const struct node	*nd = graph_node(s->g, i);
	size_t		 k;

	fputs("    {\"id\": ", f);
	export_json_str(f, nd->task->id);
	fputs(", \"status\": ", f);
	export_json_str(f, summary_word(s, i));
	fputs(", \"agent\": ", f);
	export_json_str(f, p->result.agent);
	fprintf(f, ", \"attempts\": %d, \"attempt\": %d, \"flaky\": %s, "
	    "\"cached\": %s, \"exit\": ", summary_attempts(s, i),
	    summary_attempt(s, i), summary_is_flaky(s, i) ? "true" : "false",
	    summary_is_cached(s, i) ? "true" : "false");
	if (summary_ran(s, i))
		fprintf(f, "%d", p->result.exit_code);
	else
		fputs("null", f);	/* it never ran: no exit status */
	fprintf(f, ",\n     \"start\": %llu, \"end\": %llu, "
	    "\"duration_ms\": %llu, \"task_ms\": %llu, \"critical\": %s, "
	    "\"reason\": ",
	    (unsigned long long)p->result.start_ms,
	    (unsigned long long)p->result.end_ms,
	    (unsigned long long)p->result.duration_ms,
	    (unsigned long long)r->tasks[i].work_ms,
	    r->tasks[i].critical ? "true" : "false");
	export_json_str(f, p->reason);
	fputs(",\n     \"deps\": [", f);
	for (k = 0; k < nd->ndeps; k++) {
		if (k > 0)
			fputs(", ", f);
		export_json_str(f, graph_node(s->g, nd->deps[k])->task->id);
	}
	fprintf(f, "]}%s\n", i + 1 < graph_size(s->g) ? "," : "");
}

/*
 * One command recorded in the main job (dteq record): not a task of the
 * graph, and not counted in "counts" or the exit status.
 */
static void
export_json_record(FILE *f, const struct result *res, int more)
{
	fputs("    {\"id\": ", f);
	export_json_str(f, res->id);
	fprintf(f, ", \"status\": \"%s\", \"exit\": %d, \"agent\": ",
	    result_status_name(res->status), res->exit_code);
	export_json_str(f, res->agent);
	fprintf(f, ", \"attempt\": %d, \"start\": %llu, \"end\": %llu, "
	    "\"duration_ms\": %llu}%s\n", res->attempt,
	    (unsigned long long)res->start_ms,
	    (unsigned long long)res->end_ms,
	    (unsigned long long)res->duration_ms, more ? "," : "");
}

/* Write the machine-readable summary (--json). */
int
export_json(const struct submit *s, const char *path, char **cause)
{
	const struct report	*r = s->report;
	const struct rattempt	*a;
	size_t		 i, k, n = graph_size(s->g);
	FILE		*f;
	int		 rv = export_exit(s);

	if ((f = export_open(path, cause)) == NULL)
		return (-1);
	fputs("{\n  \"run\": ", f);
	export_json_str(f, s->run);
	fprintf(f, ",\n  \"result\": \"%s\", \"exit\": %d, \"reason\": ",
	    rv == EXIT_OK ? "success" : rv == EXIT_INFRA ? "aborted" :
	    "failed", rv);
	export_json_str(f, s->abort_reason);
	fprintf(f, ",\n  \"started\": %llu, \"wall_ms\": %llu, "
	    "\"task_ms\": %llu, \"speedup\": %.2f,\n",
	    (unsigned long long)r->start_wall, (unsigned long long)r->wall_ms,
	    (unsigned long long)r->work_ms, r->wall_ms > 0 ?
	    (double)r->work_ms / (double)r->wall_ms : 0.0);
	fprintf(f, "  \"counts\": {\"tasks\": %zu", n);
	for (k = 0; k < RESULT_NSTATUS; k++)
		fprintf(f, ", \"%s\": %zu", result_status_name((int)k),
		    r->counts[k]);
	fprintf(f, ", \"not_finished\": %zu, \"flaky\": %zu, "
	    "\"cached\": %zu},\n", r->unfinished, r->flaky, r->ncached);
	fprintf(f, "  \"critical_path\": {\"duration_ms\": %llu, "
	    "\"tasks\": [", (unsigned long long)r->path_ms);
	for (k = 0; k < r->npath; k++) {
		if (k > 0)
			fputs(", ", f);
		export_json_str(f, graph_node(s->g, r->path[k])->task->id);
	}
	fputs("]},\n  \"tasks\": [\n", f);
	for (i = 0; i < n; i++)
		export_json_task(s, f, i);
	fputs("  ],\n  \"attempts\": [\n", f);
	for (k = 0; k < r->nattempts; k++) {
		a = &r->attempts[k];
		fputs("    {\"id\": ", f);
		export_json_str(f, graph_node(s->g, a->task)->task->id);
		fprintf(f, ", \"attempt\": %d, \"status\": \"%s\", "
		    "\"exit\": %d, \"agent\": ", a->attempt,
		    result_status_name(a->status), a->exit_code);
		export_json_str(f, a->agent);
		fprintf(f, ", \"start\": %llu, \"end\": %llu, "
		    "\"duration_ms\": %llu}%s\n",
		    (unsigned long long)a->start_ms,
		    (unsigned long long)a->end_ms,
		    (unsigned long long)a->duration_ms,
		    k + 1 < r->nattempts ? "," : "");
	}
	fputs("  ],\n  \"recorded\": [\n", f);
	for (k = 0; k < r->nrecords; k++)
		export_json_record(f, &r->records[k].result,
		    k + 1 < r->nrecords);
	fputs("  ]\n}\n", f);
	return (export_close(f, path, cause));
}

/*
 * Print text for XML or HTML (text or attribute value): cleaned as
 * export_clean() does, with & < > " ' as entities.
 */
void
export_escape(FILE *f, const char *text, size_t len)
{
	char	*clean, *p;
	size_t	 n;

	if (text == NULL)
		return;
	clean = export_clean(text, len, &n);
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
