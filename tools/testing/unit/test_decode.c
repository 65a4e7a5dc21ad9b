// SPDX-License-Identifier: GPL-2.0
/*
 * Decoder vs. objdump: random and structured byte strings in 64-, 32- and
 * 16-bit mode are decoded by x86_decode_bytes() and by binutils objdump
 * (one run per mode over an ELF object with a symbol per case).
 *
 * Agreement rules, per case:
 *  - both decode it: same length; for emulated instructions that objdump
 *    prints without stray prefixes, the same Intel-syntax text;
 *  - we raise #UD/#GP: objdump must not decode it either;
 *  - objdump rejects it: we must not emulate it (decoding the length of
 *    something objdump does not know is fine: it is reported, not run).
 *
 * Usage: test_decode [cases-per-mode] (default 350000, 3 modes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../arch/x86/kvm/emulate.h"
#include "elfobj.h"
#include "ktap.h"
#include "rng.h"

#define MAX_REPORT	40

struct tcase {
	uint8_t bytes[X86_MAX_INSN_LEN];
	uint8_t our_len;	/* 0 = we fault */
	uint8_t our_vec;
	uint8_t emulated;
	uint32_t off;		/* offset in .text */
	uint32_t obj_len;	/* objdump's length, 0 = not found */
	char *obj_text;
	int obj_prefix_lines;
};

struct mode_desc {
	enum x86_cpu_mode mode;
	const char *name;
	const char *objdump_mode;
};

static const struct mode_desc modes[] = {
	{ X86_MODE_LONG64, "64", "x86-64" },
	{ X86_MODE_PROT32, "32", "i386" },
	{ X86_MODE_PROT16, "16", "i8086" },
};

static const uint8_t legacy_prefixes[] = {
	0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65,
};

/* Opcodes the emulator handles, to weight the structured cases. */
static const uint8_t hot_one[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x10,
	0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x38, 0x39,
	0x3a, 0x3b, 0x3c, 0x3d, 0x63, 0x6c, 0x6d, 0x6e, 0x6f, 0x80, 0x81,
	0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
	0x8e, 0x8f, 0x90, 0x91, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
	0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb8,
	0xc0, 0xc1, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xe4, 0xe5, 0xe6,
	0xe7, 0xec, 0xed, 0xee, 0xef, 0xf6, 0xf7, 0xfe, 0xff, 0x50, 0x58,
	0x68, 0x6a, 0x69, 0x6b, 0x98, 0x99, 0xf8, 0xf9, 0xfc, 0xfd, 0xf5,
};

static const uint8_t hot_two[] = {
	0x00, 0x01, 0x06, 0x08, 0x09, 0x20, 0x21, 0x22, 0x23, 0x1f, 0x40,
	0x44, 0x4f, 0x90, 0x94, 0x9f, 0xa3, 0xab, 0xaf, 0xb0, 0xb1, 0xb3,
	0xb6, 0xb7, 0xba, 0xbb, 0xbe, 0xbf, 0xc0, 0xc1,
};

static void gen_case(struct rng *r, const struct mode_desc *m,
		     uint8_t *b)
{
	unsigned int i = 0, n, kind = rng_u32(r) % 8;

	for (n = 0; n < X86_MAX_INSN_LEN; n++)
		b[n] = rng_u32(r);
	if (kind < 2)
		return;		/* fully random */

	n = rng_u32(r) % 4;
	if (kind == 7)
		n = rng_u32(r) % 16;	/* prefix storms */
	while (n-- && i < X86_MAX_INSN_LEN)
		b[i++] = legacy_prefixes[rng_u32(r) % sizeof(legacy_prefixes)];
	if (m->mode == X86_MODE_LONG64 && (rng_u32(r) & 1) &&
	    i < X86_MAX_INSN_LEN)
		b[i++] = 0x40 | (rng_u32(r) & 15);
	if (i >= X86_MAX_INSN_LEN - 3)
		return;
	switch (kind) {
	case 2: case 3: case 7:
		b[i] = hot_one[rng_u32(r) % sizeof(hot_one)];
		if (b[i] >= 0x50 && b[i] < 0x60)
			b[i] |= rng_u32(r) & 7;
		break;
	case 4:
		b[i++] = 0x0f;
		b[i] = hot_two[rng_u32(r) % sizeof(hot_two)];
		break;
	case 5:
		b[i++] = 0x0f;
		break;		/* any two-byte opcode */
	case 6:
		b[i++] = 0x0f;
		b[i] = (rng_u32(r) & 1) ? 0x38 : 0x3a;
		break;
	}
}

