// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests for lkvm's control channel and gdb stub protocols, and the
 * disassembler of lkvm debug: request parsing (every refusal), a server
 * connection fed garbage over a socketpair, gdb packet framing, and
 * instructions the dump must name.  Built with ASan and UBSan.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/debug.h"
#include "kvm/gdb.h"
#include "ktap.h"

static size_t build(u8 *buf, u32 magic, u16 ver, u16 type, u32 len,
		    u32 flags, const void *payload, size_t plen)
{
	struct ctl_hdr h = { magic, ver, type, len, flags };

	memcpy(buf, &h, sizeof(h));
	if (plen)
		memcpy(buf + sizeof(h), payload, plen);
	return sizeof(h) + plen;
}

static int parse(u32 magic, u16 ver, u16 type, u32 len, u32 flags,
		 const void *payload, size_t plen, struct ctl_msg *m)
{
	u8 buf[256];
	const char *why = NULL;
	size_t n = build(buf, magic, ver, type, len, flags, payload, plen);
	int r = ctl__parse(buf, n, m, &why);

	if (r && !why)
		return -9999;	/* every refusal must say why */
	return r;
}

/* Send raw bytes to a server connection, return its reply status or -1. */
static int serve(const void *bytes, size_t len, bool close_write,
		 char *text, size_t text_size)
{
	struct ctl_hdr h;
	int32_t st;
	int sv[2];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -2;
	if (write(sv[0], bytes, len) != (ssize_t)len)
		return -2;
	if (close_write)
		shutdown(sv[0], SHUT_WR);
	ctl__serve_conn(NULL, sv[1]);	/* no handlers in the host tests */
	close(sv[1]);
	n = read(sv[0], &h, sizeof(h));
	if (n != sizeof(h)) {
		close(sv[0]);
		return -1;
	}
	if (read(sv[0], &st, sizeof(st)) != sizeof(st) ||
	    h.magic != CTL_MAGIC || !(h.type & CTL_REPLY) ||
	    h.len < sizeof(st) || h.len - sizeof(st) >= text_size) {
		close(sv[0]);
		return -3;
	}
	n = read(sv[0], text, h.len - sizeof(st));
	text[n > 0 ? n : 0] = '\0';
	close(sv[0]);
	return st;
}

