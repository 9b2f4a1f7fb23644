/* dteq: self-hosted distributed task execution over Redis. */

/*
 * libFuzzer target: everything an agent or submit reads from Redis. The
 * same bytes go to each decoder: the signature check (with and without a
 * secret; the JSON part it hands back goes on to task_msg_decode, as in
 * the agent), the queue message, the channel's events and the stored
 * result. A decoded value is encoded again where an encoder exists, to
 * use every field. Errors must come with a cause; nothing may crash.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"

#define FUZZ_SECRET	"fuzz-secret"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_task_msg(const char *buf, size_t len)
{
	struct task_msg	 m;
	char		*cause = NULL;

	if (task_msg_decode(buf, len, &m, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (m.run == NULL || m.id == NULL || m.command == NULL)
		abort();
	task_msg_clear(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *json;
	struct event_msg e;
	struct result	 r;
	char		*cause = NULL, *s;
	size_t		 jsonlen;
	const char	*secrets[2] = { FUZZ_SECRET, NULL };
	int		 i;

	for (i = 0; i < 2; i++) {
		cause = NULL;
		if (sign_verify(secrets[i], buf, size, &json, &jsonlen,
		    &cause) != 0) {
			if (cause == NULL)
				abort();
			free(cause);
			continue;
		}
		if (json < buf || json + jsonlen > buf + size)
			abort();
		fuzz_task_msg(json, jsonlen);
	}
	fuzz_task_msg(buf, size);

	cause = NULL;
	if (event_decode(buf, size, &e, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
	} else
		event_clear(&e);

	cause = NULL;
	if (result_decode(buf, size, &r, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
	} else {
		s = result_encode(&r, NULL);
		free(s);
		result_clear(&r);
	}
	return (0);
}