static const char *const prefix_words[] = {
	"data16", "data32", "addr16", "addr32", "lock", "rep", "repz",
	"repnz", "repe", "repne", "cs", "ds", "es", "ss", "fs", "gs", "bnd",
	"notrack", "xacquire", "xrelease",
};

static int is_prefix_word(const char *t, size_t n)
{
	size_t i;

	if (n >= 3 && !strncmp(t, "rex", 3))
		return 1;
	for (i = 0; i < sizeof(prefix_words) / sizeof(prefix_words[0]); i++)
		if (strlen(prefix_words[i]) == n && !strncmp(t, prefix_words[i], n))
			return 1;
	return 0;
}

/* objdump output that says "not an instruction" (or only prefixes). */
static int obj_bad(const char *t)
{
	if (strstr(t, "(bad)") || !strncmp(t, ".byte", 5))
		return 1;
	while (*t) {
		size_t n = strcspn(t, " \t");

		if (!is_prefix_word(t, n))
			return 0;
		t += n;
		t += strspn(t, " \t");
	}
	return 1;
}

/* Prefix words objdump prints in front of the mnemonic. */
static int has_prefix_word(const char *t)
{
	return is_prefix_word(t, strcspn(t, " "));
}

/* Normalize objdump text: collapse blanks, drop comments and <sym>. */
static void normalize(const char *in, char *out, size_t size)
{
	size_t o = 0;
	int space = 0;

	for (; *in && o + 1 < size; in++) {
		if (*in == '#' || *in == '<')
			break;
		if (*in == ' ' || *in == '\t') {
			space = 1;
			continue;
		}
		if (space && o)
			out[o++] = ' ';
		space = 0;
		out[o++] = *in;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = 0;
}

static void put_hex(const struct tcase *c, char *buf)
{
	int i, n = c->our_len ? c->our_len : X86_MAX_INSN_LEN;

	buf[0] = 0;
	for (i = 0; i < n; i++)
		sprintf(buf + 3 * i, "%02x ", c->bytes[i]);
}

struct obj_line {
	uint32_t addr;
	char *text;
};

/*
 * objdump prints an ignored REX, or a prefix run it finds too long, as a
 * line of its own and the rest of the instruction on the next line: merge
 * such prefix-only lines into the instruction that follows them.
 */
static void match_case(struct tcase *c, uint32_t end, struct obj_line *l,
		       size_t nl, size_t *li, uint32_t text_len)
{
	int prefixes = 0;

	while (*li < nl && l[*li].addr < c->off)
		(*li)++;
	for (; *li < nl && l[*li].addr < end; (*li)++) {
		uint32_t next = *li + 1 < nl ? l[*li + 1].addr : text_len;

		if (obj_bad(l[*li].text) && !strstr(l[*li].text, "(bad)") &&
		    strncmp(l[*li].text, ".byte", 5)) {
			prefixes = 1;
			continue;
		}
		c->obj_len = next - c->off;
		c->obj_text = l[*li].text;
		c->obj_prefix_lines = prefixes;
		return;
	}
}

static int run_objdump(const char *obj, const struct mode_desc *m,
		       struct tcase *cases, size_t n, size_t text_len)
{
	char cmd[512], line[512];
	struct obj_line *lines = NULL;
	size_t nl = 0, cap = 0, i, li = 0;
	FILE *p;
	int ret;

	snprintf(cmd, sizeof(cmd),
		 "objdump -d -z -w --no-show-raw-insn -M intel,amd64,%s %s",
		 m->objdump_mode, obj);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *end, *text;
		unsigned long addr;

		if (line[0] != ' ')
			continue;
		addr = strtoul(line, &end, 16);
		if (end[0] != ':' || end[1] != '\t')
			continue;
		text = end + 2;
		text[strcspn(text, "\n")] = 0;
		if (nl == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			lines = realloc(lines, cap * sizeof(*lines));
			if (!lines)
				return -1;
		}
		lines[nl].addr = addr;
		lines[nl].text = strdup(text);
		nl++;
	}
	ret = pclose(p) == 0 ? 0 : -1;
	for (i = 0; i < n; i++) {
		uint32_t end = i + 1 < n ? cases[i + 1].off : text_len;

		match_case(&cases[i], end, lines, nl, &li, text_len);
		if (cases[i].obj_text)
			cases[i].obj_text = strdup(cases[i].obj_text);
	}
	for (i = 0; i < nl; i++)
		free(lines[i].text);
	free(lines);
	return ret;
}

