// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of lkvm's initramfs (initramfs.c): the kernel release
 * read from a bzImage header or a vmlinux banner, the newc archive (parsed
 * back here member by member), the module closure over a fake
 * modules.dep in a temporary directory (dependencies first, each once,
 * only the devices configured), the init's config and argv.  Built with
 * ASan and UBSan by `make -C tools/kvm check`.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/initramfs.h"
#include "ktap.h"

#define NR_TESTS	21

extern const u8 lkvm_guest_init[], lkvm_guest_init_end[];

struct member {
	char name[128];
	u32 mode, rdev_major, rdev_minor;
	const u8 *data;
	size_t size;
};

static u32 hex8(const u8 *p)
{
	char buf[9];

	memcpy(buf, p, 8);
	buf[8] = '\0';
	return strtoul(buf, NULL, 16);
}

/*
 * Parse a newc archive into members; false on any malformation: bad
 * magic, member past the end, names without NUL, no trailer.
 */
static int parse_cpio(const u8 *buf, size_t len, struct member *m, int max)
{
	size_t off = 0;
	int n = 0;

	while (off + 110 <= len && n < max) {
		const u8 *h = buf + off;
		u32 namesize, filesize;

		if (memcmp(h, "070701", 6))
			return -1;
		namesize = hex8(h + 94);
		filesize = hex8(h + 54);
		if (!namesize || namesize > sizeof(m[n].name) ||
		    off + 110 + namesize > len || h[110 + namesize - 1])
			return -1;
		memcpy(m[n].name, h + 110, namesize);
		m[n].mode = hex8(h + 14);
		m[n].rdev_major = hex8(h + 78);
		m[n].rdev_minor = hex8(h + 86);
		off = (off + 110 + namesize + 3) & ~3UL;
		if (off + filesize > len)
			return -1;
		m[n].data = buf + off;
		m[n].size = filesize;
		off = (off + filesize + 3) & ~3UL;
		if (!strcmp(m[n].name, "TRAILER!!!"))
			return off == len ? n : -1;
		n++;
	}
	return -1;
}

static const struct member *find(const struct member *m, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}

static bool data_is(const struct member *m, const char *s)
{
	return m && m->size == strlen(s) && !memcmp(m->data, s, m->size);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		die("cannot write %s", path);
}

/* A fake /lib/modules/<release>: 9p needs 9pnet and netfs, netfs needs fscache... */
static void make_modules(const char *root)
{
	static const char *const dirs[] = { "", "/r1", "/r1/kernel",
		"/r1/kernel/net", "/r1/kernel/fs", "/r1/kernel/drivers" };
	char path[512];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		if (mkdir(path, 0755) && i)
			die("mkdir %s", path);
	}
	snprintf(path, sizeof(path), "%s/r1", root);
	write_file(path, "modules.dep",
		   "kernel/drivers/virtio.ko:\n"
		   "kernel/drivers/virtio_ring.ko: kernel/drivers/virtio.ko\n"
		   "kernel/drivers/virtio_pci.ko: kernel/drivers/virtio_ring.ko kernel/drivers/virtio.ko\n"
		   "kernel/net/9pnet.ko:\n"
		   "kernel/net/9pnet_virtio.ko: kernel/net/9pnet.ko kernel/drivers/virtio_ring.ko\n"
		   "kernel/fs/fscache.ko:\n"
		   "kernel/fs/netfs.ko: kernel/fs/fscache.ko\n"
		   "kernel/fs/9p.ko: kernel/net/9pnet.ko kernel/fs/netfs.ko\n"
		   "kernel/drivers/virtio-rng.ko: kernel/drivers/virtio.ko\n"
		   "kernel/drivers/virtio_blk.ko: kernel/drivers/virtio.ko\n");
	/* overlay is "built in": not in modules.dep. */
	static const char *const kos[] = { "drivers/virtio", "drivers/virtio_ring",
		"drivers/virtio_pci", "net/9pnet", "net/9pnet_virtio", "fs/fscache",
		"fs/netfs", "fs/9p", "drivers/virtio-rng", "drivers/virtio_blk" };
	for (size_t i = 0; i < ARRAY_SIZE(kos); i++) {
		char name[64];

		snprintf(name, sizeof(name), "kernel/%s.ko", kos[i]);
		write_file(path, name, kos[i]);
	}
}

static void test_release(void)
{
	u8 *bz = calloc(1, 0x1000);
	static const char banner[] = "junk\0Linux version 6.9.1-test (me@host) #1 SMP\n";
	char *r;

	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x20e] = 0x00;		/* kernel_version: 0x200 + 0x300 */
	bz[0x20f] = 0x03;
	strcpy((char *)bz + 0x500, "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1");
	r = initramfs__kernel_release(bz, 0x1000);
	ktap_check(r && !strcmp(r, "6.1.0-56-amd64"), "release from a bzImage header: %s", r);
	free(r);

	bz[0x20f] = 0x30;		/* points past the end */
	r = initramfs__kernel_release(bz, 0x1000);
	ktap_check(!r, "bzImage kernel_version outside the file: no release");
	free(r);

	bz[0x20e] = bz[0x20f] = 0;	/* no kernel_version */
	r = initramfs__kernel_release(bz, 0x1000);
	ktap_check(!r, "bzImage without kernel_version: no release");
	free(r);

	r = initramfs__kernel_release((const u8 *)banner, sizeof(banner) - 1);
	ktap_check(r && !strcmp(r, "6.9.1-test"), "release from a vmlinux banner: %s", r);
	free(r);

	r = initramfs__kernel_release((const u8 *)"Linux version ", 14);
	ktap_check(!r, "banner with nothing after it: no release");
	free(r);
	free(bz);
}

