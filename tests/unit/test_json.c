/* dteq: self-hosted distributed task execution over Redis. */

/*
 * common/json.c, the in-place object reader of the hot path: what it
 * accepts and refuses (RFC 8259: escapes, surrogate pairs, numbers,
 * nesting, control characters), that members are found as cJSON finds
 * them (the first of a name; escaped names), that objects of any size
 * are read, and, on thousands of random objects printed by cJSON, that
 * every member's value reads back as cJSON reads it.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dteq.h"
#include "test.h"

/* Read s (a C string) as an object; 0 or -1. */
static int
parse(const char *s, struct json_obj *o)
{
	char	*cause = NULL;
	int	 rc;

	rc = json_object(s, strlen(s), o, &cause);
	if (rc != 0)
		CHECK(cause != NULL && strncmp(cause, "not a JSON object",
		    17) == 0);
	else
		CHECK(cause == NULL);
	free(cause);
	return (rc);
}

/* s is refused. */
static void
refused(const char *s)
{
	struct json_obj	o;

	if (parse(s, &o) == 0) {
		printf("    accepted: %s\n", s);
		CHECK(0);
		json_obj_free(&o);
	}
}

/* Member name of s read as a string is want. */
static void
string_is(const char *s, const char *name, const char *want)
{
	struct json_obj	 o;
	char		*got;

	CHECK(parse(s, &o) == 0);
	got = json_string(json_get(&o, name));
	CHECK_STREQ(got, want);
	CHECK(json_string_eq(json_get(&o, name), want));
	free(got);
	json_obj_free(&o);
}

static void
test_strings(void)
{
	string_is("{\"a\":\"plain\"}", "a", "plain");
	string_is("{\"a\":\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\"}", "a",
	    "q\"b\\s/n\nt\tr\rb\bf\f");
	string_is("{\"a\":\"\\u00e9\\u20AC\"}", "a", "\xc3\xa9\xe2\x82\xac");
	string_is("{\"a\":\"\\ud83d\\ude00!\"}", "a", "\xf0\x9f\x98\x80!");
	string_is("{\"a\":\"\xc3\xa9 raw\"}", "a", "\xc3\xa9 raw");
	string_is("{\"a\":\"\"}", "a", "");
	/* An escaped NUL ends the C string, as it does in cJSON. */
	string_is("{\"a\":\"ab\\u0000cd\"}", "a", "ab");

	refused("{\"a\":\"\\x\"}");
	refused("{\"a\":\"\\u12\"}");
	refused("{\"a\":\"\\u12G4\"}");
	refused("{\"a\":\"\\ud83d\"}");		/* high surrogate alone */
	refused("{\"a\":\"\\ud83d\\u0041\"}");
	refused("{\"a\":\"\\ude00\"}");		/* low surrogate alone */
	refused("{\"a\":\"tab\there\"}");	/* raw control character */
	refused("{\"a\":\"open}");
	refused("{\"a\":\"ends with a backslash\\");
}

static void
test_numbers(void)
{
	static const char *ok[] = { "0", "-0", "7", "-12", "1.5", "-0.25",
	    "1e3", "1E+3", "25e-1", "123456789012345", "1234567890123456789",
	    "9007199254740993.5" };
	static const double want[] = { 0, 0, 7, -12, 1.5, -0.25, 1000, 1000,
	    2.5, 123456789012345.0, 1234567890123456789.0,
	    9007199254740993.5 };
	static const char *bad[] = { "01", "+1", "1.", ".5", "1e", "1e+",
	    "-", "--1", "0x10", "1.e3", "NaN", "Infinity" };
	struct json_obj	 o;
	char		 buf[128];
	double		 d;
	size_t		 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(buf, sizeof buf, "{\"n\":%s}", ok[i]);
		CHECK(parse(buf, &o) == 0);
		CHECK(json_number(json_get(&o, "n"), &d) == 0);
		if (d != want[i])
			printf("    %s read as %.17g\n", ok[i], d);
		CHECK(d == want[i]);
		json_obj_free(&o);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(buf, sizeof buf, "{\"n\":%s}", bad[i]);
		refused(buf);
	}
	CHECK(parse("{\"s\":\"1\",\"t\":true}", &o) == 0);
	CHECK(json_number(json_get(&o, "s"), &d) == -1);
	CHECK(json_number(json_get(&o, "t"), &d) == -1);
	CHECK(json_number(json_get(&o, "missing"), &d) == -1);
	CHECK(json_get(&o, "t")->type == JSON_TRUE);
	json_obj_free(&o);
}

