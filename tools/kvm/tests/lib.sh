# SPDX-License-Identifier: GPL-2.0
#
# lib.sh: what the bed scripts that boot Linux under lkvm share (boot.sh,
# control.sh, tools/testing/compat/hidden-caps.sh).  Sourced, not run.
#
# The caller sets TREE and LKVM first.  After test_args "$@" the options
# are in backend, kernel, kver, inner and only; the KTAP helpers count in
# nr and failed and print the tail of $log under a failure.

# test_args USAGE ARGS...: --backend, --kernel, --inner, --only.
test_args() {
	local usage=$1
	shift
	backend=upstream kernel= inner=0 only=
	while [ $# -gt 0 ]; do
		case $1 in
		--backend) backend=$2; shift 2 ;;
		--kernel) kernel=$2; shift 2 ;;
		--inner) inner=1; shift ;;
		--only) only=$2; shift 2 ;;
		*) echo "usage: $usage" >&2; exit 2 ;;
		esac
	done
	[ -n "$kernel" ] || kernel=$(ls -v /boot/vmlinuz-*-amd64 2>/dev/null | tail -n1)
	kver=${kernel##*/vmlinuz-}
}

# skip_all REASON: the whole script skips (KTAP plan 0, exit 4).
skip_all() {
	echo "TAP version 13"
	echo "1..0 # SKIP $1"
	exit 4
}

# need_guest_parts: skip unless lkvm is built and a kernel and busybox are
# at hand (checked outside L1, before the bed boots).
need_guest_parts() {
	[ -x "$LKVM" ] || skip_all "$LKVM not built (make -C tools/kvm)"
	if [ -z "$kernel" ] || [ ! -r "$kernel" ] || ! command -v busybox >/dev/null; then
		skip_all "needs a readable /boot/vmlinuz-* and busybox"
	fi
}

nr=0
failed=0
ok() { nr=$((nr + 1)); echo "ok $nr $1"; }
skip() { nr=$((nr + 1)); echo "ok $nr $1 # SKIP $2"; }
# --only REGEX (for development) runs the matching cases, skips the rest.
want() { [ -z "$only" ] || echo "$1" | grep -Eq "$only"; }
# not_ok NAME: the failure, with $log's head (what went wrong first) and
# tail (the register dump lkvm prints last) when it is long.
not_ok() {
	nr=$((nr + 1)); failed=1; echo "not ok $nr $1"
	[ -f "$log" ] || return 0
	if [ "$(wc -l < "$log")" -le 45 ]; then
		sed 's/^/# /' "$log"
	else
		head -n 15 "$log" | sed 's/^/# /'
		echo "# ..."
		tail -n 30 "$log" | sed 's/^/# /'
	fi
}

# mod_closure MODULE...: the modules with their dependencies first.
mod_closure() {
	local m dep
	for m in "$@"; do
		case " $mods_done " in *" $m "*) continue ;; esac
		for dep in $(modinfo -k "$kver" -F depends "$m" 2>/dev/null | tr ',' ' '); do
			mod_closure "$dep"
		done
		mods_done="$mods_done $m"
		echo "$m"
	done
}

# mod_install DIR MODULE...: the modules and their dependencies,
# uncompressed, as DIR/NAME.ko, and their load order in DIR/order.
mod_install() {
	local dir=$1 m f
	shift
	mods_done=
	for m in $(mod_closure "$@"); do
		f=$(modinfo -k "$kver" -n "$m") || return 1
		case $f in
		*.ko) cp "$f" "$dir/$m.ko" ;;
		*.ko.xz) xz -dc "$f" > "$dir/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" > "$dir/$m.ko" ;;
		*) return 1 ;;
		esac || return 1
		echo "$m" >> "$dir/order"
	done
}