static int check_mode(const struct mode_desc *m, size_t n, uint64_t seed,
		      int test_no)
{
	struct tcase *cases = calloc(n, sizeof(*cases));
	uint8_t *text = malloc(n * X86_MAX_INSN_LEN);
	uint32_t *starts = malloc(n * sizeof(*starts));
	size_t i, len = 0, fails = 0, cmp_len = 0, cmp_text = 0, both_bad = 0;
	size_t tolerated = 0;
	char obj[] = "/tmp/ukvm-decode-XXXXXX";
	struct rng r;
	int fd;

	rng_seed(&r, seed);
	fd = mkstemp(obj);
	if (fd < 0 || !cases || !text || !starts) {
		ktap_fail(test_no, "decode_objdump_%s # setup failed", m->name);
		return 1;
	}
	close(fd);
	for (i = 0; i < n; i++) {
		struct tcase *c = &cases[i];
		struct x86_exception exc;
		struct x86_insn insn;
		size_t emit;

		gen_case(&r, m, c->bytes);
		if (x86_decode_bytes(&insn, m->mode, c->bytes,
				     X86_MAX_INSN_LEN, &exc) == X86EMUL_OK) {
			c->our_len = insn.len;
			c->emulated = x86_insn_emulated(&insn);
		} else {
			c->our_vec = exc.vector;
		}
		/* Emit exactly our length: longer objdump decodes show up. */
		emit = c->our_len ? c->our_len : X86_MAX_INSN_LEN;
		c->off = len;
		starts[i] = len;
		memcpy(text + len, c->bytes, emit);
		len += emit;
	}
	if (elfobj_write(obj, text, len, starts, n) ||
	    run_objdump(obj, m, cases, n, len)) {
		unlink(obj);
		ktap_fail(test_no, "decode_objdump_%s # objdump failed",
			  m->name);
		return 1;
	}
	unlink(obj);

	for (i = 0; i < n; i++) {
		struct tcase *c = &cases[i];
		const char *why = NULL;
		char hex[128], ours[128], theirs[256];
		int obad = !c->obj_text || obj_bad(c->obj_text) ||
			   c->obj_len > X86_MAX_INSN_LEN;

		ours[0] = 0;
		if (!c->our_len && obad) {
			both_bad++;
		} else if (!c->our_len && c->our_vec == 13 &&
			   c->obj_prefix_lines) {
			/*
			 * More than 15 bytes: objdump prints a prefix line
			 * and decodes the rest without those prefixes.
			 */
			both_bad++;
		} else if (!c->our_len) {
			why = "we fault, objdump decodes";
		} else if (obad && c->emulated) {
			why = "objdump rejects an instruction we emulate";
		} else if (obad) {
			tolerated++;
			if (getenv("SHOW_OURS_ONLY") && tolerated < 60) {
				put_hex(c, hex);
				printf("# ours only: %s| '%s'\n", hex,
				       c->obj_text ? c->obj_text : "-");
			}
		} else if (c->obj_len != c->our_len) {
			why = "length differs";
		} else {
			cmp_len++;
			normalize(c->obj_text, theirs, sizeof(theirs));
			if (c->emulated && !has_prefix_word(theirs) &&
			    !c->obj_prefix_lines && !getenv("NOTEXT")) {
				struct x86_exception exc;
				struct x86_insn insn;

				x86_decode_bytes(&insn, m->mode, c->bytes,
						 c->our_len, &exc);
				x86_insn_format(&insn, hex, sizeof(hex));
				normalize(hex, ours, sizeof(ours));
				cmp_text++;
				if (strcmp(ours, theirs))
					why = "operands differ";
			}
		}
		if (why) {
			if (fails++ < MAX_REPORT) {
				put_hex(c, hex);
				printf("# %s-bit %s: %s| ours len %u vec %u '%s' | objdump len %u '%s'\n",
				       m->name, why, hex, c->our_len,
				       c->our_vec, ours, c->obj_len,
				       c->obj_text ? c->obj_text : "-");
			}
		}
		free(c->obj_text);
	}
	printf("# %s-bit: %zu cases, %zu lengths and %zu texts compared, %zu rejected by both, %zu decoded by us only (not emulated), %zu failures\n",
	       m->name, n, cmp_len, cmp_text, both_bad, tolerated, fails);
	if (fails)
		ktap_fail(test_no, "decode_objdump_%s", m->name);
	else
		ktap_pass(test_no, "decode_objdump_%s", m->name);
	free(cases);
	free(text);
	free(starts);
	return fails != 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 350000;
	uint64_t seed = rng_env_seed(0x6465636f6465ULL);
	size_t i;
	int fail = 0;

	ktap_header(3);
	printf("# seed %#llx\n", (unsigned long long)seed);
	for (i = 0; i < 3; i++)
		fail |= check_mode(&modes[i], n, seed + i, i + 1);
	return fail ? KSFT_FAIL : KSFT_PASS;
}
