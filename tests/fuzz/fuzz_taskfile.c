/* dteq: self-hosted distributed task execution over Redis. */

/*
 * libFuzzer target: the task file. taskfile_parse() takes any bytes; when
 * it accepts them, graph_new() checks the set as a whole (duplicate ids,
 * unknown deps, cycles) and the ready-set walk runs over it. Any crash,
 * leak, sanitizer report or exit (fatal) is a finding: bad input must get
 * an error, never a crash.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct taskset	 ts;
	struct graph	*g;
	size_t		*roots = NULL, *next = NULL, n, i;
	char		*cause = NULL;

	memset(&ts, 0, sizeof ts);
	if (taskfile_parse((const char *)data, size, "fuzz.json", &ts,
	    &cause) != 0) {
		if (cause == NULL)
			abort();	/* an error must say why */
		free(cause);
		return (0);
	}
	if ((g = graph_new(&ts, &cause)) == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		return (0);
	}
	/* Walk: every root succeeds, then whatever became ready. */
	n = graph_roots(g, &roots);
	for (i = 0; i < n; i++) {
		free(next);
		next = NULL;
		(void)graph_succeeded(g, roots[i], &next);
	}
	free(next);
	free(roots);
	graph_free(g);
	return (0);
}
