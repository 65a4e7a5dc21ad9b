/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__GDB_H
#define KVM__GDB_H

#include "kvm/util.h"

struct kvm_cpu;

/*
 * `lkvm run --gdb[=PORT]`: a GDB remote serial protocol stub on
 * 127.0.0.1:PORT (default 1234) for x86-64 guests.  One client at a time;
 * one thread per vCPU (thread id = vCPU index + 1); all-stop: while gdb
 * looks at the guest every vCPU is parked (kvm/pause.h).
 */
#define GDB_DEFAULT_PORT	1234
#define GDB_MAX_PACKET		4096	/* payload bytes, as PacketSize says */

/* The vCPU loop hands KVM_EXIT_DEBUG here; returns when gdb continues. */
void gdb__debug_exit(struct kvm_cpu *cpu);

/*
 * Pure packet framing, for the stub and the host tests.  Looks at the
 * start of buf[0..len) and returns what is there:
 */
enum gdb_frame {
	GDB_FRAME_INCOMPLETE,	/* need more bytes */
	GDB_FRAME_PACKET,	/* $payload#cs, checksum good: payload in out */
	GDB_FRAME_BAD,		/* $...#cs with a wrong checksum, or too long */
	GDB_FRAME_INTERRUPT,	/* 0x03 */
	GDB_FRAME_ACK,		/* + */
	GDB_FRAME_NACK,		/* - */
	GDB_FRAME_JUNK,		/* anything else: one byte to skip */
};

/*
 * *used = bytes consumed (0 only for INCOMPLETE).  A PACKET's payload is
 * unescaped ('}' x -> x ^ 0x20) into out (NUL terminated, *out_len bytes);
 * a packet whose payload exceeds GDB_MAX_PACKET is BAD, and once more than
 * GDB_MAX_PACKET + 4 bytes are buffered without a '#cs' it is BAD too, so
 * a peer cannot make the stub buffer without bound.
 */
enum gdb_frame gdb__frame(const u8 *buf, size_t len, size_t *used,
			  char *out, size_t *out_len);

/* Hex helpers: false on a non-hex digit or overflow. */
bool gdb__parse_hex(const char **p, u64 *v);
bool gdb__hex_to_bin(const char *hex, size_t n, u8 *out);

#endif
