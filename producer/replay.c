/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The replay: after a --nx or --turbo run, submit runs the tool here with
 * Nx and Turborepo pointed at a remote cache it serves from the run's
 * Redis. Every task it replays is a cache hit, so the main job's disk
 * gets those tasks' outputs (dist/ and the like) and its terminal the
 * tool's own log of them, as if it had run them itself.
 *
 * - Every task succeeded: the same tool command, with the user's own
 *   arguments, once.
 * - Some failed: only the tasks that succeeded are replayed. A failed
 *   task would run again here (it has no cache entry), and so would a
 *   skipped one, for the first time. The tools take no list of task ids,
 *   so the tasks are grouped by target (and, for Nx, configuration) and
 *   the tool runs once per group, groups in dependency order:
 *
 *	Nx	nx run-many -t TARGET [-c CONF] --projects=P1,P2,...
 *		--excludeTaskDependencies [flags] [-- overrides]
 *	Turbo	turbo run TASK --filter=P1 --filter=P2 ... [flags]
 *		[-- args]
 *
 *   Nx's task hashes do not depend on which tasks run together, so
 *   --excludeTaskDependencies keeps anything else from running. Turbo's
 *   do: a task's hash holds its dependencies' only when they are in the
 *   run, so the replay runs them with the dependencies, which all
 *   succeeded (a task runs only once they have) and are cache hits as
 *   well. That is the dry run's hash, under which the agents stored each
 *   task in both modes (with DTEQ_TOOL_DEPS=exclude, their turbo runs it
 *   with --only, and the agent's cache stores it under the dry run's
 *   hash: tools/turbo.c).
 *
 *   Of the user's words, those that chose the tasks (Nx: the subcommand,
 *   targets, projects, affected's base, head and files; Turborepo: `run`,
 *   the task names, filters) and those that skip the cache are left out;
 *   the other flags are kept, and so is whatever followed "--", which is
 *   part of each task's hash.
 *
 * The replay never changes submit's exit status, and --no-replay skips
 * it. The cache runs on submit's event base, so the loop runs again
 * while the tool does; a SIGCHLD event ends it.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "producer.h"
#include "cache.h"

struct replay {
	struct event_base	*base;
	pid_t			 pid;
	int			 status;
	int			 done;
};

/* A word of the user's that a partial replay leaves out. */
struct replay_drop {
	const char	*name;
	int		 value;		/* and the next word, unless "=V" */
};

/* Nx: what chose the tasks, and what would skip the cache. */
static const struct replay_drop replay_nx_drop[] = {
	{ "-t", 1 }, { "--target", 1 }, { "--targets", 1 },
	{ "-p", 1 }, { "--projects", 1 }, { "--exclude", 1 },
	{ "-c", 1 }, { "--configuration", 1 },
	{ "--base", 1 }, { "--head", 1 }, { "--files", 1 },
	{ "--all", 0 }, { "--uncommitted", 0 }, { "--untracked", 0 },
	{ "--excludeTaskDependencies", 0 },
	{ "--exclude-task-dependencies", 0 },
	{ "--skipNxCache", 0 }, { "--skip-nx-cache", 0 },
	{ "--skipRemoteCache", 0 }, { "--skip-remote-cache", 0 },
	{ NULL, 0 }
};

/* Turborepo: the same. */
static const struct replay_drop replay_turbo_drop[] = {
	{ "-F", 1 }, { "--filter", 1 }, { "--scope", 1 }, { "--since", 1 },
	{ "--affected", 0 }, { "--only", 0 }, { "--force", 0 },
	{ NULL, 0 }
};

/* SIGCHLD: has the tool exited? */
static void
replay_sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct replay	*r = arg;

	(void)sig;
	(void)events;
	if (waitpid(r->pid, &r->status, WNOHANG) == r->pid) {
		r->done = 1;
		event_base_loopexit(r->base, NULL);
	}
}

/* Append s (taken) to the argv being built. */
static void
replay_push(char ***argv, size_t *n, char *s)
{
	*argv = xreallocarray(*argv, *n + 2, sizeof **argv);
	(*argv)[(*n)++] = s;
	(*argv)[*n] = NULL;
}

