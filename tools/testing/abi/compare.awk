# compare.awk: compare what our header and the system's <linux/kvm.h>
# printed for each item, apply the ukvm-private range rules, print KTAP.
#
# Usage: awk -v dir=DIR -v cap_min=N -v cap_max=N -v nr_min=N -v nr_max=N \
#            -f compare.awk
# DIR holds items (parse.awk), {ours,sys}.out (gen.awk's programs) and
# ours.rejected (keys the compiler refused through our header).
# Exit status 1 if anything failed.

function load(file, val, extra,    line, f)
{
	while ((getline line < file) > 0) {
		split(line, f, "\t")
		val[f[1]] = f[2]
		extra[f[1]] = f[3]
		if (f[1] ~ /^upstream /)
			upstream_keys[++nupstream] = f[1]
	}
	close(file)
}

function load_set(file, set,    line)
{
	while ((getline line < file) > 0)
		set[line] = 1
	close(file)
}

function bad(group, msg)
{
	diag[group] = diag[group] "# " msg "\n"
	failed[group]++
}

# extra[] of a macro holds "ioctl-type ioctl-nr decimal-value".
function word(s, n,    f)
{
	split(s, f, " ")
	return f[n]
}

function hex_range(lo, hi)
{
	return sprintf("%#x..%#x", lo, hi)
}

# Why item k (a kind named name; for a field, name is its type), which
# <linux/kvm.h> lacks, is not a valid ukvm-private item ("" if it is one).
function not_private(k, kind, name,    v, nr, dup)
{
	if (kind == "macro" && name ~ /^KVM_CAP_/) {
		v = word(ours_x[k], 3)
		if (name !~ /^KVM_CAP_UKVM_/)
			return "ukvm's own capabilities are named KVM_CAP_UKVM_*"
		if (v < cap_min || v > cap_max)
			return "value " v " is outside ukvm's capability range " hex_range(cap_min, cap_max)
		dup = private_cap[v]
		private_cap[v] = name
		if (dup != "")
			return "reuses the value of " dup
		return ""
	}
	if (kind == "macro" && item_kind[k] == "ioctl") {
		nr = word(ours_x[k], 2)
		if (name !~ /^UKVM_/)
			return "ukvm's own ioctls are named UKVM_*"
		if (word(ours_x[k], 1) != kvmio || nr < nr_min || nr > nr_max)
			return "ukvm's own ioctls are _IO*(KVMIO, nr) with nr in " hex_range(nr_min, nr_max)
		dup = private_ioctl[ours[k]]
		private_ioctl[ours[k]] = name
		if (dup != "")
			return "reuses the number of " dup
		return ""
	}
	if (kind == "macro" || kind == "enum")
		return name ~ /^UKVM_/ ? "" : "ukvm's own constants are named UKVM_*"
	if (kind == "type")
		return name ~ /^(struct|union) ukvm_/ ? "" : "ukvm's own types are named ukvm_*"
	# A field: fine in a ukvm type, never added to an upstream one.
	if (("type " name) in sys)
		return "upstream " name " has no such member: never change an upstream struct"
	return ""
}

function result(n, group, what, count)
{
	printf "%s", diag[group]
	printf "# %d %s\n", count, what
	printf "%s %d abi: %s\n", failed[group] ? "not ok" : "ok", n, title[group]
}

BEGIN {
	FS = "\t"
	kvmio = 174	# 0xae, KVMIO
	load(dir "/ours.out", ours, ours_x)
	load_set(dir "/ours.rejected", ours_rej)
	load(dir "/sys.out", sys, sys_x)

	while ((getline < (dir "/items")) > 0) {
		kind = $1
		if (kind == "field")
			k = "field " $2 "." $3
		else
			k = kind " " $2
		if (k in seen)
			continue
		seen[k] = 1
		item_kind[k] = $3
		group = kind == "type" || kind == "field" ? "layout" : \
			kind == "macro" && $3 == "ioctl" ? "ioctl" : "const"
		if (k in ours_rej || !(k in ours)) {
			bad(group, k ": does not evaluate through our header")
			count[group]++
		} else if (k in sys) {
			if (ours[k] != sys[k])
				bad(group, k ": ours " ours[k] ", <linux/kvm.h> " sys[k])
			count[group]++
		} else {
			why = not_private(k, kind, $2)
			if (why != "")
				bad("private", k ": not in <linux/kvm.h>; " why)
			count["private"]++
		}
	}

	# Upstream must stay out of ukvm's ranges for them to mean anything.
	for (i = 1; i <= nupstream; i++) {
		k = upstream_keys[i]
		if (k ~ /^upstream cap /) {
			v = word(sys_x[k], 3)
			if (v >= cap_min && v <= cap_max)
				bad("upstream", k " = " v ": inside ukvm's capability range")
			count["upstream"]++
		} else if (k ~ /^upstream ioctl /) {
			nr = word(sys_x[k], 2)
			if (word(sys_x[k], 1) == kvmio && nr >= nr_min && nr <= nr_max)
				bad("upstream", k " = " sys[k] ": inside ukvm's ioctl range")
			count["upstream"]++
		}
	}

	title["ioctl"] = "ioctl numbers equal <linux/kvm.h>'s"
	title["const"] = "constants equal <linux/kvm.h>'s"
	title["layout"] = "struct and union layouts equal <linux/kvm.h>'s"
	title["private"] = "what <linux/kvm.h> lacks is ukvm-private and in range"
	title["upstream"] = "<linux/kvm.h> stays out of ukvm's private ranges"
	print "TAP version 13"
	print "1..5"
	result(1, "ioctl", "ioctl numbers", count["ioctl"])
	result(2, "const", "constants and enumerators", count["const"])
	result(3, "layout", "types and members", count["layout"])
	result(4, "private", "ukvm-private items", count["private"])
	result(5, "upstream", "upstream capabilities and KVMIO ioctls", count["upstream"])
	total = failed["ioctl"] + failed["const"] + failed["layout"] + \
		failed["private"] + failed["upstream"]
	printf "# %d items failed\n", total
	exit total != 0
}
