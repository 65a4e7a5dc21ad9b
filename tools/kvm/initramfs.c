// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm's own initramfs, for `lkvm run` without -i and `lkvm sandbox`: a
 * newc cpio archive built in memory holding lkvm's init (guest/init.c,
 * linked into lkvm), the kernel modules that init needs to reach the
 * host's root over virtio-9p (taken from the host's /lib/modules/<release>
 * when the kernel does not have them built in), and the init's
 * configuration.  The archive format is the kernel's
 * (Documentation/driver-api/early-userspace/buffer-format.rst).
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "kvm/initramfs.h"

#define CPIO_MAGIC		"070701"
#define CPIO_HDR_LEN		110
#define CPIO_TRAILER		"TRAILER!!!"
#define MAX_MODULES		64
#define CONSOLE_MAJOR		5	/* /dev/console is char 5:1 */
#define CONSOLE_MINOR		1
/* bzImage setup header: kernel_version (boot protocol 2.00+). */
#define HDR_HEADER		0x202
#define HDR_VERSION		0x206
#define HDR_KERNEL_VERSION	0x20e
#define HDR_MAGIC		"HdrS"
#define LINUX_BANNER		"Linux version "

extern const u8 lkvm_guest_init[], lkvm_guest_init_end[];

struct cpio {
	u8 *buf;
	size_t len, cap;
	u32 ino;
};

static void cpio__put(struct cpio *c, const void *data, size_t len)
{
	if (c->len + len + 4 > c->cap) {
		c->cap = MAX(c->cap * 2, c->len + len + 4 + 64 * KiB);
		c->buf = realloc(c->buf, c->cap);
		if (!c->buf)
			die("out of memory building the initramfs");
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
}

static void cpio__pad(struct cpio *c)
{
	static const u8 zero[4];

	cpio__put(c, zero, ALIGN_UP(c->len, 4) - c->len);
}

/* One member: a header, the NUL-terminated name, the data, each 4-aligned. */
static void cpio__add(struct cpio *c, const char *name, u32 mode, u32 rdev,
		      const void *data, size_t size)
{
	char hdr[CPIO_HDR_LEN + 1];

	snprintf(hdr, sizeof(hdr), CPIO_MAGIC
		 "%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->ino, mode, 0, 0, S_ISDIR(mode) ? 2 : 1, 0, (u32)size,
		 0, 0, rdev >> 8, rdev & 0xff, (u32)strlen(name) + 1, 0);
	cpio__put(c, hdr, CPIO_HDR_LEN);
	cpio__put(c, name, strlen(name) + 1);
	cpio__pad(c);
	if (size)
		cpio__put(c, data, size);
	cpio__pad(c);
}

static void cpio__add_file(struct cpio *c, const char *name, u32 perm,
			   const void *data, size_t size)
{
	cpio__add(c, name, S_IFREG | perm, 0, data, size);
}

static int version_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

const char *initramfs__host_kernel(void)
{
	static char *newest;
	glob_t g;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) || !g.gl_pathc)
		die("no kernel given and no /boot/vmlinuz-* on this host: use -k bzImage");
	qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), version_cmp);
	newest = xstrdup(g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return newest;
}

static char *first_word(const u8 *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] > ' ' && s[n] < 0x7f)
		n++;
	return n ? strndup((const char *)s, n) : NULL;
}

char *initramfs__kernel_release(const u8 *kernel, size_t size)
{
	const u8 *banner;

	if (size > HDR_KERNEL_VERSION + 2 &&
	    !memcmp(kernel + HDR_HEADER, HDR_MAGIC, 4)) {
		size_t off = (kernel[HDR_KERNEL_VERSION] |
			      kernel[HDR_KERNEL_VERSION + 1] << 8) + 0x200;

		if (kernel[HDR_KERNEL_VERSION] | kernel[HDR_KERNEL_VERSION + 1] &&
		    off < size)
			return first_word(kernel + off, size - off);
		return NULL;
	}
	/* An uncompressed vmlinux carries linux_banner. */
	banner = memmem(kernel, size, LINUX_BANNER, strlen(LINUX_BANNER));
	if (!banner)
		return NULL;
	banner += strlen(LINUX_BANNER);
	return first_word(banner, kernel + size - banner);
}

/* modules.dep: "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko ...", one a line. */
struct moddep {
	char *path;
	char *deps;
};

