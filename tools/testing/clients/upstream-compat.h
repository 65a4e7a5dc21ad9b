/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included by build-upstream-selftests.sh into every upstream KVM
 * selftest it builds.  Debian's 6.1 backport of dirty_log_test.c calls
 * TEST_ASSERT_EQ, which the same tree's test_util.h does not define.  The
 * macro expands where it is used, after test_util.h has defined TEST_ASSERT.
 */
#ifndef UPSTREAM_COMPAT_H
#define UPSTREAM_COMPAT_H

#define TEST_ASSERT_EQ(a, b)						\
	TEST_ASSERT((a) == (b), "%s == %s failed: %lld != %lld", #a, #b,	\
		    (long long)(a), (long long)(b))

#endif
