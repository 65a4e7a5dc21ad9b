// SPDX-License-Identifier: GPL-2.0
/*
 * The gdb stub of `lkvm run --gdb[=PORT]`: see kvm/gdb.h.
 *
 * All-stop.  Attaching parks every vCPU; `c`/`s` program every vCPU's
 * KVM_SET_GUEST_DEBUG (breakpoints in DR0-3 + DR7, int3 breakpoints, the
 * single-step flag on the stepping vCPU) and release them.  A vCPU with
 * KVM_EXIT_DEBUG records the event (the first one per stop wins), wakes
 * the stub and parks itself; the stub parks the others and answers with
 * a stop reply.  Memory goes through the guest page tables of the
 * selected vCPU (x86/dump.c).  A breakpoint (Z0) takes a free debug
 * register when KVM has KVM_GUESTDBG_USE_HW_BP, else an int3 byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm/debug.h"
#include "kvm/gdb.h"
#include "kvm/init.h"
#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

#define GDB_MAX_SW_BPS		64
#define GDB_NR_HW_BPS		4	/* DR0-DR3 */
#define X86_INT3		0xcc
#define X86_EXC_DB_VEC		1
#define DR6_BS			(1ULL << 14)	/* single step (APM vol 2, 13.1.1.3) */
#define DR7_RW_SHIFT(i)		(16 + 4 * (i))
#define DR7_LEN_SHIFT(i)	(18 + 4 * (i))
#define SIGTRAP_NR		5
#define SIGINT_NR		2
#define RX_BUF			(2 * GDB_MAX_PACKET + 16)

enum hw_type { HW_EXEC = 0, HW_WRITE = 1, HW_ACCESS = 3 };	/* DR7 R/W */

static const char target_xml[] =
	"<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target><architecture>i386:x86-64</architecture></target>";

static struct {
	struct kvm *kvm;
	int listen_fd;
	int fd;			/* the client, or -1 */
	int event_fd;		/* a vCPU had a debug exit */

	pthread_mutex_t lock;	/* protects attached and the event */
	bool attached;
	bool have_event;
	int ev_cpu;
	struct kvm_debug_exit_arch ev;

	/* The stub thread's own state. */
	bool running;
	int own_pauses;
	int g_cpu, c_cpu;	/* Hg / Hc selections (vCPU index) */
	bool hw_ok, sw_ok, blockirq_ok;
	struct { u64 addr; u8 orig; bool used; } sw[GDB_MAX_SW_BPS];
	struct { u64 addr; int type, len; bool used, from_z0; } hw[GDB_NR_HW_BPS];
	u8 rx[RX_BUF];
	size_t rx_len;
	char *last_reply;	/* resent on '-' */
} gdb = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* --- replies ------------------------------------------------------------ */

