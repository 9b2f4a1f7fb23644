/* dteq: self-hosted distributed task execution over Redis. */

/*
 * A JSON object reader for the messages of the hot path: the queue
 * message an agent decodes for every task, and the event and result
 * submit decodes for every task. cJSON builds a tree (an allocation per
 * member and per string, strtod per number) and those decodes were most
 * of submit's instructions; this reader makes none.
 *
 * json_object() checks one object's whole text against RFC 8259 (nested
 * values too, up to JSON_DEPTH levels) and records where each member's
 * key and value lie in the caller's buffer; nothing is copied. Values
 * are read on demand: json_get() finds the first member of a name (as
 * cJSON's lookup does), json_string() copies a string out, unescaped,
 * json_number() reads a number, and a nested object is read by calling
 * json_object() on its value. Text after the object is ignored, as
 * cJSON ignores it. Files (task files, tool graphs) still go through
 * cJSON: this reader only serves messages whose shape is known.
 */

#include <stdlib.h>
#include <string.h>

#include "dteq.h"

#define JSON_DEPTH	64

/* The scan of one text. */
struct json_scan {
	const char	*p;
	const char	*end;
	char		*cause;
};

static int	json_value(struct json_scan *, struct json_val *, int);

static void
json_fail(struct json_scan *s, const char *what)
{
	if (s->cause == NULL)
		xasprintf(&s->cause, "%s", what);
}

static void
json_ws(struct json_scan *s)
{
	const char	*p = s->p, *end = s->end;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	s->p = p;
}

static int
json_hex4(const char *p, unsigned int *out)
{
	unsigned int	v = 0;
	int		i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= (unsigned int)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= (unsigned int)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= (unsigned int)(p[i] - 'A' + 10);
		else
			return (-1);
	}
	*out = v;
	return (0);
}

/*
 * Decode one escape at p (after the backslash), up to end: the code
 * point in *cp (a \u pair of surrogates makes one), the bytes used in
 * *used. -1 if malformed.
 */
