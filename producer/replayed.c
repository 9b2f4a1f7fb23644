/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What the replay did, read from the tool's output: for each target, how
 * many of its tasks were cache hits and which ran here instead. Pure (no
 * I/O): replay.c gives it the output and the tasks replayed, and prints
 * one line per target from what it returns.
 *
 * The lines it looks for, the task's id in them:
 *
 *	Nx	"> nx run ID  [remote cache]" (and "[local cache]",
 *		"[existing outputs match the cache, left as is]"): a hit;
 *		"> nx run ID", "✔  nx run ID", "✖  nx run ID" with no such
 *		suffix, or dteq nx-task's "[not in the cache: ...]": ran
 *	Turbo	"PACKAGE:TASK: cache hit, ...": a hit; "PACKAGE:TASK: cache
 *		miss, ..." or "cache bypass, ...": ran (the id PACKAGE#TASK)
 *
 * A task seen as a hit anywhere is a hit; one never seen is "unseen" (the
 * user's flags may hide the tool's lines). Escape sequences are skipped.
 */

#include <stdlib.h>
#include <string.h>

#include "producer.h"

#define REPLAYED_HIT	1
#define REPLAYED_RAN	2

/* A line, escape sequences (ESC [ ... letter) and CRs left out. */
static char *
replayed_plain(const char *line, size_t len)
{
	char	*s = xmalloc(len + 1);
	size_t	 i, n = 0;

	for (i = 0; i < len; i++) {
		if (line[i] == '\033' && i + 1 < len && line[i + 1] == '[') {
			for (i += 2; i < len && !(line[i] >= '@' &&
			    line[i] <= '~'); i++)
				;
			continue;
		}
		if (line[i] != '\r')
			s[n++] = line[i];
	}
	s[n] = '\0';
	return (s);
}

/* Nx: the id a line names and what it says of it; 0 if none. */
static int
replayed_nx_line(const char *s, char **id)
{
	const char	*p, *end;

	if ((p = strstr(s, "nx run ")) == NULL)
		return (0);
	/* Only the banner ("> nx run") and the summary's marks. */
	if (p != s && strncmp(s, "> ", 2) != 0 &&
	    strncmp(s, "\xe2\x9c\x94", 3) != 0 &&	/* ✔ */
	    strncmp(s, "\xe2\x9c\x96", 3) != 0)		/* ✖ */
		return (0);
	p += strlen("nx run ");
	end = p + strcspn(p, " \t");
	if (end == p)
		return (0);
	*id = xstrndup(p, (size_t)(end - p));
	if (strstr(end, "[local cache]") != NULL ||
	    strstr(end, "[remote cache]") != NULL ||
	    strstr(end, "[existing outputs match the cache") != NULL)
		return (REPLAYED_HIT);
	return (REPLAYED_RAN);
}

/* Turborepo: the same ("PACKAGE:TASK: cache hit, ..." as PACKAGE#TASK). */
static int
replayed_turbo_line(const char *s, char **id)
{
	const char	*p, *colon;
	int		 what;

	if ((p = strstr(s, ": cache hit")) != NULL)
		what = REPLAYED_HIT;
	else if ((p = strstr(s, ": cache miss")) != NULL ||
	    (p = strstr(s, ": cache bypass")) != NULL)
		what = REPLAYED_RAN;
	else
		return (0);
	/* The last ':' before p splits the package from the task. */
	for (colon = p - 1; colon > s && *colon != ':'; colon--)
		;
	if (colon <= s || strchr(s, ' ') < p)
		return (0);
	xasprintf(id, "%.*s#%.*s", (int)(colon - s), s,
	    (int)(p - colon - 1), colon + 1);
	return (what);
}

/* The index of id among the tasks, or n. */
static size_t
replayed_find(const struct replayed_task *t, size_t n, const char *id)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(t[i].id, id) == 0)
			return (i);
	}
	return (n);
}

/* Add task t to its target's counts in *out. */
static void
replayed_add(struct replayed **out, size_t *nout,
    const struct replayed_task *t, int what)
{
	struct replayed	*r;
	size_t		 k;
	char		*ran;

	for (k = 0; k < *nout && strcmp((*out)[k].target, t->target) != 0;
	    k++)
		;
	if (k == *nout) {
		*out = xreallocarray(*out, *nout + 1, sizeof **out);
		r = &(*out)[(*nout)++];
		memset(r, 0, sizeof *r);
		r->target = xstrdup(t->target);
	}
	r = &(*out)[k];
	r->total++;
	if (what == REPLAYED_HIT)
		r->hits++;
	else if (what == REPLAYED_RAN) {
		xasprintf(&ran, "%s%s%s", r->ran != NULL ? r->ran : "",
		    r->ran != NULL ? ", " : "", t->id);
		free(r->ran);
		r->ran = ran;
	} else
		r->unseen++;
}

/*
 * Count what the replay did with tasks t (n of them) from its output
 * (len bytes) of tool: one entry per target, in the order the targets
 * first come in t. Returns how many; free with replayed_free().
 */
size_t
replayed_count(int tool, const char *out, size_t len,
    const struct replayed_task *t, size_t n, struct replayed **res)
{
	const char	*p = out, *end = out + len, *eol;
	int		*seen, what;
	char		*line, *id;
	size_t		 i, nres = 0;

	*res = NULL;
	seen = xcalloc(n + 1, sizeof *seen);
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		line = replayed_plain(p, (size_t)(eol - p));
		id = NULL;
		what = tool == TOOLGRAPH_NX ? replayed_nx_line(line, &id) :
		    replayed_turbo_line(line, &id);
		if (what != 0 && (i = replayed_find(t, n, id)) < n &&
		    seen[i] != REPLAYED_HIT)
			seen[i] = what;
		free(id);
		free(line);
		p = eol + 1;
	}
	for (i = 0; i < n; i++)
		replayed_add(res, &nres, &t[i], seen[i]);
	free(seen);
	return (nres);
}

/* Free what replayed_count() gave. */
void
replayed_free(struct replayed *r, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(r[i].target);
		free(r[i].ran);
	}
	free(r);
}
