/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Where the cache keeps artifacts in Redis: the only place its key names
 * and commands are built. upload.c, download.c and query.c send them on
 * the cache's connections and hand the replies back here to be taken
 * apart.
 *
 * Keys of artifact H (a hash parse_hash_valid() accepted). They live
 * outside any run, and all carry the hash tag {H}, so one artifact sits
 * in one Redis Cluster slot and the commit script may touch all of them:
 *
 *	key		type	holds				TTL
 *	dteq:cache:{H}:	(all keys of artifact H start so)
 *	  meta		hash	size, chunks, chunk (bytes per	cache TTL
 *				chunk), Turborepo's duration,
 *				tag, sha and dirty (empty when
 *				not given), created (ms)
 *	  data		list	the bytes, in chunks of		cache TTL
 *				CACHE_CHUNK (the last shorter;
 *				readers go by meta's chunk)
 *	  up:ID		list	one upload in progress, ID	1 h, renewed
 *				random per upload		per chunk
 *
 * Data flow of an upload: RPUSH each chunk to up:ID (with EXPIRE in the
 * same MULTI, so a server that dies mid-upload leaves nothing behind for
 * long, and never a key without a TTL); at the
 * end one script (store_commit) makes it visible at once: unless meta
 * already exists, it RENAMEs up:ID to data and writes meta, both with
 * the TTL. meta is what makes an artifact exist, and it is written
 * last, in the same script, so a reader never sees half an artifact and
 * of two uploads of one hash exactly one wins. A client that goes away
 * mid-upload gets up:ID deleted (store_discard).
 *
 * Data flow of a download: HMGET meta and LLEN data in one script
 * (store_lookup; an artifact whose data does not have all its chunks,
 * as after an eviction under maxmemory, is a miss), then LINDEX data i
 * (store_fetch) one or two chunks at a time as the client drains.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "cache.h"

#define STORE_UPLOAD_TTL	3600	/* s an idle upload key lives */
#define STORE_CHUNK_MAX		(64 * 1024 * 1024)	/* a sane chunk */

/*
 * KEYS: meta, data. Returns meta's size, chunks, chunk, duration, tag,
 * sha and dirty (nil when missing), then the length of data.
 */
static const char store_lookup_lua[] =
    "local m = redis.call('HMGET', KEYS[1], 'size', 'chunks', 'chunk',\n"
    "  'duration', 'tag', 'sha', 'dirty')\n"
    "m[8] = redis.call('LLEN', KEYS[2])\n"
    "return m\n";

/*
 * KEYS: meta, data, up:ID. ARGV: ttl, size, chunks, chunk, duration,
 * tag, sha, dirty, created. Returns 1 (stored), 0 (meta exists: the
 * upload is dropped) or -1 (up:ID does not hold the chunks expected).
 */
static const char store_commit_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  return 0\n"
    "end\n"
    "local n = tonumber(ARGV[3])\n"
    "if redis.call('LLEN', KEYS[3]) ~= n then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  return -1\n"
    "end\n"
    "if n > 0 then\n"
    "  redis.call('RENAME', KEYS[3], KEYS[2])\n"
    "  redis.call('EXPIRE', KEYS[2], ARGV[1])\n"
    "else\n"
    "  redis.call('DEL', KEYS[2])\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'size', ARGV[2], 'chunks', ARGV[3],\n"
    "  'chunk', ARGV[4], 'duration', ARGV[5], 'tag', ARGV[6],\n"
    "  'sha', ARGV[7], 'dirty', ARGV[8], 'created', ARGV[9])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* The key "dteq:cache:{hash}:suffix". Caller frees. */
char *
store_key(const char *hash, const char *suffix)
{
	char	*key;

	xasprintf(&key, "dteq:cache:{%s}:%s", hash, suffix);
	return (key);
}

/* A random id for one upload's key: 16 hex digits. Caller frees. */
char *
store_upload_id(void)
{
	return (util_random_hex(8));
}

/* A string element of an array reply, or NULL (nil or empty). */
static char *
store_element(const redisReply *r, size_t i)
{
	const redisReply	*e;

	if (i >= r->elements || (e = r->element[i]) == NULL ||
	    e->type != REDIS_REPLY_STRING || e->len == 0)
		return (NULL);
	return (xstrndup(e->str, e->len));
}

/* Parse a decimal element of an array reply into *out. */
static int
store_number(const redisReply *r, size_t i, uint64_t *out)
{
	const char	*errstr;
	char		*s;
	long long	 n;

	if ((s = store_element(r, i)) == NULL)
		return (-1);
	n = util_strtonum(s, 0, INT64_MAX, &errstr);
	free(s);
	if (errstr != NULL)
		return (-1);
	*out = (uint64_t)n;
	return (0);
}

/*
 * Take apart the reply to store_lookup(): 1 and *m filled when the
 * artifact exists, 0 when it does not, -1 with *cause when the reply or
 * the stored metadata make no sense. Copies what it keeps.
 */
int
store_meta_parse(const redisReply *r, struct store_meta *m, char **cause)
{
	memset(m, 0, sizeof *m);
	if (r->type == REDIS_REPLY_ERROR) {
		xasprintf(cause, "lookup: %s", r->str);
		return (-1);
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 8 ||
	    r->element[7]->type != REDIS_REPLY_INTEGER) {
		xasprintf(cause, "lookup: unexpected reply type %d", r->type);
		return (-1);
	}
	if (r->element[0]->type == REDIS_REPLY_NIL)
		return (0);
	if (store_number(r, 0, &m->size) != 0 ||
	    store_number(r, 1, &m->chunks) != 0 ||
	    store_number(r, 2, &m->chunk) != 0 || m->chunk == 0 ||
	    m->chunk > STORE_CHUNK_MAX ||
	    m->chunks != (m->size + m->chunk - 1) / m->chunk) {
		xasprintf(cause, "bad artifact metadata");
		return (-1);
	}
	if ((uint64_t)r->element[7]->integer != m->chunks) {
		log_debug("%s: data has %lld of %" PRIu64 " chunks: a miss",
		    __func__, r->element[7]->integer, m->chunks);
		return (0);
	}
	m->duration = store_element(r, 3);
	m->tag = store_element(r, 4);
	m->sha = store_element(r, 5);
	m->dirty = store_element(r, 6);
	return (1);
}

/* Free what store_meta_parse() copied; m is zeroed. */
void
store_meta_clear(struct store_meta *m)
{
	free(m->duration);
	free(m->tag);
	free(m->sha);
	free(m->dirty);
	memset(m, 0, sizeof *m);
}

/* Send an argument vector of NUL-terminated strings. */
static int
store_send(struct rconn *rc, redisCallbackFn *fn, void *arg, int argc,
    const char **argv)
{
	size_t	argvlen[16];
	int	i;

	for (i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	return (rconn_command_argv(rc, fn, arg, argc, argv, argvlen));
}

/* Look up the metadata of hash and its data's length (store_meta_parse). */
int
store_lookup(struct rconn *rc, const char *hash, redisCallbackFn *fn,
    void *arg)
{
	const char	*argv[5];
	char		*meta = store_key(hash, "meta");
	char		*data = store_key(hash, "data");
	int		 rv;

	argv[0] = "EVAL";
	argv[1] = store_lookup_lua;
	argv[2] = "2";
	argv[3] = meta;
	argv[4] = data;
	rv = store_send(rc, fn, arg, 5, argv);
	free(data);
	free(meta);
	return (rv);
}

/* LINDEX chunk i of hash's data; fn gets the string (or nil). */
int
store_fetch(struct rconn *rc, const char *hash, uint64_t i,
    redisCallbackFn *fn, void *arg)
{
	char	*data = store_key(hash, "data");
	int	 rv;

	rv = rconn_command(rc, fn, arg, "LINDEX %s %" PRIu64, data, i);
	free(data);
	return (rv);
}

/* EXISTS hash's metadata; fn gets an integer reply. */
int
store_exists(struct rconn *rc, const char *hash, redisCallbackFn *fn,
    void *arg)
{
	char	*meta = store_key(hash, "meta");
	int	 rv;

	rv = rconn_command(rc, fn, arg, "EXISTS %s", meta);
	free(meta);
	return (rv);
}

/*
 * Append one chunk to the upload key and renew its expiry, in one
 * MULTI/EXEC so the key never exists without a TTL; fn gets the EXEC
 * reply (see store_append_check). hiredis copies the bytes, so data may
 * go at once.
 */
int
store_append(struct rconn *rc, const char *upkey, const void *data,
    size_t len, redisCallbackFn *fn, void *arg)
{
	const char	*argv[3];
	size_t		 argvlen[3];

	argv[0] = "RPUSH";
	argvlen[0] = 5;
	argv[1] = upkey;
	argvlen[1] = strlen(upkey);
	argv[2] = data;
	argvlen[2] = len;
	if (rconn_command(rc, NULL, NULL, "MULTI") != 0 ||
	    rconn_command_argv(rc, NULL, NULL, 3, argv, argvlen) != 0 ||
	    rconn_command(rc, NULL, NULL, "EXPIRE %s %d", upkey,
	    STORE_UPLOAD_TTL) != 0)
		return (-1);
	return (rconn_command(rc, fn, arg, "EXEC"));
}

/* Check the EXEC reply of store_append(): 0, or -1 with *cause. */
int
store_append_check(const redisReply *r, char **cause)
{
	size_t	i;

	if (r->type == REDIS_REPLY_ERROR) {
		xasprintf(cause, "%s", r->str);
		return (-1);
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		xasprintf(cause, "transaction discarded");
		return (-1);
	}
	for (i = 0; i < r->elements; i++) {
		if (r->element[i]->type == REDIS_REPLY_ERROR) {
			xasprintf(cause, "%s", r->element[i]->str);
			return (-1);
		}
	}
	return (0);
}

/*
 * Make the upload in upkey the artifact hash, with metadata m and ttl
 * seconds to live; fn gets the script's integer reply (1 stored, 0 the
 * artifact already existed, -1 the upload was incomplete).
 */
int
store_commit(struct rconn *rc, const char *hash, const char *upkey,
    const struct store_meta *m, int ttl, redisCallbackFn *fn, void *arg)
{
	const char	*argv[15];
	char		*meta, *data, ttls[32], size[32], chunks[32];
	char		 chunk[32], created[32];
	int		 rv;

	meta = store_key(hash, "meta");
	data = store_key(hash, "data");
	snprintf(ttls, sizeof ttls, "%d", ttl);
	snprintf(size, sizeof size, "%" PRIu64, m->size);
	snprintf(chunks, sizeof chunks, "%" PRIu64, m->chunks);
	snprintf(chunk, sizeof chunk, "%d", CACHE_CHUNK);
	snprintf(created, sizeof created, "%" PRIu64, util_wall_ms());
	argv[0] = "EVAL";
	argv[1] = store_commit_lua;
	argv[2] = "3";
	argv[3] = meta;
	argv[4] = data;
	argv[5] = upkey;
	argv[6] = ttls;
	argv[7] = size;
	argv[8] = chunks;
	argv[9] = chunk;
	argv[10] = m->duration != NULL ? m->duration : "";
	argv[11] = m->tag != NULL ? m->tag : "";
	argv[12] = m->sha != NULL ? m->sha : "";
	argv[13] = m->dirty != NULL ? m->dirty : "";
	argv[14] = created;
	rv = store_send(rc, fn, arg, 15, argv);
	free(data);
	free(meta);
	return (rv);
}

/* Delete an abandoned upload key; no reply is awaited. */
void
store_discard(struct rconn *rc, const char *upkey)
{
	if (rconn_command(rc, NULL, NULL, "DEL %s", upkey) != 0)
		log_debug("%s: %s left to expire", __func__, upkey);
}