static void
test_structure(void)
{
	struct json_obj		 o, in;
	const struct json_val	*v;
	char			*cause = NULL, *s, deep[400];
	size_t			 i, off, depth;

	/* Nested values are checked and skipped; text after is ignored. */
	CHECK(parse(" \n{ \"a\" : [1, {\"b\": [true, false, null]}, \"x\"] ,"
	    "\"o\":{\"k\":\"v\",\"k\":\"later\"}, \"e\": {}, \"l\": [] }"
	    " trailing", &o) == 0);
	CHECK(o.n == 4);
	CHECK(json_get(&o, "a")->type == JSON_ARRAY);
	v = json_get(&o, "o");
	CHECK(v->type == JSON_OBJECT);
	CHECK(json_object(v->p, v->len, &in, &cause) == 0);
	s = json_string(json_get(&in, "k"));	/* the first of a name */
	CHECK_STREQ(s, "v");
	free(s);
	json_obj_free(&in);
	CHECK(json_get(&o, "nope") == NULL);
	json_obj_free(&o);

	/* An escaped member name is found by its unescaped name. */
	string_is("{\"r\\u0075n\":\"r1\"}", "run", "r1");
	string_is("{\"id\":\"first\",\"id\":\"second\"}", "id", "first");

	refused("");
	refused("[1]");
	refused("\"s\"");
	refused("{");
	refused("{\"a\"}");
	refused("{\"a\" 1}");
	refused("{\"a\":1,}");
	refused("{,\"a\":1}");
	refused("{\"a\":1 \"b\":2}");
	refused("{a:1}");
	refused("{\"a\":tru}");
	refused("{\"a\":[1,]}");
	refused("{\"a\":[1 2]}");

	/* The object is level 1, each array one more: 64 levels are read. */
	for (depth = 63; depth <= 64; depth++) {
		off = (size_t)snprintf(deep, sizeof deep, "{\"d\":");
		for (i = 0; i < depth; i++)
			deep[off++] = '[';
		for (i = 0; i < depth; i++)
			deep[off++] = ']';
		deep[off++] = '}';
		deep[off] = '\0';
		if (depth == 63) {
			CHECK(parse(deep, &o) == 0);
			json_obj_free(&o);
		} else
			refused(deep);
	}
}

/* Objects past the inline room grow; every member is kept in order. */
static void
test_many_members(void)
{
	struct json_obj	 o;
	char		 buf[16384], name[16], *s;
	size_t		 off, i;
	double		 d;

	off = (size_t)snprintf(buf, sizeof buf, "{");
	for (i = 0; i < 500; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off,
		    "%s\"m%zu\":%zu", i == 0 ? "" : ",", i, i);
	snprintf(buf + off, sizeof buf - off, "}");
	CHECK(parse(buf, &o) == 0);
	CHECK(o.n == 500);
	for (i = 0; i < 500; i += 37) {
		snprintf(name, sizeof name, "m%zu", i);
		CHECK(json_number(json_get(&o, name), &d) == 0 &&
		    d == (double)i);
	}
	s = json_string(&o.m[499].key);
	CHECK_STREQ(s, "m499");
	free(s);
	json_obj_free(&o);
}

