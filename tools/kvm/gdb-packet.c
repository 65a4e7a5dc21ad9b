// SPDX-License-Identifier: GPL-2.0
/*
 * GDB remote serial protocol framing (pure: no lkvm state), shared by the
 * stub (gdb.c) and the host tests.  See kvm/gdb.h.
 */
#include <string.h>

#include "kvm/gdb.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool gdb__parse_hex(const char **p, u64 *v)
{
	const char *s = *p;
	u64 x = 0;
	int d, n = 0;

	while ((d = hexval((unsigned char)*s)) >= 0) {
		if (n == 16)
			return false;	/* more than 64 bits */
		x = x << 4 | d;
		s++;
		n++;
	}
	if (!n)
		return false;
	*v = x;
	*p = s;
	return true;
}

bool gdb__hex_to_bin(const char *hex, size_t n, u8 *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)hex[2 * i + 1]);

		if (lo < 0)
			return false;
		out[i] = hi << 4 | lo;
	}
	return true;
}

enum gdb_frame gdb__frame(const u8 *buf, size_t len, size_t *used,
			  char *out, size_t *out_len)
{
	size_t i, n = 0;
	u8 sum = 0;
	int hi, lo;

	*used = 0;
	if (!len)
		return GDB_FRAME_INCOMPLETE;
	switch (buf[0]) {
	case 0x03: *used = 1; return GDB_FRAME_INTERRUPT;
	case '+': *used = 1; return GDB_FRAME_ACK;
	case '-': *used = 1; return GDB_FRAME_NACK;
	case '$': break;
	default: *used = 1; return GDB_FRAME_JUNK;
	}
	for (i = 1; i < len && buf[i] != '#'; i++) {
		if (buf[i] == '$') {
			/* A new packet began: the old one was cut short. */
			*used = i;
			return GDB_FRAME_BAD;
		}
		sum += buf[i];
	}
	if (i == len) {
		if (len > GDB_MAX_PACKET + 4) {
			*used = len;
			return GDB_FRAME_BAD;
		}
		return GDB_FRAME_INCOMPLETE;
	}
	if (i + 2 >= len)
		return GDB_FRAME_INCOMPLETE;
	*used = i + 3;
	hi = hexval(buf[i + 1]);
	lo = hexval(buf[i + 2]);
	if (hi < 0 || lo < 0 || (u8)(hi << 4 | lo) != sum)
		return GDB_FRAME_BAD;
	for (size_t j = 1; j < i; j++) {
		u8 c = buf[j];

		if (c == '}') {
			if (++j == i)
				return GDB_FRAME_BAD;	/* escape at the end */
			c = buf[j] ^ 0x20;
		}
		if (n == GDB_MAX_PACKET)
			return GDB_FRAME_BAD;
		out[n++] = c;
	}
	out[n] = '\0';
	*out_len = n;
	return GDB_FRAME_PACKET;
}