struct modules {
	const char *dir;		/* /lib/modules/<release> */
	char *text;			/* modules.dep; dep[] points into it */
	struct moddep *dep;
	int nr_dep;
	const char *wanted[MAX_MODULES];	/* load order, dependencies first */
	int nr_wanted;
};

/* "kernel/net/9p/9pnet_virtio.ko.xz" -> is it module name (- and _ alike)? */
static bool module_is(const char *path, const char *name)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (; *name; base++, name++) {
		char a = *base == '-' ? '_' : *base, b = *name == '-' ? '_' : *name;

		if (a != b)
			return false;
	}
	return *base == '.';
}

static bool modules__read_dep(struct modules *m)
{
	char path[1024];
	size_t size;
	char *text, *line, *save;
	FILE *f;
	int cap = 0;

	snprintf(path, sizeof(path), "%s/modules.dep", m->dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	text = NULL;
	size = 0;
	if (getdelim(&text, &size, '\0', f) < 0) {
		fclose(f);
		free(text);
		return false;
	}
	fclose(f);
	m->text = text;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon = '\0';
		if (m->nr_dep == cap) {
			cap = cap ? cap * 2 : 1024;
			m->dep = realloc(m->dep, cap * sizeof(*m->dep));
			if (!m->dep)
				die("out of memory reading %s", path);
		}
		m->dep[m->nr_dep++] = (struct moddep){ line, colon + 1 };
	}
	return true;
}

static void modules__want_path(struct modules *m, const char *path, int depth);

static void modules__want_entry(struct modules *m, struct moddep *d, int depth)
{
	char *deps, *dep, *save;

	for (int i = 0; i < m->nr_wanted; i++)
		if (!strcmp(m->wanted[i], d->path))
			return;
	if (depth > MAX_MODULES)
		die("%s/modules.dep: dependency loop at %s", m->dir, d->path);
	deps = xstrdup(d->deps);
	for (dep = strtok_r(deps, " \t", &save); dep; dep = strtok_r(NULL, " \t", &save))
		modules__want_path(m, dep, depth + 1);
	free(deps);
	for (int i = 0; i < m->nr_wanted; i++)	/* a dependency may have added it */
		if (!strcmp(m->wanted[i], d->path))
			return;
	if (m->nr_wanted == MAX_MODULES)
		die("more than %d modules needed for the initramfs", MAX_MODULES);
	m->wanted[m->nr_wanted++] = d->path;
}

static void modules__want_path(struct modules *m, const char *path, int depth)
{
	for (int i = 0; i < m->nr_dep; i++)
		if (!strcmp(m->dep[i].path, path)) {
			modules__want_entry(m, &m->dep[i], depth);
			return;
		}
	die("%s/modules.dep names %s but has no line for it", m->dir, path);
}

/* A module not in modules.dep is built in (or missing: init will say). */
static void modules__want(struct modules *m, const char *name)
{
	for (int i = 0; i < m->nr_dep; i++)
		if (module_is(m->dep[i].path, name)) {
			modules__want_entry(m, &m->dep[i], 0);
			return;
		}
	pr_debug("initramfs: no module %s in %s, assuming it is built in",
		 name, m->dir);
}

static void add_modules(struct cpio *c, const struct kvm_config *cfg,
			const char *modules_root, const char *release)
{
	struct modules m = { 0 };
	char dir[512], path[1024], name[512];
	char *order = NULL;
	size_t order_len = 0;
	FILE *of;

	snprintf(dir, sizeof(dir), "%s/%s", modules_root, release);
	m.dir = dir;
	if (!modules__read_dep(&m)) {
		pr_debug("initramfs: no %s/modules.dep, the kernel must have "
			 "virtio_pci, 9p and overlay built in", dir);
		return;
	}
	modules__want(&m, "virtio_pci");
	modules__want(&m, "9pnet_virtio");
	modules__want(&m, "9p");
	modules__want(&m, "overlay");
	if (cfg->console == CONSOLE_VIRTIO)
		modules__want(&m, "virtio_console");
	if (cfg->nr_disks)
		modules__want(&m, "virtio_blk");
	if (cfg->nr_nets)
		modules__want(&m, "virtio_net");
	if (cfg->rng)
		modules__want(&m, "virtio_rng");
	if (cfg->balloon)
		modules__want(&m, "virtio_balloon");

	of = open_memstream(&order, &order_len);
	if (!of)
		die("out of memory building the initramfs");
	for (int i = 0; i < m.nr_wanted; i++) {
		const char *base = strrchr(m.wanted[i], '/');
		size_t size;
		const u8 *data;

		base = base ? base + 1 : m.wanted[i];
		snprintf(path, sizeof(path), "%s/%s", dir, m.wanted[i]);
		data = map_file(path, "kernel module", &size);
		snprintf(name, sizeof(name), "lkvm/modules/%s", base);
		cpio__add_file(c, name, 0644, data, size);
		munmap((void *)data, size);
		fprintf(of, "%s\n", base);
		pr_debug("initramfs: module %s", m.wanted[i]);
	}
	fclose(of);
	cpio__add_file(c, "lkvm/modules/order", 0644, order, order_len);
	free(order);
	free(m.dep);
	free(m.text);
}

