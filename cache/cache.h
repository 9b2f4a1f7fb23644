/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The remote cache: an HTTP server that speaks Nx's self-hosted remote
 * cache API and Turborepo's remote cache API and keeps the artifacts in
 * Redis. Includes dteq.h; neither producer.h nor worker.h includes this
 * header, and this one includes neither of them.
 *
 * The embedding API (cache_start() and its accessors) is all another
 * subcommand needs: it runs the server on the caller's event base, with
 * its own Redis connections, until cache_free().
 *
 * The rest are the prototypes the files of cache/ share, grouped by file:
 * parse.c (pure parsing, unit-tested), http.c (HTTP/1.1 connections on
 * bufferevents), store.c (the Redis key layout and commands), and the
 * two APIs on top of them: cache.c (the server: routes, tokens), xfer.c
 * (one request's transfer, error answers), upload.c, download.c and
 * query.c; serve.c is `dteq cache`.
 */

#ifndef CACHE_H
#define CACHE_H

#include <sys/socket.h>

#include "dteq.h"

struct event_base;
struct evbuffer;
struct redisReply;
struct redisAsyncContext;

/* Defaults. */
#define CACHE_DEFAULT_LISTEN	"127.0.0.1:0"
#define CACHE_DEFAULT_MAX	(256ULL * 1024 * 1024)	/* bytes */
#define CACHE_DEFAULT_TTL	(7 * 86400)		/* seconds */
#define CACHE_CHUNK		(1024 * 1024)	/* bytes per Redis value */
#define CACHE_HASH_MAX		128		/* longest accepted hash */

/* The embedding API. */
struct cache;
struct cache	*cache_start(struct event_base *, const struct redis_url *,
		     const char *, const char *, size_t, int, char **);
int		 cache_port(const struct cache *);
const char	*cache_token(const struct cache *);
void		 cache_set_read_token(struct cache *, const char *);
void		 cache_free(struct cache *);

/* serve.c */
int		 cache_main(int, char **);

/*
 * parse.c: the HTTP/1.1 request head, chunked transfer coding, and the
 * small values the APIs take apart. Pure: no I/O, no allocation failure
 * paths, no logging.
 */
#define HTTP_HEAD_MAX		16384	/* request line and headers */
#define HTTP_HEADERS_MAX	64
struct http_header {
	char		*name;
	char		*value;
};
struct http_head {
	char		*method;
	char		*target;	/* as sent, with the query */
	char		*path;		/* target without the query */
	char		*query;		/* after '?', or NULL */
	int		 minor;		/* HTTP/1.minor */
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t		 nheaders;
	int64_t		 content_length; /* -1: none given */
	int		 chunked;	/* Transfer-Encoding: chunked */
	int		 expect_continue;
	int		 keep_alive;
};
int		 parse_head(const char *, size_t, struct http_head *, int *,
		     char **);
void		 parse_head_clear(struct http_head *);
const char	*parse_header(const struct http_head *, const char *);

#define CHUNKED_SIZE	0	/* reading a chunk-size line */
#define CHUNKED_DATA	1	/* inside chunk data */
#define CHUNKED_DATA_END 2	/* the CRLF after chunk data */
#define CHUNKED_TRAILER	3	/* trailer lines after the last chunk */
#define CHUNKED_DONE	4
#define CHUNKED_ERROR	5
struct chunked {
	int		 state;
	uint64_t	 left;		/* bytes of the current chunk */
	size_t		 linelen;	/* length of the line being read */
	int		 digits;	/* hex digits of the size seen */
	int		 phase;		/* of the size line (parse.c) */
	int		 cr;		/* saw CR, want LF */
};
void		 chunked_init(struct chunked *);
size_t		 chunked_feed(struct chunked *, const char *, size_t,
		     size_t *, size_t *);
int		 parse_hash_valid(const char *);
char		*parse_key_prefix(const char *, const char **);
char		*parse_bearer(const char *);	/* caller frees */
int		 parse_token_equal(const char *, const char *);
int		 parse_listen(const char *, struct sockaddr_storage *,
		     socklen_t *, char **);
int		 parse_listen_named(const char *, const char *,
		     struct sockaddr_storage *, socklen_t *, char **);

/*
 * http.c: HTTP/1.1 server connections on bufferevents, one request at a
 * time each, keep-alive. Request bodies are streamed to the handler with
 * backpressure (http_pause/http_resume) and never held whole; responses
 * are streamed with a drain callback.
 */
struct http_conn;
struct http_server;
struct http_handler {
	/* The head is parsed; reading is paused until http_read_body(). */
	void	(*request)(struct http_conn *, void *);
	/* Body bytes: move what you keep out of the buffer. */
	void	(*body)(struct http_conn *, struct evbuffer *, void *);
	/* The whole body arrived. */
	void	(*body_end)(struct http_conn *, void *);
	/* A streamed response's output fell below the low watermark. */
	void	(*drain)(struct http_conn *, void *);
	/* The connection is gone: no more calls for this request. */
	void	(*close)(struct http_conn *, void *);
	void	*arg;
};
struct http_server *http_listen(struct event_base *, const char *,
		     const struct http_handler *, char **);
void		 http_server_free(struct http_server *);
int		 http_server_port(const struct http_server *);

const struct http_head *http_request(const struct http_conn *);
int		 http_is_head(const struct http_conn *);
void		 http_set_data(struct http_conn *, void *);
void		*http_data(const struct http_conn *);
void		 http_read_body(struct http_conn *);
void		 http_pause(struct http_conn *);
void		 http_resume(struct http_conn *);
void		 http_response(struct http_conn *, int);
void		 http_add_header(struct http_conn *, const char *,
		     const char *, ...) __attribute__((format(printf, 3, 4)));
void		 http_send_head(struct http_conn *, uint64_t);
void		 http_send_body(struct http_conn *, const void *, size_t);
size_t		 http_output_len(const struct http_conn *);
void		 http_reply(struct http_conn *, int, const char *,
		     const char *);
void		 http_abort(struct http_conn *);
const char	*http_status_text(int);

/*
 * store.c: where artifacts live in Redis. The key layout is in the
 * opening comment of store.c; these build the keys and the commands and
 * take the replies apart.
 */
struct store_meta {
	uint64_t	 size;
	uint64_t	 chunks;
	uint64_t	 chunk;		/* bytes per chunk, the last shorter */
	char		*duration;	/* Turborepo x-artifact-duration */
	char		*tag;		/* x-artifact-tag */
	char		*sha;		/* x-artifact-sha */
	char		*dirty;		/* x-artifact-dirty-hash */
};
char		*store_key(const char *, const char *);	/* caller frees */
char		*store_upload_id(void);		/* caller frees */
int		 store_meta_parse(const struct redisReply *,
		     struct store_meta *, char **);
void		 store_meta_clear(struct store_meta *);
int		 store_lookup(struct rconn *, const char *,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 store_fetch(struct rconn *, const char *, uint64_t,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 store_exists(struct rconn *, const char *,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 store_append(struct rconn *, const char *, const void *,
		     size_t,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
int		 store_append_check(const struct redisReply *, char **);
int		 store_commit(struct rconn *, const char *, const char *,
		     const struct store_meta *, int,
		     void (*)(struct redisAsyncContext *, void *, void *),
		     void *);
void		 store_discard(struct rconn *, const char *);

/*
 * The two APIs: what cache.c, xfer.c, upload.c, download.c and query.c
 * share. Nothing outside cache/ looks inside these structs.
 */
#define CACHE_API_NX	0
#define CACHE_API_TURBO	1

struct cache {
	struct event_base	*base;
	struct redis_url	 url;
	struct rconn		*rd;		/* lookups, downloads */
	struct rconn		*wr;		/* uploads */
	struct http_server	*http;
	char			*token;
	char			*read_token;	/* may read, may not write */
	uint64_t		 max;
	int			 ttl;
	int			 freeing;
};

/* The states of a transfer; the diagram is in xfer.c. */
#define XFER_NEW	0
#define XFER_CHECK	1
#define XFER_RECV	2
#define XFER_DRAIN	3
#define XFER_COMMIT	4
#define XFER_LOOKUP	5
#define XFER_SEND	6
#define XFER_BODY	7
#define XFER_QUERY	8
#define XFER_DONE	9

/* One request. */
struct xfer {
	struct cache		*cache;
	struct http_conn	*conn;	/* NULL: client gone or answered */
	int			 api;
	int			 state;
	int			 refs;	/* Redis replies pending */
	char			*hash;

	/* Upload. */
	char			*upkey;
	struct evbuffer		*chunk;	/* body bytes not sent yet */
	uint64_t		 received;
	struct store_meta	 meta;	/* also the download's */
	int			 inflight;

	/* Download. */
	uint64_t		 next;		/* next chunk to ask for */
	uint64_t		 got;		/* chunks received */
	uint64_t		 sent;		/* bytes sent */
	int			 fetching;

	/* Small bodies (query, events). */
	int			 is_query;
	struct evbuffer		*small;

	/*
	 * The state of the file handling it (query.c's answer), freed with
	 * the xfer through freecb: xfer.c calls no file above it.
	 */
	void			*data;
	void			(*freecb)(void *);
};

/* xfer.c */
void		 xfer_set_state(struct xfer *, int);
const char	*xfer_state_name(int);
void		 xfer_maybe_free(struct xfer *);
void		 xfer_detach(struct xfer *);
void		 xfer_error_reply(struct http_conn *, int, int, const char *,
		     const char *, const char *);
void		 xfer_fail(struct xfer *, int, const char *);
void		 xfer_unavailable(struct xfer *, struct rconn *);

/* upload.c */
void		 upload_start(struct xfer *);
void		 upload_body(struct xfer *, struct evbuffer *);
void		 upload_end(struct xfer *);
void		 upload_abort(struct xfer *);
void		 upload_exists_reply(struct xfer *);

/* download.c */
void		 download_start(struct xfer *);
void		 download_pump(struct xfer *);

/* query.c */
void		 query_start(struct xfer *);

#endif /* CACHE_H */