static int
json_escape(const char *p, const char *end, unsigned int *cp, size_t *used)
{
	unsigned int	hi, lo;

	if (p >= end)
		return (-1);
	*used = 1;
	switch (*p) {
	case '"':
	case '\\':
	case '/':
		*cp = (unsigned char)*p;
		return (0);
	case 'b':
		*cp = '\b';
		return (0);
	case 'f':
		*cp = '\f';
		return (0);
	case 'n':
		*cp = '\n';
		return (0);
	case 'r':
		*cp = '\r';
		return (0);
	case 't':
		*cp = '\t';
		return (0);
	case 'u':
		break;
	default:
		return (-1);
	}
	if (end - p < 5 || json_hex4(p + 1, &hi) != 0)
		return (-1);
	*used = 5;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return (-1);		/* a low surrogate alone */
	if (hi < 0xd800 || hi > 0xdbff) {
		*cp = hi;
		return (0);
	}
	if (end - p < 11 || p[5] != '\\' || p[6] != 'u' ||
	    json_hex4(p + 7, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
		return (-1);		/* a high surrogate alone */
	*used = 11;
	*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	return (0);
}

/* A string at s->p (on its quote); v gets its inside. */
static int
json_scan_string(struct json_scan *s, struct json_val *v)
{
	unsigned int	cp;
	size_t		used;

	const char	*p = s->p + 1, *end = s->end;

	v->type = JSON_STRING;
	v->p = p;
	v->escaped = 0;
	/* Locals, not s->p: a char store may alias anything. */
	while (p < end && *p != '"') {
		if ((unsigned char)*p < 0x20) {
			s->p = p;
			json_fail(s, "control character in a string");
			return (-1);
		}
		if (*p == '\\') {
			if (json_escape(p + 1, end, &cp, &used) != 0) {
				s->p = p;
				json_fail(s, "bad escape in a string");
				return (-1);
			}
			v->escaped = 1;
			p += 1 + used;
		} else
			p++;
	}
	s->p = p;
	if (p >= end) {
		json_fail(s, "unterminated string");
		return (-1);
	}
	v->len = (size_t)(p - v->p);
	s->p = p + 1;
	return (0);
}

/* A number at s->p, by the grammar of RFC 8259. */
static int
json_scan_number(struct json_scan *s, struct json_val *v)
{
	const char	*p = s->p, *e = s->end;

	v->type = JSON_NUMBER;
	v->p = p;
	v->escaped = 0;
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (p < e && *p >= '1' && *p <= '9') {
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	} else
		goto bad;
	if (p < e && *p == '.') {
		p++;
		if (p >= e || *p < '0' || *p > '9')
			goto bad;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || *p < '0' || *p > '9')
			goto bad;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	v->len = (size_t)(p - v->p);
	s->p = p;
	return (0);

bad:
	json_fail(s, "bad number");
	return (-1);
}

/* A literal (true, false, null). */
static int
json_scan_word(struct json_scan *s, struct json_val *v, const char *word,
    int type)
{
	size_t	len = strlen(word);

	if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0) {
		json_fail(s, "unexpected text");
		return (-1);
	}
	v->type = type;
	v->p = s->p;
	v->len = len;
	v->escaped = 0;
	s->p += len;
	return (0);
}

/*
 * The members of an object or the elements of an array at s->p (on its
 * bracket), checked and skipped; o, if not NULL, records an object's
 * members.
 */
static int
json_scan_group(struct json_scan *s, struct json_obj *o, int depth)
{
	struct json_val	 key, val;
	char		 close = *s->p == '{' ? '}' : ']';
	int		 first = 1;

	if (depth > JSON_DEPTH) {
		json_fail(s, "nested too deeply");
		return (-1);
	}
	s->p++;
	for (;;) {
		json_ws(s);
		if (s->p < s->end && *s->p == close) {
			s->p++;
			return (0);
		}
		if (!first) {
			if (s->p >= s->end || *s->p != ',') {
				json_fail(s, "expected ',' or a closing "
				    "bracket");
				return (-1);
			}
			s->p++;
			json_ws(s);
		}
		first = 0;
		if (close == '}') {
			if (s->p >= s->end || *s->p != '"') {
				json_fail(s, "expected a member name");
				return (-1);
			}
			if (json_scan_string(s, &key) != 0)
				return (-1);
			json_ws(s);
			if (s->p >= s->end || *s->p != ':') {
				json_fail(s, "expected ':'");
				return (-1);
			}
			s->p++;
		}
		if (json_value(s, &val, depth) != 0)
			return (-1);
		if (o != NULL) {
			if (o->n == o->cap) {
				o->cap *= 2;
				if (o->m == o->small) {
					o->m = xreallocarray(NULL, o->cap,
					    sizeof *o->m);
					memcpy(o->m, o->small, sizeof o->small);
				} else
					o->m = xreallocarray(o->m, o->cap,
					    sizeof *o->m);
			}
			o->m[o->n].key = key;
			o->m[o->n].val = val;
			o->n++;
		}
	}
}

/* Any value at s->p (after white space). */
static int
json_value(struct json_scan *s, struct json_val *v, int depth)
{
	json_ws(s);
	if (s->p >= s->end) {
		json_fail(s, "unexpected end");
		return (-1);
	}
	switch (*s->p) {
	case '"':
		return (json_scan_string(s, v));
	case '{':
	case '[':
		v->type = *s->p == '{' ? JSON_OBJECT : JSON_ARRAY;
		v->p = s->p;
		v->escaped = 0;
		if (json_scan_group(s, NULL, depth + 1) != 0)
			return (-1);
		v->len = (size_t)(s->p - v->p);
		return (0);
	case 't':
		return (json_scan_word(s, v, "true", JSON_TRUE));
	case 'f':
		return (json_scan_word(s, v, "false", JSON_FALSE));
	case 'n':
		return (json_scan_word(s, v, "null", JSON_NULL));
	default:
		return (json_scan_number(s, v));
	}
}

/*
 * Read the object that buf starts with (after white space) into o.
 * Returns 0, or -1 with *cause set (o is then empty). o points into
 * buf, which must outlive it; json_obj_free() frees it either way.
 */
int
json_object(const char *buf, size_t len, struct json_obj *o, char **cause)
{
	struct json_scan	s;

	o->m = o->small;
	o->n = 0;
	o->cap = sizeof o->small / sizeof o->small[0];
	s.p = buf;
	s.end = buf + len;
	s.cause = NULL;
	json_ws(&s);
	if (s.p >= s.end || *s.p != '{') {
		xasprintf(cause, "not a JSON object");
		return (-1);
	}
	if (json_scan_group(&s, o, 1) != 0) {
		xasprintf(cause, "not a JSON object: %s at byte %zu", s.cause,
		    (size_t)(s.p - buf));
		free(s.cause);
		json_obj_free(o);
		return (-1);
	}
	return (0);
}

void
json_obj_free(struct json_obj *o)
{
	if (o->m != o->small)
		free(o->m);
	o->m = o->small;
	o->n = 0;
}

/* Unescape the inside of a checked string into out (room for len + 1). */
static size_t
json_unescape(const char *p, size_t len, char *out)
{
	const char	*end = p + len;
	unsigned int	 cp;
	size_t		 used, n = 0;

	while (p < end) {
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		if (json_escape(p + 1, end, &cp, &used) != 0)
			break;			/* checked: cannot happen */
		p += 1 + used;
		if (cp < 0x80)
			out[n++] = (char)cp;
		else if (cp < 0x800) {
			out[n++] = (char)(0xc0 | (cp >> 6));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[n++] = (char)(0xe0 | (cp >> 12));
			out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[n++] = (char)(0xf0 | (cp >> 18));
			out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[n++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	out[n] = '\0';
	return (n);
}

/*
 * Does the string value v equal s? An escape never makes a string longer
 * than its text, so the text is unescaped into a buffer of its own size.
 */
int
json_string_eq(const struct json_val *v, const char *s)
{
	char	buf[128], *tmp;
	size_t	n;
	int	eq;

	if (v == NULL || v->type != JSON_STRING)
		return (0);
	if (!v->escaped)
		return (strlen(s) == v->len && memcmp(v->p, s, v->len) == 0);
	tmp = v->len < sizeof buf ? buf : xmalloc(v->len + 1);
	json_unescape(v->p, v->len, tmp);
	n = strlen(tmp);		/* an escaped NUL ends it */
	eq = strlen(s) == n && memcmp(tmp, s, n) == 0;
	if (tmp != buf)
		free(tmp);
	return (eq);
}

/* The first member named name, or NULL. */
const struct json_val *
json_get(const struct json_obj *o, const char *name)
{
	const struct json_val	*k;
	size_t			 i, len = strlen(name);

	for (i = 0; i < o->n; i++) {
		k = &o->m[i].key;
		if (k->escaped ? json_string_eq(k, name) :
		    k->len == len && memcmp(k->p, name, len) == 0)
			return (&o->m[i].val);
	}
	return (NULL);
}

/*
 * A copy of the string value v, unescaped (an escaped NUL ends it, as it
 * would a C string), or NULL if v is not a string. Caller frees.
 */
char *
json_string(const struct json_val *v)
{
	char	*out;

	if (v == NULL || v->type != JSON_STRING)
		return (NULL);
	out = xmalloc(v->len + 1);
	if (v->escaped)
		json_unescape(v->p, v->len, out);
	else {
		memcpy(out, v->p, v->len);
		out[v->len] = '\0';
	}
	return (out);
}

/*
 * The number value v in *out; -1 if v is not a number. Whole numbers of
 * up to 15 digits are read exactly here, others by strtod().
 */
int
json_number(const struct json_val *v, double *out)
{
	char		 buf[64], *tmp;
	const char	*p;
	double		 d = 0;
	size_t		 i;
	int		 neg;

	if (v == NULL || v->type != JSON_NUMBER)
		return (-1);
	p = v->p;
	neg = *p == '-';
	for (i = (size_t)neg; i < v->len && p[i] >= '0' && p[i] <= '9'; i++)
		;
	if (i == v->len && v->len - (size_t)neg <= 15) {
		for (i = (size_t)neg; i < v->len; i++)
			d = d * 10 + (p[i] - '0');
		*out = neg ? -d : d;
		return (0);
	}
	tmp = v->len < sizeof buf ? buf : xmalloc(v->len + 1);
	memcpy(tmp, p, v->len);
	tmp[v->len] = '\0';
	*out = strtod(tmp, NULL);
	if (tmp != buf)
		free(tmp);
	return (0);
}