/* The tool's argv: its runner, then the user's arguments. */
static char **
replay_argv(int tool, const char *args, char **cause)
{
	char	**run, **user, **argv;
	size_t	  nrun, nuser, i, n = 0, skip = 0;

	if (toolgraph_split(toolgraph_runner(tool), &run, &nrun, cause) != 0)
		return (NULL);
	if (toolgraph_split(args, &user, &nuser, cause) != 0) {
		toolgraph_words_free(run, nrun);
		return (NULL);
	}
	if (nuser > 0 && strcmp(user[0], tool == TOOLGRAPH_NX ? "nx" :
	    "turbo") == 0)
		skip = 1;
	argv = xcalloc(nrun + nuser + 1, sizeof *argv);
	for (i = 0; i < nrun; i++)
		argv[n++] = xstrdup(run[i]);
	for (i = skip; i < nuser; i++)
		argv[n++] = xstrdup(user[i]);
	argv[n] = NULL;
	toolgraph_words_free(run, nrun);
	toolgraph_words_free(user, nuser);
	return (argv);
}

/* Free an argv from replay_argv() or replay_group_argv(). */
void
replay_argv_free(char **argv)
{
	size_t	i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/*
 * Is word one of the user's flags the partial replay leaves out? *skip
 * is how many words go with it (2 for "--flag VALUE").
 */
static int
replay_dropped(int tool, char **words, size_t i, size_t n, size_t *skip)
{
	const struct replay_drop	*d;
	size_t				 len;

	d = tool == TOOLGRAPH_NX ? replay_nx_drop : replay_turbo_drop;
	for (; d->name != NULL; d++) {
		len = strlen(d->name);
		if (strncmp(words[i], d->name, len) != 0)
			continue;
		if (words[i][len] == '=') {
			*skip = 1;
			return (1);
		}
		if (words[i][len] != '\0')
			continue;
		*skip = d->value && i + 1 < n ? 2 : 1;
		return (1);
	}
	return (0);
}

/* Is word the name of one of the run's tasks (a Turborepo positional)? */
static int
replay_is_task(const char *word, char *const *tasks, size_t ntasks)
{
	size_t	i;

	for (i = 0; i < ntasks; i++) {
		if (strcmp(word, tasks[i]) == 0)
			return (1);
	}
	return (0);
}

/* The words that run the group's tasks, after the tool's runner. */
static void
replay_group_head(int tool, const struct replay_group *g, char ***argv,
    size_t *n)
{
	char		*s, *p;
	size_t		 k;

	if (tool == TOOLGRAPH_NX) {
		replay_push(argv, n, xstrdup("run-many"));
		replay_push(argv, n, xstrdup("-t"));
		replay_push(argv, n, xstrdup(g->target));
		if (g->conf != NULL) {
			replay_push(argv, n, xstrdup("-c"));
			replay_push(argv, n, xstrdup(g->conf));
		}
		s = xstrdup("--projects=");
		for (k = 0; k < g->nnames; k++) {
			p = s;
			xasprintf(&s, "%s%s%s", p, k > 0 ? "," : "",
			    g->names[k]);
			free(p);
		}
		replay_push(argv, n, s);
		replay_push(argv, n, xstrdup("--excludeTaskDependencies"));
		return;
	}
	replay_push(argv, n, xstrdup("run"));
	replay_push(argv, n, xstrdup(g->target));
	for (k = 0; k < g->nnames; k++) {
		xasprintf(&s, "--filter=%s", g->names[k]);
		replay_push(argv, n, s);
	}
}

/* Is word the tool's subcommand: affected, run-many (Nx); run? */
static int
replay_is_subcommand(int tool, const char *word)
{
	if (tool == TOOLGRAPH_NX)
		return (strcmp(word, "affected") == 0 ||
		    strcmp(word, "run-many") == 0);
	return (strcmp(word, "run") == 0);
}

/*
 * The argv of one group of a partial replay: the tool's runner, the
 * group's tasks, then the user's words that still apply (see the top of
 * the file). tasks are the names of the run's Turborepo tasks, which the
 * user's words name as positionals; unused for Nx. Returns NULL with
 * *cause on words that cannot be split. Free with replay_argv_free().
 */
char **
replay_group_argv(int tool, const char *args, const struct replay_group *g,
    char *const *tasks, size_t ntasks, char **cause)
{
	char		**run, **user, **argv = NULL;
	size_t		  nrun, nuser, i, start, n = 0, skip;
	int		  sub = 0;

	if (toolgraph_split(toolgraph_runner(tool), &run, &nrun, cause) != 0)
		return (NULL);
	if (toolgraph_split(args, &user, &nuser, cause) != 0) {
		toolgraph_words_free(run, nrun);
		return (NULL);
	}
	for (i = 0; i < nrun; i++)
		replay_push(&argv, &n, xstrdup(run[i]));
	replay_group_head(tool, g, &argv, &n);

	start = nuser > 0 && strcmp(user[0], tool == TOOLGRAPH_NX ? "nx" :
	    "turbo") == 0 ? 1 : 0;
	for (i = start; i < nuser; i += skip) {
		skip = 1;
		if (strcmp(user[i], "--") == 0) {
			/* Overrides and script arguments: all of them. */
			for (; i < nuser; i++)
				replay_push(&argv, &n, xstrdup(user[i]));
			break;
		}
		if (!sub && user[i][0] != '-' && (replay_is_subcommand(tool,
		    user[i]) || (tool == TOOLGRAPH_NX && i == start))) {
			sub = 1;
			continue;
		}
		if (replay_dropped(tool, user, i, nuser, &skip))
			continue;
		if (tool == TOOLGRAPH_TURBO && user[i][0] != '-' &&
		    replay_is_task(user[i], tasks, ntasks))
			continue;
		replay_push(&argv, &n, xstrdup(user[i]));
	}
	toolgraph_words_free(run, nrun);
	toolgraph_words_free(user, nuser);
	return (argv);
}

/*
 * Split a succeeded task's id into the project (Nx) or package (Turbo)
 * and, for Nx, the configuration, knowing its target: Nx's ids are
 * project:target[:configuration], Turborepo's package#task. Returns -1
 * if the id does not have that form.
 */
int
replay_split_id(int tool, const char *id, const char *target, char **name,
    char **conf)
{
	const char	*p;
	size_t		 tlen = strlen(target), len = strlen(id);

	*name = *conf = NULL;
	if (tool == TOOLGRAPH_TURBO) {
		if (len > tlen + 1 && id[len - tlen - 1] == '#' &&
		    strcmp(id + len - tlen, target) == 0) {
			*name = xstrndup(id, len - tlen - 1);
			return (0);
		}
		return (-1);
	}
	for (p = id + 1; (p = strchr(p, ':')) != NULL; p++) {
		if (strncmp(p + 1, target, tlen) != 0)
			continue;
		if (p[1 + tlen] == '\0') {
			*name = xstrndup(id, (size_t)(p - id));
			return (0);
		}
		if (p[1 + tlen] == ':' && p[2 + tlen] != '\0') {
			*name = xstrndup(id, (size_t)(p - id));
			*conf = xstrdup(p + 2 + tlen);
			return (0);
		}
	}
	return (-1);
}

/*
 * Each task's depth in the graph: 0 for a task with no deps, else one
 * more than its deepest dependency (Kahn's order). Caller frees.
 */
static size_t *
replay_depths(struct submit *s)
{
	struct node	*nd;
	size_t		 n = graph_size(s->g), *order, *depth, i, j, k;

	order = graph_order(s->g);
	depth = xcalloc(n + 1, sizeof *depth);
	for (j = 0; j < n; j++) {
		nd = graph_node(s->g, i = order[j]);
		for (k = 0; k < nd->ndeps; k++) {
			if (depth[i] < depth[nd->deps[k]] + 1)
				depth[i] = depth[nd->deps[k]] + 1;
		}
	}
	free(order);
	return (depth);
}

/* Free groups from replay_groups(). */
void
replay_groups_free(struct replay_group *groups, size_t n)
{
	size_t	i, k;

	for (i = 0; i < n; i++) {
		free(groups[i].target);
		free(groups[i].conf);
		for (k = 0; k < groups[i].nnames; k++)
			free(groups[i].names[k]);
		free(groups[i].names);
	}
	free(groups);
}

/*
 * Does group a come before group b: shallower first task, then the
 * first in the task graph's order?
 */
static int
replay_group_before(const struct replay_group *a, const struct replay_group *b)
{
	if (a->depth != b->depth)
		return (a->depth < b->depth);
	return (a->first < b->first);
}

/*
 * Put the groups in dependency order: a group comes after every group
 * that holds a dependency of one of its tasks (Kahn's algorithm over the
 * groups), so a tool whose task inputs include its dependencies' output
 * files finds them. Among the groups ready, or to break a cycle between
 * groups (lib:test needs lib:build, app:build needs lib:test), the
 * shallowest goes first. gof[i] is task i's group, or GRAPH_NONE.
 */
static void
replay_order(struct submit *s, struct replay_group *groups, size_t ng,
    const size_t *gof)
{
	struct replay_group	*sorted;
	struct node		*nd;
	unsigned char		*edge, *placed;
	size_t			 i, k, a, b, pick, n = graph_size(s->g);
	int			 ready, pick_ready;

	edge = xcalloc(ng * ng, 1);		/* edge[a * ng + b]: a first */
	for (i = 0; i < n; i++) {
		if ((b = gof[i]) == GRAPH_NONE)
			continue;
		nd = graph_node(s->g, i);
		for (k = 0; k < nd->ndeps; k++) {
			a = gof[nd->deps[k]];
			if (a != GRAPH_NONE && a != b)
				edge[a * ng + b] = 1;
		}
	}
	placed = xcalloc(ng, 1);
	sorted = xcalloc(ng, sizeof *sorted);
	for (i = 0; i < ng; i++) {
		pick = GRAPH_NONE;
		pick_ready = 0;
		for (b = 0; b < ng; b++) {
			if (placed[b])
				continue;
			for (ready = 1, a = 0; a < ng && ready; a++) {
				if (!placed[a] && edge[a * ng + b])
					ready = 0;
			}
			if (pick == GRAPH_NONE || ready > pick_ready ||
			    (ready == pick_ready &&
			    replay_group_before(&groups[b], &groups[pick]))) {
				pick = b;
				pick_ready = ready;
			}
		}
		placed[pick] = 1;
		sorted[i] = groups[pick];
	}
	memcpy(groups, sorted, ng * sizeof *groups);
	free(sorted);
	free(placed);
	free(edge);
}

/*
 * Group the tasks that succeeded by target and configuration, in
 * dependency order. Returns how many groups; *ntasks is how many tasks
 * they hold (a task whose id has not the tool's form is left out).
 */
size_t
replay_groups(struct submit *s, int tool, struct replay_group **out,
    size_t *ntasks)
{
	struct replay_group	*groups = NULL, *g;
	struct task		*t;
	size_t			*depth, *gof, n = graph_size(s->g), ng = 0;
	size_t			 i, k;
	char			*name, *conf;

	*ntasks = 0;
	depth = replay_depths(s);
	gof = xcalloc(n + 1, sizeof *gof);
	for (i = 0; i < n; i++) {
		gof[i] = GRAPH_NONE;
		if (s->pt[i].state != PT_DONE ||
		    s->pt[i].result.status != RESULT_SUCCESS)
			continue;
		t = graph_node(s->g, i)->task;
		if (replay_split_id(tool, t->id, t->target, &name,
		    &conf) != 0) {
			log_warnx("replay: %s is not a %s task id; not "
			    "replayed", t->id, tool == TOOLGRAPH_NX ?
			    "project:target[:configuration]" : "package#task");
			continue;
		}
		for (k = 0; k < ng; k++) {
			g = &groups[k];
			if (strcmp(g->target, t->target) == 0 &&
			    (g->conf == NULL ? conf == NULL : conf != NULL &&
			    strcmp(g->conf, conf) == 0))
				break;
		}
		if (k == ng) {
			groups = xreallocarray(groups, ng + 1,
			    sizeof *groups);
			g = &groups[ng++];
			memset(g, 0, sizeof *g);
			g->target = xstrdup(t->target);
			g->conf = conf;
			g->depth = depth[i];
			g->first = i;
		} else {
			g = &groups[k];
			free(conf);
		}
		g->names = xreallocarray(g->names, g->nnames + 1,
		    sizeof *g->names);
		g->names[g->nnames++] = name;
		if (depth[i] < g->depth)
			g->depth = depth[i];
		gof[i] = k;
		(*ntasks)++;
	}
	if (ng > 1)
		replay_order(s, groups, ng, gof);
	free(gof);
	free(depth);
	*out = groups;
	return (ng);
}

/*
 * Run argv, the replay's command, as `dteq record --id replay -- argv`
 * with its output into the file out, the cache's address and no colour
 * in its environment, and wait for it, the event loop running meanwhile.
 * Returns its exit status (128 + signal), or -1 if it could not be
 * started.
 */
static int
replay_exec(struct submit *s, struct cache *cache, char *const *argv,
    const char *out)
{
	struct replay	 r;
	struct spawn	 sp;
	struct event	*ev;
	char		*set[WARM_ENV_MAX + 3], **rargv, *self, *url, *cause;
	size_t		 i, n, k = 0;

	for (n = 0; argv[n] != NULL; n++)
		;
	/* This dteq, even if its file was replaced since it started. */
	self = xstrdup("/proc/self/exe");
	rargv = xcalloc(n + 8, sizeof *rargv);
	rargv[0] = self;
	rargv[1] = (char *)"record";
	rargv[2] = (char *)"--run";
	rargv[3] = s->run;
	rargv[4] = (char *)"--id";
	rargv[5] = (char *)REPLAY_ID;
	rargv[6] = (char *)"--";
	for (i = 0; i < n; i++)
		rargv[7 + i] = argv[i];

	memset(&r, 0, sizeof r);
	r.base = s->base;
	k = warm_tool_env(s, cache, set);
	/* dteq record connects as submit does; the password apart. */
	url = url_format(&s->url, 0);
	xasprintf(&set[k++], "DTEQ_REDIS_URL=%s", url);
	free(url);
	if (s->url.password != NULL)
		xasprintf(&set[k++], "DTEQ_REDIS_PASSWORD=%s",
		    s->url.password);
	set[k] = NULL;
	memset(&sp, 0, sizeof sp);
	sp.argv = rargv;
	sp.set = set;
	sp.out = SPAWN_FILE;
	sp.err = SPAWN_TO_OUT;
	sp.path = out;
	sp.flags = SPAWN_SIGPIPE | SPAWN_NULL_STDIN;
	ev = evsignal_new(s->base, SIGCHLD, replay_sigchld_cb, &r);
	evsignal_add(ev, NULL);
	r.pid = -1;
	if (spawn_start(&sp, &cause) != 0) {
		log_warnx("replay: %s", cause);
		free(cause);
	} else {
		r.pid = sp.pid;
		while (!r.done) {
			replay_sigchld_cb(SIGCHLD, 0, &r); /* already gone? */
			if (!r.done)
				event_base_dispatch(s->base);
		}
	}
	event_free(ev);
	for (i = 0; i < k; i++) {
		explicit_bzero(set[i], strlen(set[i]));
		free(set[i]);
	}
	free(rargv[0]);
	free(rargv);
	return (r.pid == -1 ? -1 : spawn_exit_code(r.status));
}

/* The names of the run's tasks (targets), each once. Caller frees. */
static char **
replay_task_names(struct submit *s, size_t *n)
{
	char		**names = NULL;
	const char	 *t;
	size_t		  i, k;

	*n = 0;
	for (i = 0; i < graph_size(s->g); i++) {
		t = graph_node(s->g, i)->task->target;
		for (k = 0; k < *n && strcmp(names[k], t) != 0; k++)
			;
		if (k < *n)
			continue;
		names = xreallocarray(names, *n + 1, sizeof *names);
		names[(*n)++] = (char *)t;
	}
	return (names);
}

/* Append the words of argv, quoted for sh, to b. */
static void
replay_quote_words(struct tool_buf *b, char *const *argv)
{
	size_t	i;

	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			tool_adds(b, " ");
		tool_quote(b, argv[i]);
	}
}

