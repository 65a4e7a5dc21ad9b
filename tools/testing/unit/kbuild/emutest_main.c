// SPDX-License-Identifier: GPL-2.0
/*
 * Build check only: proves the emulator and walker sources compile, with
 * the kernel's own flags, into a module.  Loading it prints one decoded
 * instruction.
 */
#include <linux/module.h>

#include "emulate.h"

static int __init emutest_init(void)
{
	static const u8 bytes[] = { 0x48, 0x89, 0x04, 0x25, 0x10, 0, 0x70, 0 };
	struct x86_exception exc;
	struct x86_insn insn;
	char buf[64];

	if (x86_decode_bytes(&insn, X86_MODE_LONG64, bytes, sizeof(bytes),
			     &exc) != X86EMUL_OK)
		return -EINVAL;
	x86_insn_format(&insn, buf, sizeof(buf));
	pr_info("emutest: %s\n", buf);
	return 0;
}

static void __exit emutest_exit(void)
{
}

module_init(emutest_init);
module_exit(emutest_exit);
MODULE_LICENSE("GPL");
