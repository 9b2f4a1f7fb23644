/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Submit's scripts (producer/ sends them): one typed wrapper each, which
 * builds the KEYS and ARGV that the script's body in script.c documents
 * and expects.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "dteq.h"

/*
 * Submit's scripts (producer/): one typed wrapper each, which builds the
 * KEYS and ARGV the body above expects.
 */

/*
 * Send script which on rc with argv[0..argc), every argument text:
 * argv[0..1] are filled here (EVALSHA and the script's SHA1).
 */
static int
script_submit_call(struct rconn *rc, int which, const char **argv,
    size_t argc, redisCallbackFn *fn, void *arg)
{
	size_t	*lens;
	int	 rv;

	lens = xcalloc(argc, sizeof *lens);
	script_argv(which, (int)argc, argv, lens, 0);
	rv = rconn_command_argv(rc, fn, arg, (int)argc, argv, lens);
	free(lens);
	return (rv);
}

/*
 * Record the new attempts of tasks t[0..n) and push their messages, in
 * that order, each at the end its urgent flag says (SCRIPT_DISPATCH: KEYS
 * attempts queue claims; ARGV ttl, then id attempt side message per
 * task). fn gets the number of tasks pushed.
 */
int
script_dispatch(struct rconn *rc, const struct keys *k, int ttl,
    const struct script_task *t, size_t n, redisCallbackFn *fn, void *arg)
{
	const char	**argv;
	char		 ttls[16], (*attempts)[16];
	size_t		 argc = 2, i;
	int		 rv;

	argv = xcalloc(7 + 4 * n, sizeof *argv);
	attempts = xcalloc(n + 1, sizeof *attempts);
	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[argc++] = "3";
	argv[argc++] = k->attempts;
	argv[argc++] = k->queue;
	argv[argc++] = k->claims;
	argv[argc++] = ttls;
	for (i = 0; i < n; i++) {
		snprintf(attempts[i], sizeof attempts[i], "%d", t[i].attempt);
		argv[argc++] = t[i].id;
		argv[argc++] = attempts[i];
		argv[argc++] = t[i].urgent ? "R" : "L";
		argv[argc++] = t[i].msg;
	}
	rv = script_submit_call(rc, SCRIPT_DISPATCH, argv, argc, fn, arg);
	free(attempts);
	free(argv);
	return (rv);
}

/*
 * Record the new attempts of tasks t[0..n) and stage their messages until
 * the dependencies in each one's deps succeed (SCRIPT_STAGE: KEYS attempts
 * queue claims staged waiting waiters results; ARGV ttl, then id attempt
 * side message ndeps dep... per task). fn gets the number pushed at once.
 */
int
script_stage(struct rconn *rc, const struct keys *k, int ttl,
    const struct script_task *t, size_t n, redisCallbackFn *fn, void *arg)
{
	const char	**argv;
	char		 ttls[16], (*attempts)[16], (*ndeps)[24];
	size_t		 argc = 2, size = 11, i, d;
	int		 rv;

	for (i = 0; i < n; i++)
		size += 5 + t[i].ndeps;
	argv = xcalloc(size, sizeof *argv);
	attempts = xcalloc(n + 1, sizeof *attempts);
	ndeps = xcalloc(n + 1, sizeof *ndeps);
	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[argc++] = "7";
	argv[argc++] = k->attempts;
	argv[argc++] = k->queue;
	argv[argc++] = k->claims;
	argv[argc++] = k->staged;
	argv[argc++] = k->waiting;
	argv[argc++] = k->waiters;
	argv[argc++] = k->results;
	argv[argc++] = ttls;
	for (i = 0; i < n; i++) {
		snprintf(attempts[i], sizeof attempts[i], "%d", t[i].attempt);
		snprintf(ndeps[i], sizeof ndeps[i], "%zu", t[i].ndeps);
		argv[argc++] = t[i].id;
		argv[argc++] = attempts[i];
		argv[argc++] = t[i].urgent ? "R" : "L";
		argv[argc++] = t[i].msg;
		argv[argc++] = ndeps[i];
		for (d = 0; d < t[i].ndeps; d++)
			argv[argc++] = t[i].deps[d];
	}
	rv = script_submit_call(rc, SCRIPT_STAGE, argv, argc, fn, arg);
	free(ndeps);
	free(attempts);
	free(argv);
	return (rv);
}

/*
 * Take back the tasks of the run's agents whose heartbeat expired
 * (SCRIPT_RECLAIM: KEYS agents attempts claims; ARGV hb-prefix
 * running-prefix). fn gets {alive agents, {messages of lost ones}}.
 */
int
script_reclaim(struct rconn *rc, const struct keys *k, redisCallbackFn *fn,
    void *arg)
{
	const char	*argv[8];

	argv[2] = "3";
	argv[3] = k->agents;
	argv[4] = k->attempts;
	argv[5] = k->claims;
	argv[6] = k->hb_prefix;
	argv[7] = k->running_prefix;
	return (script_submit_call(rc, SCRIPT_RECLAIM, argv, 8, fn, arg));
}
