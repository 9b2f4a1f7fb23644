/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The Nx and Turborepo side of dteq: reading the task graphs the tools
 * write (Nx's --graph=FILE.json, Turborepo's --dry=json) into a taskset
 * whose commands run each task with the tool, and running the tool to get
 * one. Includes dteq.h only; used by producer/ and cmd/, never by worker/.
 *
 * Three layers, each calling only the ones below: tool.c, the entry
 * points; nx.c and turbo.c, each reading one tool's graph; build.c, what
 * the readers share. Beside them nxrun.c, the client of the Nx runner
 * (nxrunner.js, built in) that `dteq nx-task` uses. Nothing outside
 * tools/ sees a cJSON: the sections below the first three are for
 * tools/ alone.
 */

#ifndef TOOLS_H
#define TOOLS_H

#include "dteq.h"

/* tool.c: the entry points. */
#define TOOLGRAPH_UNKNOWN	0
#define TOOLGRAPH_NX		1
#define TOOLGRAPH_TURBO		2
#define TOOLGRAPH_DTEQ		3	/* dteq's own task file */
#define TOOLGRAPH_NX_PROJECTS	4	/* Nx's project graph: no tasks */
int		 toolgraph_detect(const char *, size_t);
int		 toolgraph_parse(const char *, size_t, const char *,
		     struct taskset *, char **);
int		 toolgraph_run(int, const char *, struct taskset *, int *,
		     char **);

/* nxrun.c: the Nx runner's client (cmd/nxtask.c). */
#define NXRUN_UNSUPPORTED	(-2)	/* this Nx cannot: run `nx run` */
#define NXRUN_GONE		(-3)	/* closed before a reply: retry */
#define NXRUN_QUIET		0x1	/* a hit prints one line */
#define NXRUN_HITS_ONLY		0x2	/* run the remote cache's hits only */
struct nxrun_task {
	const char	*id;
	const char	*overrides;	/* JSON, or NULL: none */
};
struct nxrun_result {
	char		*id;
	char		*hash;		/* or NULL */
	char		*status;	/* Nx's: success, remote-cache, ... */
	int		 code;
	pid_t		 runner;	/* the runner's pid */
};
typedef void (*nxrun_output_cb)(const char *, size_t, void *);
int		 nxrun_connect(const char *, pid_t, int *, char **);
int		 nxrun_ping(int, char **);
int		 nxrun_request(int, const struct nxrun_task *, size_t, int,
		     nxrun_output_cb, void *, struct nxrun_result **, size_t *,
		     char **);
void		 nxrun_results_free(struct nxrun_result *, size_t);

/* build.c: how a tool is run, sh words, versions; used outside too. */
const char	*toolgraph_runner(int);
int		 toolgraph_split(const char *, char ***, size_t *, char **);
void		 toolgraph_words_free(char **, size_t);
int		 toolgraph_version_cmp(const char *, const char *);

/* build.c: what the readers share. */
struct cJSON;

/* A growable NUL-terminated string. */
struct tool_buf {
	char		*s;
	size_t		 len;
	size_t		 size;
};

/* Where a reader is, for messages: "NAME: Nx task graph: task X: ..." */
struct tool_ctx {
	const char	*name;
	const char	*kind;
	const char	*id;
	int		 restore;	/* DTEQ_TOOL_DEPS=restore */
	int		 nx_runner;	/* DTEQ_NX_RUNNER=on */
	char	       **cause;
};

void		 tool_add(struct tool_buf *, const char *, size_t);
void		 tool_adds(struct tool_buf *, const char *);
void		 tool_quote(struct tool_buf *, const char *);
int		 tool_error(struct tool_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 tool_check_version(int, const char *, const char *, char **);
const struct cJSON *tool_get(const struct cJSON *, const char *);
int		 tool_strings(struct tool_ctx *, const struct cJSON *,
		     const char *, const char *, char ***, size_t *);
void		 tool_add_dep(struct task *, const char *);
int		 tool_deps_mode(struct tool_ctx *);

/* nx.c */
int		 nx_parse(struct tool_ctx *, const struct cJSON *,
		     struct taskset *);

/* turbo.c */
int		 turbo_parse(struct tool_ctx *, const struct cJSON *,
		     struct taskset *);

#endif /* TOOLS_H */
