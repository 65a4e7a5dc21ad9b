/* SPDX-License-Identifier: GPL-2.0 */
/* KTAP output and kselftest exit codes for the host unit tests. */
#ifndef UNIT_KTAP_H
#define UNIT_KTAP_H

#include <stdarg.h>
#include <stdio.h>

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

static inline void ktap_header(int n)
{
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
}

static inline void ktap_result(const char *res, int n, const char *fmt,
			       va_list ap)
{
	printf("%s %d ", res, n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((format(printf, 2, 3)))
static inline void ktap_pass(int n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktap_result("ok", n, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static inline void ktap_fail(int n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktap_result("not ok", n, fmt, ap);
	va_end(ap);
}

#endif