/* One "key=value" line of /lkvm/config; values with a newline are left out. */
static void conf(FILE *f, const char *key, const char *value)
{
	if (value && !strchr(value, '\n'))
		fprintf(f, "%s=%s\n", key, value);
}

static void add_config(struct cpio *c, const struct kvm_config *cfg,
		       const char *release)
{
	char *text = NULL, cwd[4096];
	size_t len = 0;
	struct winsize ws;
	bool tty = isatty(STDIN_FILENO);
	FILE *f = open_memstream(&text, &len);

	if (!f)
		die("out of memory building the initramfs");
	conf(f, "root_tag", HOST_ROOT_TAG);
	conf(f, "kver", release);
	conf(f, "console", cfg->console == CONSOLE_VIRTIO ? "hvc0" : "ttyS0");
	conf(f, "hostname", cfg->name ? cfg->name : "lkvm");
	conf(f, "cwd", getcwd(cwd, sizeof(cwd)));
	conf(f, "term", getenv("TERM"));
	conf(f, "path", getenv("PATH"));
	conf(f, "sandbox", cfg->sandbox_argv ? "1" : "0");
	conf(f, "host_tty", tty ? "1" : "0");
	if (tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row) {
		fprintf(f, "rows=%u\ncols=%u\n", ws.ws_row, ws.ws_col);
	}
	fclose(f);
	cpio__add_file(c, "lkvm/config", 0644, text, len);
	free(text);

	if (cfg->sandbox_argv) {
		f = open_memstream(&text, &len);
		if (!f)
			die("out of memory building the initramfs");
		for (char **a = cfg->sandbox_argv; *a; a++)
			fwrite(*a, 1, strlen(*a) + 1, f);
		fclose(f);
		cpio__add_file(c, "lkvm/argv", 0644, text, len);
		free(text);
	}
}

u8 *initramfs__build(const struct kvm_config *cfg, const u8 *kernel,
		     size_t kernel_size, size_t *size)
{
	char *release = initramfs__kernel_release(kernel, kernel_size);
	/* Not a kernel at all: the loader says so later, in one line. */
	bool kernel_like = kernel_size > HDR_HEADER + 4 &&
		(!memcmp(kernel + HDR_HEADER, HDR_MAGIC, 4) ||
		 !memcmp(kernel, "\177ELF", 4));
	u8 *archive;

	if (!release && kernel_like)
		pr_warn("cannot tell the release of kernel %s: no modules "
			"in the initramfs", cfg->kernel);
	archive = initramfs__build_for(cfg, "/lib/modules", release, size);
	free(release);
	return archive;
}

u8 *initramfs__build_for(const struct kvm_config *cfg,
			 const char *modules_root, const char *release,
			 size_t *size)
{
	struct cpio c = { 0 };

	cpio__add(&c, "dev", S_IFDIR | 0755, 0, NULL, 0);
	/* The kernel opens init's stdio on /dev/console before /init runs. */
	cpio__add(&c, "dev/console", S_IFCHR | 0600,
		  CONSOLE_MAJOR << 8 | CONSOLE_MINOR, NULL, 0);
	cpio__add(&c, "lkvm", S_IFDIR | 0755, 0, NULL, 0);
	cpio__add(&c, "lkvm/modules", S_IFDIR | 0755, 0, NULL, 0);
	cpio__add_file(&c, "init", 0755, lkvm_guest_init,
		       lkvm_guest_init_end - lkvm_guest_init);
	if (release)
		add_modules(&c, cfg, modules_root, release);
	add_config(&c, cfg, release ? release : "unknown");
	cpio__add(&c, CPIO_TRAILER, 0, 0, NULL, 0);
	pr_debug("initramfs: %zu KiB, kernel release %s", c.len / 1024,
		 release ? release : "unknown");
	*size = c.len;
	return c.buf;
}
