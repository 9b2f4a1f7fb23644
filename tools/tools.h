/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The Nx and Turborepo side of dteq: reading the task graphs the tools
 * write (Nx's --graph=FILE.json, Turborepo's --dry=json) into a taskset
 * whose commands run each task with the tool, and running the tool to get
 * one. Includes dteq.h only; used by producer/ and cmd/, never by worker/.
 */

#ifndef TOOLS_H
#define TOOLS_H

#include "dteq.h"

/* toolgraph.c */
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
const char	*toolgraph_runner(int);
int		 toolgraph_split(const char *, char ***, size_t *, char **);
void		 toolgraph_words_free(char **, size_t);
int		 toolgraph_version_cmp(const char *, const char *);

#endif /* TOOLS_H */
