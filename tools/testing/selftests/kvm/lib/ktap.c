// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP runner: each case runs in a forked child; the child reports a skip
 * reason through a shared page and its verdict through its exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define KTAP_REASON_MAX 256
#define KTAP_DEFAULT_TIMEOUT_S 300

/* Shared between parent and the child running a case. */
static char *skip_reason;

/*
 * A few buffers in rotation, so that one message may name two errnos
 * (expected and got).
 */
const char *ktap_errno_name(int err)
{
	static char bufs[4][64];
	static unsigned int next;
	char *buf = bufs[next++ % ARRAY_SIZE(bufs)];
	const char *name = strerrorname_np(err);

	snprintf(buf, sizeof(bufs[0]), "%s (%s)", name ? name : "?", strerror(err));
	return buf;
}

void ktap_print(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

noreturn void ktap_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (skip_reason)
		vsnprintf(skip_reason, KTAP_REASON_MAX, fmt, ap);
	va_end(ap);
	fflush(stdout);
	_exit(KSFT_SKIP);
}

noreturn void ktap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	_exit(KSFT_FAIL);
}

static unsigned int case_timeout(void)
{
	const char *s = getenv("KVM_SELFTEST_TIMEOUT");
	long v = s ? strtol(s, NULL, 0) : 0;

	return v > 0 ? (unsigned int)v : KTAP_DEFAULT_TIMEOUT_S;
}

/* Wait for the child, killing it after timeout_s; return its wait status. */
static int wait_case(pid_t pid, unsigned int timeout_s, bool *timed_out)
{
	struct timespec start, now, nap = { 0, 5 * 1000 * 1000 };
	int status;

	*timed_out = false;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR) {
			perror("waitpid");
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!*timed_out && now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			*timed_out = true;
			kill(pid, SIGKILL);
		}
		nanosleep(&nap, NULL);
	}
}

/* Run one case; return KSFT_PASS, KSFT_FAIL or KSFT_SKIP. */
static int run_case(const struct ktap_case *c, unsigned int timeout_s)
{
	bool timed_out;
	int status;
	pid_t pid;

	skip_reason[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ktap_print("fork: %s", strerror(errno));
		return KSFT_FAIL;
	}
	if (pid == 0) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		c->fn();
		fflush(stdout);
		_exit(KSFT_PASS);
	}

	status = wait_case(pid, timeout_s, &timed_out);
	if (timed_out) {
		ktap_print("%s: timed out after %u s", c->name, timeout_s);
		return KSFT_FAIL;
	}
	if (status == -1)
		return KSFT_FAIL;
	if (WIFSIGNALED(status)) {
		ktap_print("%s: killed by signal %d (%s)", c->name,
			   WTERMSIG(status), strsignal(WTERMSIG(status)));
		return KSFT_FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case KSFT_PASS:
		return KSFT_PASS;
	case KSFT_SKIP:
		return KSFT_SKIP;
	default:
		return KSFT_FAIL;
	}
}

int ktap_run(const struct ktap_case *cases, size_t nr_cases)
{
	unsigned int timeout_s = case_timeout();
	unsigned int pass = 0, fail = 0, skip = 0;
	size_t i;

	skip_reason = mmap(NULL, KTAP_REASON_MAX, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (skip_reason == MAP_FAILED) {
		perror("mmap");
		return KSFT_FAIL;
	}

	printf("TAP version 13\n1..%zu\n", nr_cases);
	for (i = 0; i < nr_cases; i++) {
		switch (run_case(&cases[i], timeout_s)) {
		case KSFT_PASS:
			printf("ok %zu %s\n", i + 1, cases[i].name);
			pass++;
			break;
		case KSFT_SKIP:
			printf("ok %zu %s # SKIP %s\n", i + 1, cases[i].name,
			       skip_reason[0] ? skip_reason : "(no reason given)");
			skip++;
			break;
		default:
			printf("not ok %zu %s\n", i + 1, cases[i].name);
			fail++;
			break;
		}
		fflush(stdout);
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
	       pass, fail, skip);
	fflush(stdout);

	if (fail)
		return KSFT_FAIL;
	if (skip == nr_cases)
		return KSFT_SKIP;
	return KSFT_PASS;
}
