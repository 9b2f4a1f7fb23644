/* dteq: self-hosted distributed task execution over Redis. */

/*
 * libFuzzer target: task graphs written by Nx and Turborepo (and dteq's
 * own, which toolgraph detects and hands on). toolgraph_detect() and
 * toolgraph_parse() take any bytes; an accepted set goes through
 * graph_new() as submit does.
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
	char		*cause = NULL;

	(void)toolgraph_detect((const char *)data, size);
	memset(&ts, 0, sizeof ts);
	if (toolgraph_parse((const char *)data, size, "graph.json", &ts,
	    &cause) != 0) {
		free(cause);
		taskset_free(&ts);
		return (0);
	}
	if ((g = graph_new(&ts, &cause)) == NULL) {
		free(cause);
		return (0);
	}
	graph_free(g);
	return (0);
}
