/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for proc_words() (worker/proc.c): which commands an agent
 * executes itself, and their words, and which must go to /bin/sh -c
 * because the shell would give some byte or word of them a meaning.
 * What the child then does with the words is tested end to end by
 * tests/integration/t_direct_exec.sh against the shell's own behaviour.
 */

#include <stdlib.h>
#include <string.h>

#include "worker.h"
#include "test.h"

/* proc_words(command) gives exactly the n words of want. */
static int
words_are(const char *command, const char *const *want, size_t n)
{
	char	**argv;
	size_t	  i;
	int	  ok = 1;

	if ((argv = proc_words(command)) == NULL)
		return (0);
	for (i = 0; i < n && ok; i++) {
		if (argv[i] == NULL || strcmp(argv[i], want[i]) != 0)
			ok = 0;
	}
	if (ok && argv[n] != NULL)
		ok = 0;
	free(argv);
	return (ok);
}

/* proc_words(command) leaves command to the shell. */
static int
to_shell(const char *command)
{
	char	**argv;

	if ((argv = proc_words(command)) == NULL)
		return (1);
	free(argv);
	return (0);
}

/* Each of the n commands goes to the shell (those that do not are shown). */
static void
all_to_shell(const char *const *cmds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!to_shell(cmds[i])) {
			printf("    direct: \"%s\"\n", cmds[i]);
			CHECK(0);
		}
	}
}

static void
test_plain_words(void)
{
	static const char *const t[] = { "true" };
	static const char *const nx[] = { "npx", "nx", "run", "app:build",
	    "--configuration=production" };
	static const char *const sp[] = { "make", "-j2", "all" };
	static const char *const odd[] = { "./bin/tool", "a,b", "x@y", "50%",
	    "+1", "K=V" };

	CHECK(words_are("true", t, 1));
	CHECK(words_are("npx nx run app:build --configuration=production",
	    nx, 5));
	CHECK(words_are("  make\t-j2   all  ", sp, 3));
	CHECK(words_are("./bin/tool a,b x@y 50% +1 K=V", odd, 6));
}

/* Every byte the shell interprets sends the command to the shell. */
static void
test_shell_bytes(void)
{
	static const char *const cmds[] = {
		"echo $HOME", "a; b", "a && b", "a | b", "a > f", "a < f",
		"a 'q'", "a \"q\"", "a \\x", "a *", "a ?", "a [x]", "a ~",
		"a #c", "a `b`", "(a)", "{ a; }", "a &", "! a", "a\nb",
		"a ^b", "caf\xc3\xa9", "a\rb",
	};

	all_to_shell(cmds, sizeof cmds / sizeof cmds[0]);
}

/* Assignments, reserved words, builtins and empty commands too. */
static void
test_shell_words(void)
{
	static const char *const cmds[] = {
		"", "   ", "FOO=1 make", "cd libs", "exit 3", "export A",
		"set -e", ". ./env", ": nothing", "echo hi", "printf x",
		"pwd", "exec make", "eval make", "umask 077", "wait",
		"if", "for", "while", "test -f x", "kill 1", "read x",
		"ulimit -n", "command -v make", "type make", "trap x",
	};
	static const char *const builtins[] = {
		"while", "until", "unset", "unalias", "umask", "ulimit", "type",
		"trap", "times", "then", "test", "shift", "set", "return",
		"readonly", "read", "pwd", "printf", "local", "kill", "jobs",
		"in", "if", "hash", "getopts", "for", "fi", "fg", "fc",
		"export", "exit", "exec", "eval", "esac", "else", "elif",
		"echo", "done", "do", "continue", "command", "cd", "case",
		"break", "bg", "alias", ":", ".", "wait",
	};

	all_to_shell(cmds, sizeof cmds / sizeof cmds[0]);
	/* Every reserved word and builtin the agent leaves to the shell. */
	all_to_shell(builtins, sizeof builtins / sizeof builtins[0]);
	/* Only the first word counts. */
	CHECK(!to_shell("make cd exit"));
}

int
main(void)
{
	TEST_RUN(test_plain_words);
	TEST_RUN(test_shell_bytes);
	TEST_RUN(test_shell_words);
	return (test_exit());
}