/*
 * After a run with failures, with the tool's own commands: one sh
 * script that runs each group's command in turn and exits with the last
 * failure's status. NULL with *cause.
 */
static char **
replay_partial(struct submit *s, int tool, const char *args, char **cause)
{
	struct replay_group	*groups;
	struct tool_buf		 b;
	char			**argv, **tasks, **sh = NULL;
	size_t			 ng, nt, ntasks, k, at;

	if ((ng = replay_groups(s, tool, &groups, &ntasks)) == 0) {
		xasprintf(cause, "no task id of the tool's form");
		return (NULL);
	}
	memset(&b, 0, sizeof b);
	tool_adds(&b, "rc=0");
	tasks = replay_task_names(s, &nt);
	for (k = 0; k < ng; k++) {
		if ((argv = replay_group_argv(tool, args, &groups[k], tasks,
		    nt, cause)) == NULL) {
			free(b.s);
			b.s = NULL;
			break;
		}
		tool_adds(&b, "; ");
		at = b.len;
		replay_quote_words(&b, argv);
		log_info("replay: %s", b.s + at);
		tool_adds(&b, " || rc=$?");
		replay_argv_free(argv);
	}
	free(tasks);
	replay_groups_free(groups, ng);
	if (b.s == NULL)
		return (NULL);
	tool_adds(&b, "; exit $rc");
	sh = xcalloc(4, sizeof *sh);
	sh[0] = xstrdup("sh");
	sh[1] = xstrdup("-c");
	sh[2] = b.s;
	return (sh);
}