int main(void)
{
	char root[] = "/tmp/initramfs_test.XXXXXX";
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	struct kvm_config cfg = { .kernel = "bzImage", .rng = true,
				  .sandbox_argv = argv, .name = "tester" };
	struct member m[64];
	const struct member *e;
	size_t size;
	u8 *ar;
	int n;

	ktap_plan(NR_TESTS);
	test_release();

	if (!mkdtemp(root))
		die("mkdtemp");
	make_modules(root);

	ar = initramfs__build_for(&cfg, root, "r1", &size);
	n = parse_cpio(ar, size, m, 64);
	ktap_check(n > 0 && size % 4 == 0, "the archive parses as newc, ends with the trailer (%d members)", n);
	if (n < 0)
		n = 0;
	e = find(m, n, "init");
	ktap_check(e && (e->mode & 0170777) == 0100755 &&
		   e->size == (size_t)(lkvm_guest_init_end - lkvm_guest_init) &&
		   !memcmp(e->data, lkvm_guest_init, e->size), "/init is the guest init, mode 0755");
	e = find(m, n, "dev/console");
	ktap_check(e && (e->mode & 0170000) == 0020000 && e->rdev_major == 5 &&
		   e->rdev_minor == 1, "/dev/console is char 5:1");
	ktap_check(find(m, n, "dev") && find(m, n, "dev") < find(m, n, "dev/console") &&
		   find(m, n, "lkvm/modules") < find(m, n, "lkvm/modules/order"),
		   "directories come before their contents");
	e = find(m, n, "lkvm/modules/order");
	ktap_check(data_is(e, "virtio.ko\nvirtio_ring.ko\nvirtio_pci.ko\n9pnet.ko\n"
			   "9pnet_virtio.ko\nfscache.ko\nnetfs.ko\n9p.ko\nvirtio-rng.ko\n"),
		   "module order: dependencies first, each once, rng configured");
	ktap_check(!find(m, n, "lkvm/modules/virtio_blk.ko"), "no virtio_blk without a disk");
	ktap_check(!find(m, n, "lkvm/modules/overlay.ko"), "overlay, not in modules.dep, is taken as built in");
	ktap_check(data_is(find(m, n, "lkvm/modules/netfs.ko"), "fs/netfs"),
		   "a module's contents are the host file's");
	e = find(m, n, "lkvm/config");
	ktap_check(e && memmem(e->data, e->size, "\nsandbox=1\n", 11) &&
		   memmem(e->data, e->size, "root_tag=" HOST_ROOT_TAG "\n", strlen(HOST_ROOT_TAG) + 10) &&
		   memmem(e->data, e->size, "\nkver=r1\n", 9) &&
		   memmem(e->data, e->size, "\nhostname=tester\n", 17) &&
		   memmem(e->data, e->size, "\nconsole=ttyS0\n", 15),
		   "config: sandbox, root tag, release, host name, console");
	e = find(m, n, "lkvm/argv");
	ktap_check(e && e->size == 13 && !memcmp(e->data, "sh\0-c\0exit 7\0", 13),
		   "argv holds the command exactly");
	free(ar);

	/* lkvm run (no command), virtio console, a disk, no rng. */
	cfg.sandbox_argv = NULL;
	cfg.rng = false;
	cfg.nr_disks = 1;
	cfg.console = CONSOLE_VIRTIO;
	ar = initramfs__build_for(&cfg, root, "r1", &size);
	n = parse_cpio(ar, size, m, 64);
	if (n < 0)
		n = 0;
	ktap_check(!find(m, n, "lkvm/argv"), "no argv without a sandbox command");
	e = find(m, n, "lkvm/config");
	ktap_check(e && memmem(e->data, e->size, "\nsandbox=0\n", 11) &&
		   memmem(e->data, e->size, "\nconsole=hvc0\n", 14),
		   "config: no sandbox, console hvc0");
	e = find(m, n, "lkvm/modules/order");
	ktap_check(e && memmem(e->data, e->size, "virtio_blk.ko\n", 14) &&
		   !memmem(e->data, e->size, "virtio-rng", 10),
		   "a disk brings virtio_blk, no rng without --rng");
	free(ar);

	/* A release without a modules directory: no modules, still an archive. */
	ar = initramfs__build_for(&cfg, root, "no-such-release", &size);
	n = parse_cpio(ar, size, m, 64);
	ktap_check(n > 0 && !find(m, n, "lkvm/modules/order") && find(m, n, "init"),
		   "no modules directory: init and config only");
	free(ar);
	ar = initramfs__build_for(&cfg, root, NULL, &size);
	n = parse_cpio(ar, size, m, 64);
	e = n > 0 ? find(m, n, "lkvm/config") : NULL;
	ktap_check(e && memmem(e->data, e->size, "\nkver=unknown\n", 14),
		   "unknown release: no modules, kver=unknown");
	free(ar);

	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		ktap_check(system(cmd) == 0, "clean up %s", root);
	}
	return ktap_exit(NR_TESTS);
}
