/* dteq: self-hosted distributed task execution over Redis. */

/*
 * One task's progress in this submit (struct ptask, s->pt[i]). Its state
 * moves through PT_WAITING -> PT_QUEUED -> PT_RUNNING -> PT_DONE, and back
 * to PT_WAITING or PT_QUEUED when it runs again (a retry, a lost agent, a
 * staging or dispatch cut off); register.c starts a resumed task anywhere.
 * ptask_set_state() is the only writer of the state, so a -v log shows
 * every transition of every task.
 */

#include <stdlib.h>

#include "producer.h"

static const char *ptask_state_names[] = {
	"waiting", "queued", "running", "done"
};

/* The name of state, for logs. */
const char *
ptask_state_name(int state)
{
	if (state < 0 || (size_t)state >= nitems(ptask_state_names))
		return ("?");
	return (ptask_state_names[state]);
}

/* Move task i to state, logging the transition. */
void
ptask_set_state(struct submit *s, size_t i, int state)
{
	struct ptask	*p = &s->pt[i];

	if (p->state != state)
		log_debug("%s: %s: %s -> %s (attempt %d)", __func__,
		    graph_node(s->g, i)->task->id, ptask_state_name(p->state),
		    ptask_state_name(state), p->attempt);
	p->state = state;
}

/* Free what p owns. */
void
ptask_clear(struct ptask *p)
{
	result_clear(&p->result);
	free(p->reason);
	free(p->avoid);
	p->reason = p->avoid = NULL;
}