/*
 * With the Nx runner (the tasks' commands are `dteq nx-task ...`): one
 * `dteq nx-task --quiet` of every task that succeeded and was not
 * restored here before the run (warm.c), in dependency order. NULL if a
 * task's command is not one; *ntasks 0 when no task is left.
 */
static char **
replay_nx_tasks(struct submit *s, size_t *ntasks)
{
	char		**argv;
	size_t		 *order, *todo, n = 0, i;

	order = graph_order(s->g);
	todo = xcalloc(graph_size(s->g) + 1, sizeof *todo);
	for (i = 0; i < graph_size(s->g); i++) {
		if (s->pt[order[i]].state == PT_DONE &&
		    s->pt[order[i]].result.status == RESULT_SUCCESS &&
		    !s->pt[order[i]].warm)
			todo[n++] = order[i];
	}
	argv = warm_nx_argv(s, todo, n, NULL, ntasks);
	free(order);
	free(todo);
	if (argv != NULL) {
		log_info("replay: dteq nx-task --quiet, %zu task%s", *ntasks,
		    *ntasks == 1 ? "" : "s");
	}
	return (argv);
}

/*
 * Print one line per target of what the replay did, read from its
 * output (replayed.c).
 */
static void
replay_counts(struct submit *s, int tool, const char *out)
{
	struct replayed_task	*t;
	struct replayed		*res;
	struct task		*task;
	char			*buf = NULL, *cause = NULL;
	size_t			 len = 0, n = 0, nres, i, k, *order;
	FILE			*f;

	if (util_read_file(out, &buf, &len, &cause) != 0) {
		log_warnx("replay: %s", cause);
		free(cause);
		return;
	}
	t = xcalloc(graph_size(s->g) + 1, sizeof *t);
	order = graph_order(s->g);
	for (k = 0; k < graph_size(s->g); k++) {
		i = order[k];
		if (s->pt[i].state != PT_DONE ||
		    s->pt[i].result.status != RESULT_SUCCESS || s->pt[i].warm)
			continue;
		task = graph_node(s->g, i)->task;
		t[n].id = task->id;
		t[n++].target = task->target;
	}
	free(order);
	nres = replayed_count(tool, buf, len, t, n, &res);
	f = report_begin(s);
	for (i = 0; i < nres; i++) {
		fprintf(f, "  %s: %zu of %zu from the cache", res[i].target,
		    res[i].hits, res[i].total);
		if (res[i].ran != NULL)
			fprintf(f, "; ran here: %s", res[i].ran);
		if (res[i].unseen > 0) {
			fprintf(f, "; %zu not in the tool's output",
			    res[i].unseen);
		}
		fputc('\n', f);
	}
	report_end(s);
	replayed_free(res, nres);
	free(t);
	free(buf);
}