static void test_parse(void)
{
	struct ctl_balloon b = { CTL_BALLOON_INFLATE, 64 };
	struct ctl_debug d = { CTL_DEBUG_DUMP, -1, 0 };
	struct ctl_stat s = { CTL_STAT_ALL };
	struct ctl_msg m;
	char long_name[CTL_NAME_MAX + 2];

	ktap_check(!parse(CTL_MAGIC, 1, CTL_INFO, 0, 0, NULL, 0, &m) &&
		   m.type == CTL_INFO, "parse_info");
	ktap_check(!parse(CTL_MAGIC, 1, CTL_BALLOON, sizeof(b), 0, &b, sizeof(b), &m) &&
		   m.u.balloon.mib == 64, "parse_balloon");
	ktap_check(!parse(CTL_MAGIC, 1, CTL_STAT, sizeof(s), 0, &s, sizeof(s), &m) &&
		   m.u.stat.flags == CTL_STAT_ALL, "parse_stat");
	ktap_check(!parse(CTL_MAGIC, 1, CTL_DEBUG, sizeof(d), 0, &d, sizeof(d), &m) &&
		   m.u.debug.cpu == -1, "parse_debug");
	ktap_check(parse(0x12345678, 1, CTL_INFO, 0, 0, NULL, 0, &m) == -EPROTO,
		   "bad_magic");
	ktap_check(parse(CTL_MAGIC, 2, CTL_INFO, 0, 0, NULL, 0, &m) == -EPROTONOSUPPORT,
		   "bad_version");
	ktap_check(parse(CTL_MAGIC, 1, CTL_STAT, CTL_MAX_REQ + 1, 0, NULL, 0, &m) == -EMSGSIZE,
		   "oversized");
	ktap_check(parse(CTL_MAGIC, 1, 99, 0, 0, NULL, 0, &m) == -EOPNOTSUPP &&
		   parse(CTL_MAGIC, 1, 0, 0, 0, NULL, 0, &m) == -EOPNOTSUPP &&
		   parse(CTL_MAGIC, 1, CTL_REPLY | CTL_INFO, 0, 0, NULL, 0, &m) == -EOPNOTSUPP,
		   "unknown_type");
	ktap_check(parse(CTL_MAGIC, 1, CTL_STOP, 4, 0, "abcd", 4, &m) == -EINVAL &&
		   parse(CTL_MAGIC, 1, CTL_BALLOON, 4, 0, &b, 4, &m) == -EINVAL,
		   "wrong_payload_size");
	ktap_check(parse(CTL_MAGIC, 1, CTL_BALLOON, sizeof(b), 0, &b, 4, &m) == -EPROTO,
		   "truncated_payload");
	ktap_check(parse(CTL_MAGIC, 1, CTL_INFO, 0, 0, "x", 1, &m) == -EPROTO,
		   "trailing_bytes");
	ktap_check(parse(CTL_MAGIC, 1, CTL_INFO, 0, 1, NULL, 0, &m) == -EINVAL,
		   "header_flags");
	{
		const char *why;
		ktap_check(ctl__parse("LKVM", 4, &m, &why) == -EPROTO &&
			   ctl__parse("", 0, &m, &why) == -EPROTO, "truncated_header");
	}
	b.op = 0;
	ktap_check(parse(CTL_MAGIC, 1, CTL_BALLOON, sizeof(b), 0, &b, sizeof(b), &m) == -EINVAL,
		   "bad_balloon_op");
	s.flags = 2;
	ktap_check(parse(CTL_MAGIC, 1, CTL_STAT, sizeof(s), 0, &s, sizeof(s), &m) == -EINVAL,
		   "bad_stat_flags");
	d.what = 16;
	ktap_check(parse(CTL_MAGIC, 1, CTL_DEBUG, sizeof(d), 0, &d, sizeof(d), &m) == -EINVAL,
		   "bad_debug_op");
	d.what = CTL_DEBUG_DUMP;
	d.cpu = -2;
	ktap_check(parse(CTL_MAGIC, 1, CTL_DEBUG, sizeof(d), 0, &d, sizeof(d), &m) == -EINVAL,
		   "bad_debug_cpu");
	d.cpu = 0;
	d.what = CTL_DEBUG_SYSRQ;
	d.sysrq = 0x1b;
	ktap_check(parse(CTL_MAGIC, 1, CTL_DEBUG, sizeof(d), 0, &d, sizeof(d), &m) == -EINVAL,
		   "bad_sysrq_key");

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ktap_check(ctl__valid_name("guest-1.test_x") && !ctl__valid_name("") &&
		   !ctl__valid_name(".hidden") && !ctl__valid_name("a/b") &&
		   !ctl__valid_name("a b") && !ctl__valid_name(long_name) &&
		   (long_name[CTL_NAME_MAX] = '\0', ctl__valid_name(long_name)),
		   "guest_names");
}

static void test_serve(void)
{
	u8 buf[256];
	char text[256];
	struct ctl_hdr h = { CTL_MAGIC, 1, CTL_STAT, 4, 0 };
	size_t n;

	ktap_check(serve("garbage-garbage!", 16, true, text, sizeof(text)) == EPROTO &&
		   strstr(text, "magic"), "serve_bad_magic");
	h.len = 1 << 20;
	ktap_check(serve(&h, sizeof(h), true, text, sizeof(text)) == EMSGSIZE,
		   "serve_oversized");
	h.len = 4;
	/* The payload never comes: the connection is dropped, no reply. */
	ktap_check(serve(&h, sizeof(h), true, text, sizeof(text)) == -1,
		   "serve_truncated_payload");
	ktap_check(serve("LKV", 3, true, text, sizeof(text)) == -1,
		   "serve_truncated_header");
	n = build(buf, CTL_MAGIC, 1, CTL_INFO, 0, 0, NULL, 0);
	ktap_check(serve(buf, n, false, text, sizeof(text)) == EOPNOTSUPP,
		   "serve_no_handler");
}

