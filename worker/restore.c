/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Restores: before a task runs, the outputs of its dependencies that ran
 * on other agents are brought onto this checkout. The task's message
 * lists them (struct task_restore); this agent remembers which tasks'
 * outputs are here (the present set, sorted: what ran or was restored
 * here) and restores only the others.
 *
 * The children are worker.c's: this file says which command runs next
 * and keeps the restore lock and the present set. Data flow, from
 * worker_task_run():
 *
 * 1. restore_run() takes the restore lock (one restore at a time per
 *    agent; a task waiting for it is handed it by restore_waiter() once
 *    restore_release() frees it).
 * 2. It gives back the next restore command (restore_command(): one
 *    entry, or several of the same template at once), which worker.c
 *    runs as a child of the task, in the task's environment and within
 *    its timeout; its output goes to the task's log.
 * 3. When that child ends, restore_ended() adds what the command brought
 *    to the present set, and worker.c runs the task again (the next
 *    group, or at last its command), or fails it with the reason
 *    restore_ended() gives.
 *
 * Entries the task's own command restores (no restore command) make the
 * command itself the restore: it runs holding the lock, and on success
 * restore_succeeded() adds them to the present set.
 */

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "worker.h"

/* bsearch() over the present ids. */
static int
restore_present_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Are id's outputs on this checkout (it ran or was restored here)? */
static int
restore_present_has(struct worker *w, const char *id)
{
	return (w->npresent > 0 && bsearch(&id, w->present, w->npresent,
	    sizeof *w->present, restore_present_cmp) != NULL);
}

/* Remember that id's outputs are on this checkout. */
static void
restore_present_add(struct worker *w, const char *id)
{
	size_t	lo = 0, hi = w->npresent, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(w->present[mid], id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->npresent && strcmp(w->present[lo], id) == 0)
		return;
	w->present = xreallocarray(w->present, w->npresent + 1,
	    sizeof *w->present);
	memmove(w->present + lo + 1, w->present + lo,
	    (w->npresent - lo) * sizeof *w->present);
	w->present[lo] = xstrdup(id);
	w->npresent++;
}

/*
 * wt's command succeeded: its own outputs are here now (if another task
 * may need them restored), and so are those its command restored.
 */
void
restore_succeeded(struct wtask *wt)
{
	size_t	i;

	if (wt->m.restorable)
		restore_present_add(wt->w, wt->m.id);
	for (i = 0; wt->inline_held && i < wt->m.nrestores; i++) {
		if (wt->m.restores[i].run == NULL)
			restore_present_add(wt->w, wt->m.restores[i].id);
	}
}

/* Put the index of a missing entry into wt->group. */
static void
restore_group_add(struct wtask *wt, size_t i)
{
	if (wt->group == NULL)
		wt->group = xcalloc(wt->m.nrestores, sizeof *wt->group);
	wt->group[wt->ngroup++] = i;
}

/* A template's command: its "{}" (or its end) takes the group's args. */
static char *
restore_template(struct wtask *wt, const char *run)
{
	struct task_restore	*r = wt->m.restores;
	const char		*hole;
	char			*cmd;
	size_t			 i, n, len;

	hole = strstr(run, "{}");
	len = hole != NULL ? (size_t)(hole - run) : strlen(run);
	n = strlen(run) + 1;
	for (i = 0; i < wt->ngroup; i++)
		n += strlen(r[wt->group[i]].arg) + 1;
	cmd = xmalloc(n + 1);
	memcpy(cmd, run, len);
	if (hole == NULL)
		cmd[len++] = ' ';
	for (i = 0; i < wt->ngroup; i++) {
		if (i > 0)
			cmd[len++] = ' ';
		n = strlen(r[wt->group[i]].arg);
		memcpy(cmd + len, r[wt->group[i]].arg, n);
		len += n;
	}
	if (hole != NULL) {
		n = strlen(hole + 2);
		memcpy(cmd + len, hole + 2, n);
		len += n;
	}
	cmd[len] = '\0';
	return (cmd);
}

/*
 * The next restore command of wt: the first entry this checkout lacks,
 * with every later missing entry of the same run (a template's "{}"
 * takes their args, joined by spaces; a plain command runs once), their
 * indices in wt->group. Returns NULL when nothing is missing.
 */
static char *
restore_command(struct wtask *wt)
{
	struct task_restore	*r = wt->m.restores, *first = NULL;
	size_t			 i;

	wt->ngroup = 0;
	for (i = 0; i < wt->m.nrestores; i++) {
		if (r[i].run == NULL || restore_present_has(wt->w, r[i].id))
			continue;
		if (first == NULL)
			first = &r[i];
		else if (strcmp(r[i].run, first->run) != 0 ||
		    (r[i].arg == NULL) != (first->arg == NULL))
			continue;
		restore_group_add(wt, i);
	}
	if (first == NULL)
		return (NULL);
	if (first->arg == NULL)
		return (xstrdup(first->run));
	return (restore_template(wt, first->run));
}