/*
 * Run the replay's argv with the cache, say so, and print what it did.
 * 0, or -1 if it could not run or failed.
 */
static int
replay_go(struct submit *s, int tool, int all, struct cache *cache,
    char **argv)
{
	char	out[] = "/tmp/dteq-replay.XXXXXX";
	int	fd, st, rv = -1;
	FILE	*f;

	if ((fd = mkstemp(out)) == -1) {
		log_warn("replay: %s", out);
		return (-1);
	}
	close(fd);
	f = report_begin(s);
	fprintf(f, "\nReplaying the %s here from the remote cache (its "
	    "output: dteq logs --run %s %s):\n", all ? "run" :
	    "tasks that succeeded", s->run, REPLAY_ID);
	report_end(s);
	if ((st = replay_exec(s, cache, argv, out)) == 0)
		rv = 0;
	else if (st > 0)
		log_warnx("replay: exited with %d; the run's own result "
		    "stands", st);
	replay_counts(s, tool, out);
	unlink(out);
	return (rv);
}

/*
 * Replay the run here when it used --nx or --turbo: every task that
 * succeeded (all of them, or after failures the others are not run
 * again), its output recorded in the run as the command "replay" (`dteq
 * logs replay`), one line per target printed here. Returns 0, or -1
 * when the replay could not run or failed (said on stderr; the run's
 * result stands either way).
 */
