/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The queue message: what the producer pushes for one attempt of one task
 * and what an agent pops. It is a JSON object carrying everything the
 * agent needs to run the attempt, so a pop is the only read:
 *
 *	{"run": R, "id": ID, "attempt": N, "command": CMD,
 *	 "cwd": DIR, "env": {NAME: VALUE, ...}, "timeout": SECS}
 *
 * cwd, env and timeout are left out when unset; "avoid" names the agent
 * whose attempt failed, so a retry prefers another agent; "leaf": true
 * says no task of the graph depends on this one, so its finish has no
 * staged dependents to look for. Decoding checks every field: the
 * message comes from Redis and is remote data.
 */

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dteq.h"

/* Encode the message for attempt of task t in run. Caller frees. */
char *
task_msg_encode(const char *run, const struct task *t, int attempt,
    const char *avoid, int leaf, size_t *len)
{
	cJSON	*o, *env;
	char	*s, *out;
	size_t	 i;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "run", run);
	cJSON_AddStringToObject(o, "id", t->id);
	cJSON_AddNumberToObject(o, "attempt", attempt);
	cJSON_AddStringToObject(o, "command", t->command);
	if (t->cwd != NULL)
		cJSON_AddStringToObject(o, "cwd", t->cwd);
	if (t->nenv > 0) {
		env = cJSON_AddObjectToObject(o, "env");
		for (i = 0; i < t->nenv; i++)
			cJSON_AddStringToObject(env, t->env[i].name,
			    t->env[i].value);
	}
	if (t->timeout > 0)
		cJSON_AddNumberToObject(o, "timeout", t->timeout);
	if (avoid != NULL)
		cJSON_AddStringToObject(o, "avoid", avoid);
	if (leaf)
		cJSON_AddTrueToObject(o, "leaf");
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	out = xstrdup(s);
	cJSON_free(s);
	if (len != NULL)
		*len = strlen(out);
	return (out);
}

/* Copy a string member; return -1 if present and not a string. */
static int
task_msg_string(const cJSON *o, const char *name, int required, char **out,
    char **cause)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (v == NULL) {
		if (!required)
			return (0);
		xasprintf(cause, "missing field \"%s\"", name);
		return (-1);
	}
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
		xasprintf(cause, "field \"%s\" is not a non-empty string",
		    name);
		return (-1);
	}
	*out = xstrdup(v->valuestring);
	return (0);
}

/* Copy an integer member in [min, max]; absent leaves *out alone. */
static int
task_msg_int(const cJSON *o, const char *name, int required, int min,
    int max, int *out, char **cause)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (v == NULL) {
		if (!required)
			return (0);
		xasprintf(cause, "missing field \"%s\"", name);
		return (-1);
	}
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= min &&
	    v->valuedouble <= max) ||
	    v->valuedouble != (double)(int)v->valuedouble) {
		xasprintf(cause, "field \"%s\" is not a whole number from %d "
		    "to %d", name, min, max);
		return (-1);
	}
	*out = (int)v->valuedouble;
	return (0);
}

/* Decode a queue message; on failure m is cleared and *cause set. */
int
task_msg_decode(const char *buf, size_t len, struct task_msg *m, char **cause)
{
	cJSON		*o;
	const cJSON	*env, *e;
	const char	*end;
	size_t		 n;

	memset(m, 0, sizeof *m);
	o = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (o == NULL || !cJSON_IsObject(o)) {
		xasprintf(cause, "not a JSON object");
		cJSON_Delete(o);
		return (-1);
	}
	if (task_msg_string(o, "run", 1, &m->run, cause) != 0 ||
	    task_msg_string(o, "id", 1, &m->id, cause) != 0 ||
	    task_msg_int(o, "attempt", 1, 1, 1000000, &m->attempt,
	    cause) != 0 ||
	    task_msg_string(o, "command", 1, &m->command, cause) != 0 ||
	    task_msg_string(o, "cwd", 0, &m->cwd, cause) != 0 ||
	    task_msg_int(o, "timeout", 0, 0, 7 * 86400, &m->timeout,
	    cause) != 0 ||
	    task_msg_string(o, "avoid", 0, &m->avoid, cause) != 0)
		goto fail;
	e = cJSON_GetObjectItemCaseSensitive(o, "leaf");
	if (e != NULL && !cJSON_IsBool(e)) {
		xasprintf(cause, "field \"leaf\" is not a boolean");
		goto fail;
	}
	m->leaf = cJSON_IsTrue(e);
	env = cJSON_GetObjectItemCaseSensitive(o, "env");
	if (env != NULL) {
		if (!cJSON_IsObject(env)) {
			xasprintf(cause, "field \"env\" is not an object");
			goto fail;
		}
		n = (size_t)cJSON_GetArraySize(env);
		m->env = xcalloc(n, sizeof *m->env);
		cJSON_ArrayForEach(e, env) {
			if (!cJSON_IsString(e) || e->string == NULL ||
			    e->string[0] == '\0' ||
			    strchr(e->string, '=') != NULL) {
				xasprintf(cause, "bad entry in \"env\"");
				goto fail;
			}
			m->env[m->nenv].name = xstrdup(e->string);
			m->env[m->nenv].value = xstrdup(e->valuestring);
			m->nenv++;
		}
	}
	cJSON_Delete(o);
	return (0);

fail:
	cJSON_Delete(o);
	task_msg_clear(m);
	return (-1);
}

/* Free what a decoded message holds; m is left zeroed. */
void
task_msg_clear(struct task_msg *m)
{
	size_t	i;

	free(m->run);
	free(m->id);
	free(m->command);
	free(m->cwd);
	free(m->avoid);
	for (i = 0; i < m->nenv; i++) {
		free(m->env[i].name);
		free(m->env[i].value);
	}
	free(m->env);
	memset(m, 0, sizeof *m);
}