/*
 * The entries of wt its own command restores (run NULL) that this
 * checkout lacks, in wt->group. Returns how many.
 */
static size_t
restore_inline(struct wtask *wt)
{
	size_t	i;

	wt->ngroup = 0;
	for (i = 0; i < wt->m.nrestores; i++) {
		if (wt->m.restores[i].run != NULL ||
		    restore_present_has(wt->w, wt->m.restores[i].id))
			continue;
		restore_group_add(wt, i);
	}
	return (wt->ngroup);
}

/* "A, B, C": the ids of the group being restored. Caller frees. */
static char *
restore_ids(struct wtask *wt)
{
	char	*ids = NULL, *more;
	size_t	 i;

	for (i = 0; i < wt->ngroup; i++) {
		xasprintf(&more, "%s%s%s", ids != NULL ? ids : "",
		    ids != NULL ? ", " : "", wt->m.restores[wt->group[i]].id);
		free(ids);
		ids = more;
	}
	return (ids);
}

/*
 * A restore command of wt ended with status (a RESULT_*; code is its
 * exit status). Returns NULL when it succeeded: what it brought is here
 * now, and wt runs again (the next group, or its command). Else why wt
 * fails (caller frees).
 */
char *
restore_ended(struct wtask *wt, int status, int code)
{
	char	*ids, *why;
	size_t	 i;

	if (status == RESULT_SUCCESS) {
		for (i = 0; i < wt->ngroup; i++) {
			restore_present_add(wt->w,
			    wt->m.restores[wt->group[i]].id);
		}
		wt->ngroup = 0;
		return (NULL);
	}
	ids = restore_ids(wt);
	if (status == RESULT_TIMEOUT) {
		xasprintf(&why, "timed out after %d s, restoring the outputs "
		    "of %s", wt->m.timeout, ids);
	} else if (status == RESULT_CANCELLED) {
		xasprintf(&why, "cancelled while restoring the outputs of %s",
		    ids);
	} else {
		xasprintf(&why, "restoring the outputs of %s failed (exit "
		    "status %d)", ids, code);
	}
	log_info("%s attempt %d: %s", wt->m.id, wt->m.attempt, why);
	free(ids);
	return (why);
}

/*
 * Before wt runs: bring the outputs of its dependencies that this
 * checkout lacks, one restore command at a time per agent (two tasks
 * restoring at once could each delete what the other just restored, or
 * what a running task reads; a task only starts once everything it
 * needs is here, so a restore never touches what a running task reads).
 * Outputs that wt's own command restores make the command itself the
 * restore: it runs holding the lock, released when wt is reported.
 * Returns what runs now (RESTORE_*): with RESTORE_SPAWN, *cmd is the
 * restore command (caller frees), run as wt's child holding the lock;
 * after RESTORE_NONE the caller releases the lock (restore_release()).
 */
int
restore_run(struct wtask *wt, char **cmd)
{
	struct worker	*w = wt->w;
	char		*ids;

	if ((*cmd = restore_command(wt)) == NULL && restore_inline(wt) == 0) {
		wt->restored = 1;
		return (RESTORE_NONE);
	}
	if (w->restorer != NULL && w->restorer != wt) {
		free(*cmd);
		*cmd = NULL;
		wt->restore_wait = 1;	/* restore_waiter() */
		return (RESTORE_WAIT);
	}
	w->restorer = wt;
	ids = restore_ids(wt);
	if (*cmd == NULL) {
		wt->restored = 1;
		wt->inline_held = 1;
		output_printf(wt, "dteq: restoring the outputs of %s: the "
		    "task's own command does\n", ids);
		log_info("%s attempt %d: its command restores the outputs of "
		    "%s", wt->m.id, wt->m.attempt, ids);
		free(ids);
		return (RESTORE_BY_TASK);
	}
	output_printf(wt, "dteq: restoring the outputs of %s: %s\n", ids,
	    *cmd);
	log_info("%s attempt %d: restoring the outputs of %s", wt->m.id,
	    wt->m.attempt, ids);
	free(ids);
	return (RESTORE_SPAWN);
}

/*
 * wt is done restoring (or over): free the restore lock if wt holds it.
 * Returns 1 if it did: the caller then hands it on (restore_waiter()).
 */
int
restore_release(struct wtask *wt)
{
	struct worker	*w = wt->w;

	if (w->restorer != wt)
		return (0);
	w->restorer = NULL;
	return (1);
}

/*
 * While the restore lock is free, the next task waiting for it (waiting
 * no more: the caller runs it), or NULL.
 */
struct wtask *
restore_waiter(struct worker *w)
{
	struct wtask	*o;

	if (w->restorer != NULL)
		return (NULL);
	LIST_FOREACH(o, &w->tasks, entry) {
		if (o->restore_wait) {
			o->restore_wait = 0;
			return (o);
		}
	}
	return (NULL);
}

/* Free the present set. */
void
restore_free(struct worker *w)
{
	size_t	i;

	for (i = 0; i < w->npresent; i++)
		free(w->present[i]);
	free(w->present);
}