/* A random string: ASCII, controls, quotes, backslashes and UTF-8. */
static void
random_string(char *buf, size_t max)
{
	static const char *bits[] = { "a", "Z", "0", " ", "\"", "\\", "/",
	    "\n", "\t", "\x01", "\x1f", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", ":", "{", "}", "[", "]", "," };
	size_t	n = (size_t)(rand() % 12), i, len = 0, b;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		b = (size_t)rand() % (sizeof bits / sizeof bits[0]);
		if (len + strlen(bits[b]) + 1 >= max)
			break;
		strcat(buf, bits[b]);
		len = strlen(buf);
	}
}

/*
 * Differential: random objects printed by cJSON read back member by
 * member as cJSON reads them.
 */
static void
test_against_cjson(void)
{
	struct json_obj	 o;
	cJSON		*root, *item;
	char		*text, *cause, name[64], val[64], *s;
	double		 d;
	int		 round, k, n, mismatches = 0;

	srand(7);
	for (round = 0; round < 3000; round++) {
		root = cJSON_CreateObject();
		n = rand() % 20;
		for (k = 0; k < n; k++) {
			random_string(name, sizeof name);
			switch (rand() % 6) {
			case 0:
			case 1:
				random_string(val, sizeof val);
				cJSON_AddStringToObject(root, name, val);
				break;
			case 2:
				cJSON_AddNumberToObject(root, name,
				    (double)(rand() % 2000000) - 1000000);
				break;
			case 3:
				cJSON_AddNumberToObject(root, name,
				    ldexp((double)rand(), rand() % 80 - 40));
				break;
			case 4:
				cJSON_AddBoolToObject(root, name, rand() % 2);
				break;
			default:
				item = cJSON_AddObjectToObject(root, name);
				cJSON_AddStringToObject(item, "x", name);
				break;
			}
		}
		text = cJSON_PrintUnformatted(root);
		cause = NULL;
		if (json_object(text, strlen(text), &o, &cause) != 0) {
			printf("    refused %s: %s\n", text, cause);
			mismatches++;
			free(cause);
			goto next;
		}
		cJSON_ArrayForEach(item, root) {
			const struct json_val *v = json_get(&o, item->string);

			/* A repeated name: both find the first. */
			if (cJSON_GetObjectItemCaseSensitive(root,
			    item->string) != item)
				continue;

			if (v == NULL) {
				if (mismatches++ < 3)
					printf("    no member \"%s\" in %s\n",
					    item->string, text);
				continue;
			}
			if (cJSON_IsString(item)) {
				s = json_string(v);
				if (s == NULL ||
				    strcmp(s, item->valuestring) != 0) {
					if (mismatches++ < 3)
						printf("    \"%s\": %s\n",
						    item->string, text);
				}
				free(s);
			} else if (cJSON_IsNumber(item)) {
				/* cJSON prints 15 or 17 digits; it reads
				 * its own text back with strtod. */
				cJSON *back = cJSON_Parse(text);
				cJSON *bi = cJSON_GetObjectItemCaseSensitive(
				    back, item->string);

				if (json_number(v, &d) != 0 ||
				    d != bi->valuedouble)
					mismatches++;
				cJSON_Delete(back);
			} else if (cJSON_IsBool(item)) {
				if (v->type != (cJSON_IsTrue(item) ?
				    JSON_TRUE : JSON_FALSE))
					mismatches++;
			} else if (v->type != JSON_OBJECT)
				mismatches++;
		}
		json_obj_free(&o);
next:
		cJSON_free(text);
		cJSON_Delete(root);
	}
	if (mismatches != 0)
		printf("    %d mismatches\n", mismatches);
	CHECK(mismatches == 0);
}

int
main(void)
{
	TEST_RUN(test_strings);
	TEST_RUN(test_numbers);
	TEST_RUN(test_structure);
	TEST_RUN(test_many_members);
	TEST_RUN(test_against_cjson);
	return (test_exit());
}
