/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The queue message: what the producer pushes for one attempt of one task
 * and what an agent pops. It is a JSON object carrying everything the
 * agent needs to run the attempt, so a pop is the only read:
 *
 *	{"run": R, "id": ID, "attempt": N, "command": CMD,
 *	 "cwd": DIR, "env": {NAME: VALUE, ...}, "timeout": SECS}
 *
 * cwd, env and timeout are left out when unset; "cache_as" (a tool's
 * task run alone, whose own cache key leaves its dependencies out) is
 * the key its agent's cache reads and writes its artifact under, see
 * env.c; "avoid" names the agent
 * whose attempt failed, so a retry prefers another agent; "leaf": true
 * says no task of the graph depends on this one, so its finish has no
 * staged dependents to look for. Decoding checks every field: the
 * message comes from Redis and is remote data.
 *
 * Restores: "restorable": true marks a task that has a restore (its agent
 * remembers that its outputs are on its checkout), and "restore" lists
 * the task's dependencies that have one, all of them down the graph, in
 * dependency order:
 *
 *	"restore": [{"id": ID, "run": CMD}, {"id": ID, "run": T, "arg": A}]
 *
 * An agent runs the entries whose outputs its checkout lacks before the
 * task. An entry with "arg" has a template for "run": every missing
 * entry of the same template goes into one command, the template's "{}"
 * replaced by their args joined by spaces (`nx run-many ... {}` with
 * `--projects=P` each). An entry without "run" is restored by the task's
 * own command (`turbo run` restores the dependencies it runs with); see
 * worker.c.
 */

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dteq.h"

/* The message being written: a cursor, or a length being measured. */
struct task_msg_out {
	char	*p;
	size_t	 n;
};

static void
task_msg_put(struct task_msg_out *o, const char *s, size_t len)
{
	if (o->p != NULL)
		memcpy(o->p + o->n, s, len);
	o->n += len;
}

static void
task_msg_put_str(struct task_msg_out *o, const char *s)
{
	task_msg_put(o, "\"", 1);
	/* As cJSON prints it: a command's bytes pass unchanged. */
	o->n += util_json_escape_raw(o->p != NULL ? o->p + o->n : NULL,
	    (const unsigned char *)s, strlen(s));
	task_msg_put(o, "\"", 1);
}

static void
task_msg_put_int(struct task_msg_out *o, int v)
{
	char	buf[21];

	/* Both numbers of a message (attempt, timeout) are positive. */
	task_msg_put(o, buf, util_u64_dec(buf, (uint64_t)(v < 0 ? 0 : v)));
}

/* Write (or with o->p NULL, measure) the message. */
static void
task_msg_write(struct task_msg_out *o, const char *run, const struct task *t,
    int attempt, const char *avoid, int leaf, struct task *const *restores,
    size_t nrestores)
{
	size_t	i;

#define PUTS(lit) task_msg_put(o, lit, sizeof lit - 1)
	PUTS("{\"run\":");
	task_msg_put_str(o, run);
	PUTS(",\"id\":");
	task_msg_put_str(o, t->id);
	PUTS(",\"attempt\":");
	task_msg_put_int(o, attempt);
	PUTS(",\"command\":");
	task_msg_put_str(o, t->command);
	if (t->cwd != NULL) {
		PUTS(",\"cwd\":");
		task_msg_put_str(o, t->cwd);
	}
	if (t->nenv > 0) {
		PUTS(",\"env\":{");
		for (i = 0; i < t->nenv; i++) {
			if (i > 0)
				PUTS(",");
			task_msg_put_str(o, t->env[i].name);
			PUTS(":");
			task_msg_put_str(o, t->env[i].value);
		}
		PUTS("}");
	}
	if (t->timeout > 0) {
		PUTS(",\"timeout\":");
		task_msg_put_int(o, t->timeout);
	}
	if (avoid != NULL) {
		PUTS(",\"avoid\":");
		task_msg_put_str(o, avoid);
	}
	if (leaf)
		PUTS(",\"leaf\":true");
	if (t->cache_as != NULL) {
		PUTS(",\"cache_as\":");
		task_msg_put_str(o, t->cache_as);
	}
	if (t->restore != NULL || t->restore_inline)
		PUTS(",\"restorable\":true");
	if (nrestores > 0) {
		PUTS(",\"restore\":[");
		for (i = 0; i < nrestores; i++) {
			if (i > 0)
				PUTS(",");
			PUTS("{\"id\":");
			task_msg_put_str(o, restores[i]->id);
			if (restores[i]->restore != NULL) {
				PUTS(",\"run\":");
				task_msg_put_str(o, restores[i]->restore);
			}
			if (restores[i]->restore != NULL &&
			    restores[i]->restore_arg != NULL) {
				PUTS(",\"arg\":");
				task_msg_put_str(o, restores[i]->restore_arg);
			}
			PUTS("}");
		}
		PUTS("]");
	}
	PUTS("}");
#undef PUTS
}