int
replay_run(struct submit *s)
{
	struct cache	*cache;
	const char	*args;
	char		**argv = NULL, *cause = NULL;
	int		 tool, i, all = 1, any = 0, rv;
	size_t		 ntasks = 0;
	FILE		*f;

	if (s->o->nx_args == NULL && s->o->turbo_args == NULL)
		return (0);
	if (s->o->no_replay || s->abort_reason != NULL)
		return (0);
	for (i = 0; (size_t)i < graph_size(s->g); i++) {
		if (s->pt[i].state == PT_DONE &&
		    s->pt[i].result.status == RESULT_SUCCESS)
			any = 1;
		else
			all = 0;
	}
	live_stop(s);
	for (i = 0; (size_t)i < graph_size(s->g); i++)
		report_stream_lines(s, i, 1);
	if (!any) {
		f = report_begin(s);
		fprintf(f, "\nNo replay: no task succeeded.\n");
		report_end(s);
		return (0);
	}
	tool = s->o->nx_args != NULL ? TOOLGRAPH_NX : TOOLGRAPH_TURBO;
	args = tool == TOOLGRAPH_NX ? s->o->nx_args : s->o->turbo_args;
	if (tool == TOOLGRAPH_NX &&
	    (argv = replay_nx_tasks(s, &ntasks)) != NULL && ntasks == 0) {
		f = report_begin(s);
		fprintf(f, "\nNo replay: every task that succeeded was "
		    "restored here before the run.\n");
		report_end(s);
		replay_argv_free(argv);
		return (0);
	}
	if (argv == NULL) {
		argv = all ? replay_argv(tool, args, &cause) :
		    replay_partial(s, tool, args, &cause);
	}
	if (argv == NULL) {
		log_warnx("replay: %s", cause);
		free(cause);
		return (-1);
	}
	cache = cache_start(s->base, &s->url, CACHE_DEFAULT_LISTEN, NULL, 0,
	    0, &cause);
	if (cache == NULL) {
		log_warnx("replay: no cache: %s", cause);
		free(cause);
		replay_argv_free(argv);
		return (-1);
	}
	rv = replay_go(s, tool, all, cache, argv);
	cache_free(cache);
	replay_argv_free(argv);
	return (rv);
}