static void gdb__send_raw(const char *s, size_t len)
{
	if (gdb.fd >= 0)
		while (len) {
			ssize_t n = send(gdb.fd, s, len, MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return;	/* the read side sees the hang-up */
			s += n;
			len -= n;
		}
}

static void gdb__reply(const char *payload)
{
	size_t len = strlen(payload);
	char *pkt = xzalloc(len + 5);
	u8 sum = 0;

	pkt[0] = '$';
	for (size_t i = 0; i < len; i++) {
		pkt[1 + i] = payload[i];
		sum += (u8)payload[i];
	}
	snprintf(pkt + 1 + len, 4, "#%02x", sum);
	gdb__send_raw(pkt, len + 4);
	free(gdb.last_reply);
	gdb.last_reply = pkt;
}

static void put_hex(char *out, const void *data, size_t n)
{
	const u8 *p = data;

	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* --- vCPU state --------------------------------------------------------- */

static struct kvm_cpu *cpu_of(int idx)
{
	return gdb.kvm->cpus[idx];
}

static bool get_state(int idx, struct kvm_regs *r, struct kvm_sregs *s)
{
	return ioctl(cpu_of(idx)->fd, KVM_GET_REGS, r) == 0 &&
	       ioctl(cpu_of(idx)->fd, KVM_GET_SREGS, s) == 0;
}

/*
 * The g packet: gdb's amd64 layout as far as the segment selectors
 * (rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip as 8 bytes, eflags cs ss ds
 * es fs gs as 4); gdb treats the registers after them as unavailable.
 */
#define G_GPRS		17
#define G_SEGS		7	/* eflags + 6 selectors */
#define G_BYTES		(G_GPRS * 8 + G_SEGS * 4)

static void regs_to_g(const struct kvm_regs *r, const struct kvm_sregs *s,
		      char *out)
{
	u64 gprs[G_GPRS] = {
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
		r->rip,
	};
	u32 segs[G_SEGS] = {
		(u32)r->rflags, s->cs.selector, s->ss.selector, s->ds.selector,
		s->es.selector, s->fs.selector, s->gs.selector,
	};

	put_hex(out, gprs, sizeof(gprs));
	put_hex(out + 2 * sizeof(gprs), segs, sizeof(segs));
}

static void g_to_regs(const u8 *bin, struct kvm_regs *r)
{
	u64 gprs[G_GPRS];
	u32 eflags;

	memcpy(gprs, bin, sizeof(gprs));
	memcpy(&eflags, bin + sizeof(gprs), sizeof(eflags));
	r->rax = gprs[0]; r->rbx = gprs[1]; r->rcx = gprs[2]; r->rdx = gprs[3];
	r->rsi = gprs[4]; r->rdi = gprs[5]; r->rbp = gprs[6]; r->rsp = gprs[7];
	r->r8 = gprs[8]; r->r9 = gprs[9]; r->r10 = gprs[10];
	r->r11 = gprs[11]; r->r12 = gprs[12]; r->r13 = gprs[13];
	r->r14 = gprs[14]; r->r15 = gprs[15]; r->rip = gprs[16];
	r->rflags = (r->rflags & ~0xffffffffULL) | eflags;
}

static void cmd_read_regs(void)
{
	char out[2 * G_BYTES + 1];
	struct kvm_regs r;
	struct kvm_sregs s;

	if (!get_state(gdb.g_cpu, &r, &s)) {
		gdb__reply("E05");
		return;
	}
	regs_to_g(&r, &s, out);
	gdb__reply(out);
}

static void cmd_write_regs(const char *hex)
{
	u8 bin[G_BYTES];
	struct kvm_regs r;

	if (strlen(hex) < 2 * (G_GPRS * 8 + 4) ||
	    !gdb__hex_to_bin(hex, G_GPRS * 8 + 4, bin) ||
	    ioctl(cpu_of(gdb.g_cpu)->fd, KVM_GET_REGS, &r) < 0) {
		gdb__reply("E22");
		return;
	}
	g_to_regs(bin, &r);
	gdb__reply(ioctl(cpu_of(gdb.g_cpu)->fd, KVM_SET_REGS, &r) ? "E05" : "OK");
}

/* --- memory -------------------------------------------------------------- */

/* "ADDR,LEN" then sep; LEN at most max. */
static bool parse_addr_len(const char **p, u64 *addr, u64 *len, u64 max)
{
	if (!gdb__parse_hex(p, addr) || **p != ',')
		return false;
	(*p)++;
	return gdb__parse_hex(p, len) && *len <= max;
}

static void cmd_read_mem(const char *p)
{
	u8 buf[GDB_MAX_PACKET / 2];
	char out[GDB_MAX_PACKET + 1];
	struct kvm_sregs s;
	u64 addr, len;
	size_t n;

	if (!parse_addr_len(&p, &addr, &len, sizeof(buf)) || *p) {
		gdb__reply("E22");
		return;
	}
	if (ioctl(cpu_of(gdb.g_cpu)->fd, KVM_GET_SREGS, &s) < 0) {
		gdb__reply("E05");
		return;
	}
	n = debug__read_linear(gdb.kvm, &s, addr, buf, len);
	if (!n && len) {
		gdb__reply("E14");	/* EFAULT */
		return;
	}
	/* gdb sees the guest's bytes, not our int3s. */
	for (int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (gdb.sw[i].used && gdb.sw[i].addr - addr < n)
			buf[gdb.sw[i].addr - addr] = gdb.sw[i].orig;
	put_hex(out, buf, n);
	out[2 * n] = '\0';
	gdb__reply(out);
}

static void cmd_write_mem(const char *p, size_t plen, bool binary)
{
	const char *start = p;
	u8 buf[GDB_MAX_PACKET];
	struct kvm_sregs s;
	u64 addr, len;

	if (!parse_addr_len(&p, &addr, &len, sizeof(buf)) || *p != ':') {
		gdb__reply("E22");
		return;
	}
	p++;
	if (binary) {
		if ((size_t)(p - start) + len != plen) {
			gdb__reply("E22");
			return;
		}
		memcpy(buf, p, len);
	} else if (strlen(p) != 2 * len || !gdb__hex_to_bin(p, len, buf)) {
		gdb__reply("E22");
		return;
	}
	if (ioctl(cpu_of(gdb.g_cpu)->fd, KVM_GET_SREGS, &s) < 0 ||
	    debug__write_linear(gdb.kvm, &s, addr, buf, len) != len) {
		gdb__reply("E14");
		return;
	}
	gdb__reply("OK");
}

/* --- breakpoints --------------------------------------------------------- */

static bool write_byte(u64 addr, u8 *old, u8 val)
{
	struct kvm_sregs s;

	if (ioctl(cpu_of(0)->fd, KVM_GET_SREGS, &s) < 0 ||
	    (old && debug__read_linear(gdb.kvm, &s, addr, old, 1) != 1))
		return false;
	return debug__write_linear(gdb.kvm, &s, addr, &val, 1) == 1;
}

static int hw_insert(u64 addr, int type, int len, bool from_z0)
{
	if (!gdb.hw_ok)
		return -EOPNOTSUPP;
	if ((len != 1 && len != 2 && len != 4 && len != 8) || addr % len)
		return -EINVAL;
	for (int i = 0; i < GDB_NR_HW_BPS; i++)
		if (!gdb.hw[i].used) {
			gdb.hw[i].addr = addr;
			gdb.hw[i].type = type;
			gdb.hw[i].len = type == HW_EXEC ? 1 : len;
			gdb.hw[i].used = true;
			gdb.hw[i].from_z0 = from_z0;
			return 0;
		}
	return -ENOSPC;
}

static int hw_remove(u64 addr, int type, bool from_z0)
{
	for (int i = 0; i < GDB_NR_HW_BPS; i++)
		if (gdb.hw[i].used && gdb.hw[i].addr == addr &&
		    gdb.hw[i].type == type && gdb.hw[i].from_z0 == from_z0) {
			gdb.hw[i].used = false;
			return 0;
		}
	return -ENOENT;
}

/*
 * How Z0 is done: "auto" (a debug register while one is free, else
 * int3), "dr" or "int3"; gdb's `monitor breakpoints KIND` sets it.
 */
static char z0_kind[8] = "auto";

static bool z0_may_use(const char *kind)
{
	return !strcmp(z0_kind, "auto") || !strcmp(z0_kind, kind);
}

static int sw_insert(u64 addr)
{
	if (z0_may_use("dr") && !hw_insert(addr, HW_EXEC, 1, true))
		return 0;
	if (!z0_may_use("int3"))
		return -ENOSPC;
	if (!gdb.sw_ok)
		return -EOPNOTSUPP;
	for (int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (!gdb.sw[i].used) {
			if (!write_byte(addr, &gdb.sw[i].orig, X86_INT3))
				return -EFAULT;
			gdb.sw[i].addr = addr;
			gdb.sw[i].used = true;
			return 0;
		}
	return -ENOSPC;
}

static int sw_remove(u64 addr)
{
	if (!hw_remove(addr, HW_EXEC, true))
		return 0;
	for (int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (gdb.sw[i].used && gdb.sw[i].addr == addr) {
			gdb.sw[i].used = false;
			return write_byte(addr, NULL, gdb.sw[i].orig) ? 0 : -EFAULT;
		}
	return -ENOENT;
}

/* Z/z TYPE,ADDR,KIND */
static void cmd_breakpoint(const char *p, bool insert)
{
	static const int types[] = { [1] = HW_EXEC, [2] = HW_WRITE,
				     [4] = HW_ACCESS };
	u64 type, addr, kind;
	int r;

	if (!gdb__parse_hex(&p, &type) || *p++ != ',' ||
	    !gdb__parse_hex(&p, &addr) || *p++ != ',' ||
	    !gdb__parse_hex(&p, &kind) || (*p && *p != ';')) {
		gdb__reply("E22");
		return;
	}
	/* Type 3 (read watchpoint): x86 only traps reads with writes. */
	if (type > 4 || type == 3) {
		gdb__reply("");
		return;
	}
	if (type == 0)
		r = insert ? sw_insert(addr) : sw_remove(addr);
	else if (insert)
		r = hw_insert(addr, types[type], kind, false);
	else
		r = hw_remove(addr, types[type], false);
	if (r == -EOPNOTSUPP)
		gdb__reply("");
	else
		gdb__reply(r ? "E22" : "OK");
}

static void remove_all_breakpoints(void)
{
	for (int i = 0; i < GDB_MAX_SW_BPS; i++)
		if (gdb.sw[i].used)
			sw_remove(gdb.sw[i].addr);
	memset(gdb.hw, 0, sizeof(gdb.hw));
}

/* --- running and stopping ----------------------------------------------- */

static u64 dr7_value(void)
{
	static const u64 len_bits[9] = { [1] = 0, [2] = 1, [4] = 3, [8] = 2 };
	u64 dr7 = 0;

	for (int i = 0; i < GDB_NR_HW_BPS; i++)
		if (gdb.hw[i].used)
			dr7 |= (1ULL << (2 * i)) |
			       ((u64)gdb.hw[i].type << DR7_RW_SHIFT(i)) |
			       (len_bits[gdb.hw[i].len] << DR7_LEN_SHIFT(i));
	return dr7;
}

static int set_guest_debug(int idx, bool step)
{
	struct kvm_guest_debug dbg = { 0 };
	bool any_sw = false, any_hw = false;

	for (int i = 0; i < GDB_MAX_SW_BPS; i++)
		any_sw |= gdb.sw[i].used;
	for (int i = 0; i < GDB_NR_HW_BPS; i++) {
		any_hw |= gdb.hw[i].used;
		dbg.arch.debugreg[i] = gdb.hw[i].used ? gdb.hw[i].addr : 0;
	}
	if (any_sw || any_hw || step) {
		dbg.control = KVM_GUESTDBG_ENABLE |
			      (any_sw ? KVM_GUESTDBG_USE_SW_BP : 0) |
			      (any_hw ? KVM_GUESTDBG_USE_HW_BP : 0) |
			      (step ? KVM_GUESTDBG_SINGLESTEP : 0) |
			      (step && gdb.blockirq_ok ? KVM_GUESTDBG_BLOCKIRQ : 0);
		dbg.arch.debugreg[7] = dr7_value();
	}
	if (ioctl(cpu_of(idx)->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		return -errno;
	return 0;
}

static void drain_events(void)
{
	u64 v;

	pthread_mutex_lock(&gdb.lock);
	gdb.have_event = false;
	pthread_mutex_unlock(&gdb.lock);
	while (read(gdb.event_fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* Resume the guest; step_cpu >= 0 single-steps that vCPU. */
static bool resume(int step_cpu)
{
	for (int i = 0; i < gdb.kvm->nr_cpus; i++) {
		int r = set_guest_debug(i, i == step_cpu);

		if (r) {
			pr_warn("gdb: KVM_SET_GUEST_DEBUG on vCPU %d: %s", i,
				strerror(-r));
			return false;
		}
	}
	drain_events();
	gdb.running = true;
	kvm__release_self_pauses(gdb.kvm);
	while (gdb.own_pauses) {
		gdb.own_pauses--;
		kvm__resume(gdb.kvm);
	}
	return true;
}

/* Park every vCPU (the stub's own pause); false if the guest stopped. */
static bool stop_all(void)
{
	gdb.own_pauses++;
	gdb.running = false;
	return kvm__pause(gdb.kvm);
}

static void send_stop_reply(int sig, int cpu, const struct kvm_debug_exit_arch *ev)
{
	char out[96];
	int n = snprintf(out, sizeof(out), "T%02x", sig);

	if (ev && ev->exception == X86_EXC_DB_VEC && !(ev->dr6 & DR6_BS))
		for (int i = 0; i < GDB_NR_HW_BPS; i++)
			if ((ev->dr6 & (1ULL << i)) && gdb.hw[i].used &&
			    gdb.hw[i].type != HW_EXEC) {
				n += snprintf(out + n, sizeof(out) - n, "%s:%llx;",
					      gdb.hw[i].type == HW_WRITE ?
					      "watch" : "awatch",
					      (unsigned long long)gdb.hw[i].addr);
				break;
			}
	snprintf(out + n, sizeof(out) - n, "thread:%x;", cpu + 1);
	gdb.g_cpu = gdb.c_cpu = cpu;
	gdb__reply(out);
}

/* A vCPU reported a debug exit while running. */
static void on_event(void)
{
	struct kvm_debug_exit_arch ev;
	bool have = false;
	int cpu = gdb.c_cpu;

	if (!stop_all())
		return;
	pthread_mutex_lock(&gdb.lock);
	if (gdb.have_event) {
		have = true;
		cpu = gdb.ev_cpu;
		ev = gdb.ev;
	}
	pthread_mutex_unlock(&gdb.lock);
	drain_events();
	send_stop_reply(SIGTRAP_NR, cpu, have ? &ev : NULL);
}

void gdb__debug_exit(struct kvm_cpu *cpu)
{
	u64 one = 1;

	pthread_mutex_lock(&gdb.lock);
	if (!gdb.attached) {
		pthread_mutex_unlock(&gdb.lock);
		return;	/* a late exit after detaching: just run on */
	}
	if (!gdb.have_event) {
		gdb.have_event = true;
		gdb.ev_cpu = cpu->id;
		gdb.ev = cpu->run->debug.arch;
	}
	pthread_mutex_unlock(&gdb.lock);
	if (write(gdb.event_fd, &one, sizeof(one)) < 0)
		pr_warn("gdb: cannot wake the stub: %s", strerror(errno));
	kvm_cpu__pause_self(cpu);
}

/* --- the command loop -------------------------------------------------- */

/* A thread id: -1 all, 0 any, else vCPU index + 1.  Returns the index. */
static bool parse_thread(const char *p, int *idx)
{
	u64 v;

	if (!strcmp(p, "-1") || !strcmp(p, "0")) {
		*idx = -1;
		return true;
	}
	if (!gdb__parse_hex(&p, &v) || *p || !v || v > (u64)gdb.kvm->nr_cpus)
		return false;
	*idx = v - 1;
	return true;
}

static void cmd_set_thread(const char *p)
{
	char op = *p++;
	int idx;

	if ((op != 'g' && op != 'c') || !parse_thread(p, &idx)) {
		gdb__reply("E22");
		return;
	}
	if (idx >= 0) {
		if (op == 'g')
			gdb.g_cpu = idx;
		else
			gdb.c_cpu = idx;
	}
	gdb__reply("OK");
}

static void cmd_thread_info(bool first)
{
	char out[16 * 8 + 2];
	int n = 0;

	if (!first) {
		gdb__reply("l");
		return;
	}
	out[n++] = 'm';
	for (int i = 0; i < gdb.kvm->nr_cpus && n < (int)sizeof(out) - 10; i++)
		n += snprintf(out + n, sizeof(out) - n, "%s%x", i ? "," : "",
			      i + 1);
	gdb__reply(out);
}

static void cmd_extra_info(const char *p)
{
	char text[32], out[65];
	int idx;

	if (!parse_thread(p, &idx) || idx < 0) {
		gdb__reply("E22");
		return;
	}
	snprintf(text, sizeof(text), "vCPU %d", idx);
	put_hex(out, text, strlen(text));
	out[2 * strlen(text)] = '\0';
	gdb__reply(out);
}

/* qXfer:features:read:target.xml:OFFSET,LENGTH */
static void cmd_xfer_features(const char *p)
{
	static const char prefix[] = "target.xml:";
	char out[GDB_MAX_PACKET + 2];
	u64 off, len;

	if (strncmp(p, prefix, sizeof(prefix) - 1)) {
		gdb__reply("E00");
		return;
	}
	p += sizeof(prefix) - 1;
	if (!parse_addr_len(&p, &off, &len, GDB_MAX_PACKET - 1) || *p) {
		gdb__reply("E22");
		return;
	}
	if (off >= sizeof(target_xml) - 1) {
		gdb__reply("l");
		return;
	}
	len = MIN(len, sizeof(target_xml) - 1 - off);
	out[0] = off + len < sizeof(target_xml) - 1 ? 'm' : 'l';
	memcpy(out + 1, target_xml + off, len);
	out[1 + len] = '\0';
	gdb__reply(out);
}

/* qRcmd,HEX: `monitor breakpoints auto|dr|int3` (the only command). */
static void cmd_monitor(const char *hex)
{
	char cmd[64] = "", msg[96], out[2 * sizeof(msg) + 1];
	size_t n = strlen(hex) / 2;
	const char *kind;

	if (strlen(hex) % 2 || n >= sizeof(cmd) ||
	    !gdb__hex_to_bin(hex, n, (u8 *)cmd)) {
		gdb__reply("E22");
		return;
	}
	cmd[n] = '\0';
	kind = !strncmp(cmd, "breakpoints ", 12) ? cmd + 12 : NULL;
	if (kind && (!strcmp(kind, "auto") || !strcmp(kind, "dr") ||
		     !strcmp(kind, "int3"))) {
		/* One of the three names above: it fits. */
		memcpy(z0_kind, kind, strlen(kind) + 1);
		snprintf(msg, sizeof(msg), "breakpoints: %s\n", z0_kind);
	} else {
		snprintf(msg, sizeof(msg), "usage: monitor breakpoints "
			 "auto|dr|int3\n");
	}
	put_hex(out, msg, strlen(msg));
	out[2 * strlen(msg)] = '\0';
	gdb__reply(out);
}

static void cmd_query(const char *p)
{
	if (!strncmp(p, "qRcmd,", 6)) {
		cmd_monitor(p + 6);
		return;
	}
	if (!strncmp(p, "qSupported", 10))
		gdb__reply("PacketSize=1000;qXfer:features:read+");
	else if (!strncmp(p, "qXfer:features:read:", 20))
		cmd_xfer_features(p + 20);
	else if (!strcmp(p, "qfThreadInfo"))
		cmd_thread_info(true);
	else if (!strcmp(p, "qsThreadInfo"))
		cmd_thread_info(false);
	else if (!strcmp(p, "qC")) {
		char out[16];

		snprintf(out, sizeof(out), "QC%x", gdb.g_cpu + 1);
		gdb__reply(out);
	} else if (!strcmp(p, "qAttached"))
		gdb__reply("1");
	else if (!strncmp(p, "qThreadExtraInfo,", 17))
		cmd_extra_info(p + 17);
	else if (!strncmp(p, "qSymbol", 7))
		gdb__reply("OK");
	else
		gdb__reply("");
}

/* c/s [ADDR]: resume (at ADDR) continuing, or stepping the Hc vCPU. */
static void cmd_resume(const char *p, bool step)
{
	int cpu = gdb.c_cpu;

	if (*p) {
		struct kvm_regs r;
		u64 addr;

		if (!gdb__parse_hex(&p, &addr) || *p ||
		    ioctl(cpu_of(cpu)->fd, KVM_GET_REGS, &r) < 0) {
			gdb__reply("E22");
			return;
		}
		r.rip = addr;
		if (ioctl(cpu_of(cpu)->fd, KVM_SET_REGS, &r) < 0) {
			gdb__reply("E05");
			return;
		}
	}
	if (!resume(step ? cpu : -1))
		gdb__reply("E05");
	/* The stop reply comes when a vCPU stops. */
}

static void detach(void)
{
	/*
	 * Park the vCPUs first: KVM_SET_GUEST_DEBUG would wait for a vCPU
	 * sitting in KVM_RUN, and int3 bytes are best removed with nobody
	 * executing them.
	 */
	if (gdb.running)
		stop_all();
	remove_all_breakpoints();
	for (int i = 0; i < gdb.kvm->nr_cpus; i++)
		set_guest_debug(i, false);
	pthread_mutex_lock(&gdb.lock);
	gdb.attached = false;
	pthread_mutex_unlock(&gdb.lock);
	drain_events();
	kvm__release_self_pauses(gdb.kvm);
	while (gdb.own_pauses) {
		gdb.own_pauses--;
		kvm__resume(gdb.kvm);
	}
	gdb.running = true;
}

/* Returns false when the client is done. */
static bool handle_packet(const char *p, size_t len)
{
	switch (p[0]) {
	case '?':
		send_stop_reply(SIGTRAP_NR, gdb.g_cpu, NULL);
		break;
	case 'g': cmd_read_regs(); break;
	case 'G': cmd_write_regs(p + 1); break;
	case 'm': cmd_read_mem(p + 1); break;
	case 'M': cmd_write_mem(p + 1, len - 1, false); break;
	case 'X': cmd_write_mem(p + 1, len - 1, true); break;
	case 'Z': cmd_breakpoint(p + 1, true); break;
	case 'z': cmd_breakpoint(p + 1, false); break;
	case 'H': cmd_set_thread(p + 1); break;
	case 'T': {
		int idx;

		gdb__reply(parse_thread(p + 1, &idx) && idx >= 0 ? "OK" : "E22");
		break;
	}
	case 'q': cmd_query(p); break;
	case 'c': cmd_resume(p + 1, false); break;
	case 's': cmd_resume(p + 1, true); break;
	case 'D':
		gdb__reply("OK");
		detach();
		return false;
	case 'k':
		/* The guest is not ours to kill: detach and let it run. */
		detach();
		return false;
	default:
		gdb__reply("");	/* not supported */
	}
	return true;
}

/* Consume what arrived; false when the client is done. */
static bool process_input(void)
{
	char payload[GDB_MAX_PACKET + 1];
	size_t used, plen, off = 0;
	bool alive = true;

	while (alive && off < gdb.rx_len) {
		enum gdb_frame f = gdb__frame(gdb.rx + off, gdb.rx_len - off,
					      &used, payload, &plen);

		if (f == GDB_FRAME_INCOMPLETE)
			break;
		off += used;
		switch (f) {
		case GDB_FRAME_PACKET:
			gdb__send_raw("+", 1);
			if (gdb.running && payload[0] != 'q') {
				/* Only queries are served while running. */
				gdb__reply("E16");
				break;
			}
			alive = handle_packet(payload, plen);
			break;
		case GDB_FRAME_BAD:
			gdb__send_raw("-", 1);
			break;
		case GDB_FRAME_NACK:
			if (gdb.last_reply)
				gdb__send_raw(gdb.last_reply, strlen(gdb.last_reply));
			break;
		case GDB_FRAME_INTERRUPT:
			if (gdb.running && stop_all()) {
				drain_events();
				send_stop_reply(SIGINT_NR, gdb.c_cpu, NULL);
			}
			break;
		default:
			break;
		}
	}
	memmove(gdb.rx, gdb.rx + off, gdb.rx_len - off);
	gdb.rx_len -= off;
	return alive;
}

static void serve_client(void)
{
	bool alive = true;

	gdb.rx_len = 0;
	gdb.g_cpu = gdb.c_cpu = 0;
	pthread_mutex_lock(&gdb.lock);
	gdb.attached = true;
	pthread_mutex_unlock(&gdb.lock);
	/* gdb expects a stopped target when it attaches. */
	if (!stop_all()) {
		detach();
		return;
	}
	while (alive && kvm__stop_cause(gdb.kvm) == KVM_STOP_NONE) {
		struct pollfd pfd[2] = {
			{ .fd = gdb.fd, .events = POLLIN },
			{ .fd = gdb.event_fd, .events = POLLIN },
		};
		ssize_t n;

		if (poll(pfd, gdb.running ? 2 : 1, 200) < 0 && errno != EINTR)
			break;
		if (gdb.running && (pfd[1].revents & POLLIN))
			on_event();
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(gdb.fd, gdb.rx + gdb.rx_len, sizeof(gdb.rx) - gdb.rx_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* gone, maybe mid-packet: the guest runs on */
		gdb.rx_len += n;
		alive = process_input();
	}
	if (alive)
		detach();
}

/* Probe what KVM_SET_GUEST_DEBUG accepts, with every vCPU parked. */
static void probe_debug_caps(void)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE };
	int fd = cpu_of(0)->fd;

	gdb.sw_ok = !ioctl(fd, KVM_SET_GUEST_DEBUG, &(struct kvm_guest_debug){
			.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP });
	gdb.hw_ok = !ioctl(fd, KVM_SET_GUEST_DEBUG, &(struct kvm_guest_debug){
			.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP });
	gdb.blockirq_ok = !ioctl(fd, KVM_SET_GUEST_DEBUG, &(struct kvm_guest_debug){
			.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
				   KVM_GUESTDBG_BLOCKIRQ });
	dbg.control = 0;
	ioctl(fd, KVM_SET_GUEST_DEBUG, &dbg);
	pr_debug("gdb: int3 breakpoints %s, debug registers %s, BLOCKIRQ %s",
		 gdb.sw_ok ? "yes" : "no", gdb.hw_ok ? "yes" : "no",
		 gdb.blockirq_ok ? "yes" : "no");
}

static void *gdb__thread(void *arg)
{
	static bool probed;

	(void)arg;
	pthread_setname_np(pthread_self(), "gdb");
	for (;;) {
		int one = 1;

		gdb.fd = accept4(gdb.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (gdb.fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			pr_warn("gdb: accept: %s", strerror(errno));
			return NULL;
		}
		setsockopt(gdb.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!probed) {
			if (kvm__pause(gdb.kvm)) {
				probe_debug_caps();
				probed = true;
			}
			kvm__resume(gdb.kvm);
		}
		pr_info("gdb: client attached");
		serve_client();
		close(gdb.fd);
		gdb.fd = -1;
		pr_info("gdb: client detached, the guest runs on");
	}
}

static int gdb__init(struct kvm *kvm)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(kvm->cfg->gdb_port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	pthread_t thread;
	int one = 1;

	if (!kvm->cfg->gdb_port)
		return 0;
	if (!kvm->caps.guest_debug)
		die("--gdb: this KVM lacks KVM_CAP_SET_GUEST_DEBUG");
	gdb.kvm = kvm;
	gdb.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	gdb.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (gdb.event_fd < 0 || gdb.listen_fd < 0)
		die_errno("--gdb");
	setsockopt(gdb.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(gdb.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(gdb.listen_fd, 1) < 0)
		die_errno("--gdb: cannot listen on 127.0.0.1:%u",
			  kvm->cfg->gdb_port);
	if (pthread_create(&thread, NULL, gdb__thread, NULL))
		die("--gdb: cannot start the stub thread");
	pthread_detach(thread);
	pr_info("gdb: listening on 127.0.0.1:%u", kvm->cfg->gdb_port);
	return 0;
}
lkvm_init(INIT_LATE, gdb__init);