/*
 * Encode the message for attempt of task t in run, with the restores of
 * its dependencies (graph_restores()). Caller frees. By hand,
 * in the bytes cJSON would print (submit encodes one per dispatch): one
 * pass measures, the second writes.
 */
char *
task_msg_encode(const char *run, const struct task *t, int attempt,
    const char *avoid, int leaf, struct task *const *restores,
    size_t nrestores, size_t *len)
{
	struct task_msg_out	o = { NULL, 0 };

	task_msg_write(&o, run, t, attempt, avoid, leaf, restores, nrestores);
	o.p = xmalloc(o.n + 1);
	o.n = 0;
	task_msg_write(&o, run, t, attempt, avoid, leaf, restores, nrestores);
	o.p[o.n] = '\0';
	if (len != NULL)
		*len = o.n;
	return (o.p);
}

/*
 * Find member name of o: 1 with *v if there, 0 if not and not required,
 * -1 with *cause if not there but required.
 */
static int
task_msg_member(const struct json_obj *o, const char *name, int required,
    const struct json_val **v, char **cause)
{
	if ((*v = json_get(o, name)) != NULL)
		return (1);
	if (!required)
		return (0);
	xasprintf(cause, "missing field \"%s\"", name);
	return (-1);
}

/* Copy a string member; return -1 if present and not a string. */
static int
task_msg_string(const struct json_obj *o, const char *name, int required,
    char **out, char **cause)
{
	const struct json_val	*v;
	int			 rc;

	if ((rc = task_msg_member(o, name, required, &v, cause)) != 1)
		return (rc);
	if ((*out = json_string(v)) == NULL || **out == '\0') {
		free(*out);
		*out = NULL;
		xasprintf(cause, "field \"%s\" is not a non-empty string",
		    name);
		return (-1);
	}
	return (0);
}

/* Copy an integer member in [min, max]; absent leaves *out alone. */
static int
task_msg_int(const struct json_obj *o, const char *name, int required,
    int min, int max, int *out, char **cause)
{
	const struct json_val	*v;
	double			 d;
	int			 rc;

	if ((rc = task_msg_member(o, name, required, &v, cause)) != 1)
		return (rc);
	if (json_number(v, &d) != 0 || !(d >= min && d <= max) ||
	    d != (double)(int)d) {
		xasprintf(cause, "field \"%s\" is not a whole number from %d "
		    "to %d", name, min, max);
		return (-1);
	}
	*out = (int)d;
	return (0);
}

/* The "env" member: an object of strings. */
static int
task_msg_env(const struct json_val *v, struct task_msg *m, char **cause)
{
	struct json_obj	 env;
	char		*name;
	size_t		 i;

	if (v->type != JSON_OBJECT || json_object(v->p, v->len, &env,
	    cause) != 0) {
		free(*cause);
		xasprintf(cause, "field \"env\" is not an object");
		return (-1);
	}
	m->env = xcalloc(env.n, sizeof *m->env);
	for (i = 0; i < env.n; i++) {
		name = json_string(&env.m[i].key);
		if (env.m[i].val.type != JSON_STRING || *name == '\0' ||
		    strchr(name, '=') != NULL) {
			free(name);
			json_obj_free(&env);
			xasprintf(cause, "bad entry in \"env\"");
			return (-1);
		}
		m->env[m->nenv].name = name;
		m->env[m->nenv].value = json_string(&env.m[i].val);
		m->nenv++;
	}
	json_obj_free(&env);
	return (0);
}

/* A string member of a restore entry, copied, or NULL. */
static char *
task_msg_restore_string(const cJSON *e, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e, name);

	if (!cJSON_IsString(v) || *v->valuestring == '\0')
		return (NULL);
	return (xstrdup(v->valuestring));
}