static void test_gdb_frame(void)
{
	char out[GDB_MAX_PACKET + 1];
	size_t used, len;
	static u8 big[GDB_MAX_PACKET + 64];
	const char *p;
	u64 v;

	ktap_check(gdb__frame((const u8 *)"$g#67", 5, &used, out, &len) == GDB_FRAME_PACKET &&
		   used == 5 && len == 1 && !strcmp(out, "g"), "gdb_packet");
	ktap_check(gdb__frame((const u8 *)"$g#68", 5, &used, out, &len) == GDB_FRAME_BAD &&
		   used == 5, "gdb_bad_checksum");
	ktap_check(gdb__frame((const u8 *)"$g#6", 4, &used, out, &len) == GDB_FRAME_INCOMPLETE &&
		   gdb__frame((const u8 *)"$mff", 4, &used, out, &len) == GDB_FRAME_INCOMPLETE,
		   "gdb_incomplete");
	ktap_check(gdb__frame((const u8 *)"\x03", 1, &used, out, &len) == GDB_FRAME_INTERRUPT &&
		   gdb__frame((const u8 *)"+", 1, &used, out, &len) == GDB_FRAME_ACK &&
		   gdb__frame((const u8 *)"-", 1, &used, out, &len) == GDB_FRAME_NACK &&
		   gdb__frame((const u8 *)"x$", 2, &used, out, &len) == GDB_FRAME_JUNK &&
		   used == 1, "gdb_single_bytes");
	/* X packet with an escaped '#': "X0,1:" then 0x7d 0x03 ('#' ^ 0x20) */
	ktap_check(gdb__frame((const u8 *)"$X0,1:}\x03#9f", 11, &used, out, &len) == GDB_FRAME_PACKET &&
		   len == 6 && out[5] == '#', "gdb_escape");
	ktap_check(gdb__frame((const u8 *)"$ab}#0a", 7, &used, out, &len) == GDB_FRAME_BAD,
		   "gdb_escape_at_end");
	ktap_check(gdb__frame((const u8 *)"$ab$g#67", 8, &used, out, &len) == GDB_FRAME_BAD &&
		   used == 3, "gdb_cut_packet");
	big[0] = '$';
	memset(big + 1, 'a', sizeof(big) - 1);
	ktap_check(gdb__frame(big, sizeof(big), &used, out, &len) == GDB_FRAME_BAD &&
		   used == sizeof(big), "gdb_unbounded_packet");
	p = "12345678abcdef01x";
	ktap_check(gdb__parse_hex(&p, &v) && v == 0x12345678abcdef01ULL && *p == 'x',
		   "gdb_hex");
	p = "12345678abcdef012";
	ktap_check(!gdb__parse_hex(&p, &v), "gdb_hex_overflow");
	p = "";
	ktap_check(!gdb__parse_hex(&p, &v), "gdb_hex_empty");
}

static bool dis(const char *hex, u64 rip, const char *want, unsigned int want_len)
{
	struct kvm_sregs s = { 0 };
	u8 bytes[16] = { 0 };
	size_t n = strlen(hex) / 2;
	char text[128];
	unsigned int len;

	s.cr0 = 0x80000011;
	s.efer = 0x500;		/* LME | LMA */
	s.cs.l = 1;
	gdb__hex_to_bin(hex, n, bytes);
	len = disasm__one(bytes, n, &s, 0x2, rip, text, sizeof(text));
	if (len != want_len || strcmp(text, want)) {
		printf("# %s: got '%s' (%u), want '%s' (%u)\n", hex, text,
		       len, want, want_len);
		return false;
	}
	return true;
}

static void test_disasm(void)
{
	ktap_check(dis("ebfe", 0x401002, "jmp    0x401002", 2), "disasm_jmp_self");
	ktap_check(dis("e800000000", 0xffffffff81000000ULL, "call   0xffffffff81000005", 5) &&
		   dis("0f8410000000", 0x1000, "je     0x1016", 6) &&
		   dis("75f0", 0x1000, "jne    0xff2", 2), "disasm_branches");
	ktap_check(dis("f4", 0, "hlt", 1) && dis("fb", 0, "sti", 1) &&
		   dis("0f01d9", 0, "vmmcall", 3) && dis("0f05", 0, "syscall", 2) &&
		   dis("cc", 0, "int3", 1) && dis("c3", 0, "ret", 1),
		   "disasm_system");
	ktap_check(dis("ffd0", 0, "call   rax", 2) &&
		   dis("ff2500100000", 0, "jmp    QWORD PTR [rip+0x1000]", 6),
		   "disasm_indirect");
	ktap_check(dis("4889d8", 0, "mov    rax,rbx", 3), "disasm_emulated_form");
	ktap_check(dis("0f04", 0, "(bad: #UD)", 0) && dis("d6", 0, "(bad: #UD)", 0), "disasm_undefined");
	ktap_check(dis("0f", 0, "(code not readable)", 0), "disasm_truncated");
}

int main(void)
{
	ktap_plan(42);
	test_parse();
	test_serve();
	test_gdb_frame();
	test_disasm();
	return ktap_exit(42);
}