/* The "restore" member: an array of {id[, run[, arg]]} objects. */
static int
task_msg_restores(const struct json_val *v, struct task_msg *m, char **cause)
{
	cJSON			*a;
	const cJSON		*e;
	struct task_restore	*r;

	if (v->type != JSON_ARRAY ||
	    (a = cJSON_ParseWithLength(v->p, v->len)) == NULL) {
		xasprintf(cause, "field \"restore\" is not an array");
		return (-1);
	}
	m->restores = xcalloc(cJSON_GetArraySize(a) + 1, sizeof *m->restores);
	cJSON_ArrayForEach(e, a) {
		r = &m->restores[m->nrestores++];
		r->id = task_msg_restore_string(e, "id");
		if (cJSON_GetObjectItemCaseSensitive(e, "run") != NULL &&
		    (r->run = task_msg_restore_string(e, "run")) == NULL)
			break;
		if (cJSON_GetObjectItemCaseSensitive(e, "arg") != NULL &&
		    (r->run == NULL ||
		    (r->arg = task_msg_restore_string(e, "arg")) == NULL))
			break;
		if (r->id == NULL)
			break;
	}
	cJSON_Delete(a);
	if (e != NULL) {
		xasprintf(cause, "entry %zu of \"restore\" is not an object "
		    "of non-empty strings id, run and arg (arg only with run)",
		    m->nrestores);
		return (-1);
	}
	return (0);
}

/*
 * Decode a queue message; on failure m is cleared and *cause set. An
 * agent decodes one per task: json.c reads it in place.
 */
int
task_msg_decode(const char *buf, size_t len, struct task_msg *m, char **cause)
{
	struct json_obj		 o;
	const struct json_val	*v;

	memset(m, 0, sizeof *m);
	*cause = NULL;
	if (json_object(buf, len, &o, cause) != 0)
		return (-1);
	if (task_msg_string(&o, "run", 1, &m->run, cause) != 0 ||
	    task_msg_string(&o, "id", 1, &m->id, cause) != 0 ||
	    task_msg_int(&o, "attempt", 1, 1, 1000000, &m->attempt,
	    cause) != 0 ||
	    task_msg_string(&o, "command", 1, &m->command, cause) != 0 ||
	    task_msg_string(&o, "cwd", 0, &m->cwd, cause) != 0 ||
	    task_msg_int(&o, "timeout", 0, 0, 7 * 86400, &m->timeout,
	    cause) != 0 ||
	    task_msg_string(&o, "avoid", 0, &m->avoid, cause) != 0 ||
	    task_msg_string(&o, "cache_as", 0, &m->cache_as, cause) != 0)
		goto fail;
	if (m->cache_as != NULL && !task_hash_valid(m->cache_as)) {
		xasprintf(cause, "field \"cache_as\" is not a cache key (1 "
		    "to %d of A-Z a-z 0-9 _ -)", TASK_HASH_MAX);
		goto fail;
	}
	v = json_get(&o, "leaf");
	if (v != NULL && v->type != JSON_TRUE && v->type != JSON_FALSE) {
		xasprintf(cause, "field \"leaf\" is not a boolean");
		goto fail;
	}
	m->leaf = v != NULL && v->type == JSON_TRUE;
	v = json_get(&o, "restorable");
	if (v != NULL && v->type != JSON_TRUE && v->type != JSON_FALSE) {
		xasprintf(cause, "field \"restorable\" is not a boolean");
		goto fail;
	}
	m->restorable = v != NULL && v->type == JSON_TRUE;
	if ((v = json_get(&o, "env")) != NULL &&
	    task_msg_env(v, m, cause) != 0)
		goto fail;
	if ((v = json_get(&o, "restore")) != NULL &&
	    task_msg_restores(v, m, cause) != 0)
		goto fail;
	json_obj_free(&o);
	return (0);

fail:
	json_obj_free(&o);
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
	free(m->cache_as);
	task_env_free(m->env, m->nenv);
	for (i = 0; i < m->nrestores; i++) {
		free(m->restores[i].id);
		free(m->restores[i].run);
		free(m->restores[i].arg);
	}
	free(m->restores);
	memset(m, 0, sizeof *m);
}
