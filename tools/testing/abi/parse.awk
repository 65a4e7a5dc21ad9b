# parse.awk: list the ABI items a kvm.h-style header defines.
#
# Usage: cc -E -dD HEADER | awk -v header=HEADER -f parse.awk
# Reading the preprocessor's output resolves #if and expands helper macros,
# and -dD keeps the #defines in place; line markers tell the header's own
# lines from those of the headers it includes.
#
# Output, one item per line, fields separated by tabs:
#   macro  NAME  ioctl|const|flag    object-like #define (flag: no value)
#   enum   NAME                      enumerator
#   type   struct TAG                struct or union with a tag
#   field  struct TAG  PATH  plain|flex|bits
# PATH is what offsetof() takes: "io.port", "redirtbl[0].fields.mask".
# Function-like macros and the include guard are skipped.  Members of
# anonymous structs and unions belong to the enclosing type; an array of
# an unnamed struct is described through its element 0.

# The include guard: the #ifndef that is the header's first directive.
function find_guard(path,    line)
{
	while ((getline line < path) > 0)
		if (line ~ /^[ \t]*#/) {
			if (line ~ /^[ \t]*#[ \t]*ifndef[ \t]/) {
				sub(/^[ \t]*#[ \t]*ifndef[ \t]+/, "", line)
				sub(/[^A-Za-z0-9_].*$/, "", line)
				guard = line
			}
			break
		}
	close(path)
}

function define(s,    name, val, kind)
{
	sub(/^#define[ \t]+/, "", s)
	match(s, /^[A-Za-z_][A-Za-z0-9_]*/)
	name = substr(s, 1, RLENGTH)
	val = substr(s, RLENGTH + 1)
	if (val ~ /^\(/ || name == guard)
		return
	gsub(/^[ \t]+|[ \t]+$/, "", val)
	if (val == "")
		kind = "flag"
	else if (val ~ /(^|[^A-Za-z0-9_])_IO(R|W|WR)?[ \t]*\(/)
		kind = "ioctl"
	else
		kind = "const"
	print "macro\t" name "\t" kind
}

function tokenize(s)
{
	while (match(s, /[A-Za-z0-9_]+|[^ \t\r\nA-Za-z0-9_]/)) {
		tok[++ntok] = substr(s, RSTART, RLENGTH)
		s = substr(s, RSTART + RLENGTH)
	}
}

# Drop __attribute__((...)): its words are not member names.
function drop_attributes(    i, n, depth, t)
{
	n = 0
	for (i = 1; i <= ntok; i++) {
		if (tok[i] == "__attribute__") {
			depth = 0
			for (i++; i <= ntok; i++)
				if (tok[i] == "(")
					depth++
				else if (tok[i] == ")" && --depth == 0)
					break
			continue
		}
		t[++n] = tok[i]
	}
	ntok = n
	for (i = 1; i <= n; i++)
		tok[i] = t[i]
}

# mate[i]: index of the bracket matching the one at i.
function pair_brackets(    i, sp, stack)
{
	sp = 0
	for (i = 1; i <= ntok; i++)
		if (tok[i] ~ /^[{([]$/)
			stack[++sp] = i
		else if (tok[i] ~ /^[})\]]$/ && sp > 0) {
			mate[i] = stack[sp]
			mate[stack[sp--]] = i
		}
}

function isident(t)
{
	return t ~ /^[A-Za-z_][A-Za-z0-9_]*$/
}

function isopen(t)
{
	return t == "{" || t == "(" || t == "["
}

# Index of the ';' ending the declaration starting at i (or of cb).
function decl_end(i, cb)
{
	for (; i < cb; i++)
		if (isopen(tok[i]))
			i = mate[i]
		else if (tok[i] == ";")
			return i
	return cb
}

# Split tokens a..b at top-level commas into lo[k]..hi[k]; return k.
function split_commas(a, b, lo, hi,    j, k)
{
	if (a > b)
		return 0
	k = 1
	lo[1] = a
	for (j = a; j <= b; j++)
		if (isopen(tok[j]))
			j = mate[j]
		else if (tok[j] == ",") {
			hi[k] = j - 1
			lo[++k] = j + 1
		}
	hi[k] = b
	return k
}

# The declared name: the word before the first '[' or ':', else the last word.
function decl_name(a, b,    j, name)
{
	name = ""
	for (j = a; j <= b; j++) {
		if (tok[j] == "[" || tok[j] == ":")
			return name
		if (isopen(tok[j]))
			j = mate[j]
		else if (isident(tok[j]))
			name = tok[j]
	}
	return name
}

function decl_form(a, b,    j)
{
	for (j = a; j <= b; j++) {
		if (tok[j] == ":")
			return "bits"
		if (tok[j] == "[" && tok[j + 1] == "]")
			return "flex"
	}
	return "plain"
}

function is_array(a, b,    j)
{
	for (j = a; j <= b; j++)
		if (tok[j] == "[")
			return 1
	return 0
}

function field(type, path, form)
{
	print "field\t" type "\t" path "\t" form
}

function aggregate(type, ob)
{
	print "type\t" type
	members(type, ob, mate[ob], "")
}

# Members of the body ob..cb of type, their paths starting with prefix.
function members(type, ob, cb, prefix,    i, e, nb, n, k, lo, hi, name)
{
	for (i = ob + 1; i < cb; i = e + 1) {
		e = decl_end(i, cb)
		if ((tok[i] == "struct" || tok[i] == "union") &&
		    (tok[i + 1] == "{" || (isident(tok[i + 1]) && tok[i + 2] == "{"))) {
			nb = tok[i + 1] == "{" ? i + 1 : i + 2
			if (nb == i + 2)
				aggregate(tok[i] " " tok[i + 1], nb)
			n = split_commas(mate[nb] + 1, e - 1, lo, hi)
			if (n == 0)
				members(type, nb, mate[nb], prefix)
			for (k = 1; k <= n; k++) {
				name = decl_name(lo[k], hi[k])
				field(type, prefix name, decl_form(lo[k], hi[k]))
				members(type, nb, mate[nb], prefix name \
					(is_array(lo[k], hi[k]) ? "[0]" : "") ".")
			}
		} else {
			n = split_commas(i, e - 1, lo, hi)
			for (k = 1; k <= n; k++) {
				name = decl_name(lo[k], hi[k])
				if (name != "" && name !~ /^(__[us](8|16|32|64)|(un)?signed|char|short|int|long)$/)
					field(type, prefix name, decl_form(lo[k], hi[k]))
			}
		}
	}
}

function enumerators(ob,    n, k, lo, hi)
{
	n = split_commas(ob + 1, mate[ob] - 1, lo, hi)
	for (k = 1; k <= n; k++)
		if (isident(tok[lo[k]]))
			print "enum\t" tok[lo[k]]
}

BEGIN {
	find_guard(header)
}

# Line markers ('# 12 "file"') say which file the lines after them come from.
/^# [0-9]+ "/ {
	file = $3
	if (main == "" && file !~ /^"</)
		main = file
	next
}

file != main {
	next
}

/^#define[ \t]/ {
	define($0)
	next
}

/^#/ {
	next
}

{
	tokenize($0)
}

END {
	drop_attributes()
	pair_brackets()
	for (i = 1; i <= ntok; i++) {
		if ((tok[i] == "struct" || tok[i] == "union") &&
		    isident(tok[i + 1]) && tok[i + 2] == "{") {
			aggregate(tok[i] " " tok[i + 1], i + 2)
			i = mate[i + 2]
		} else if (tok[i] == "enum") {
			j = isident(tok[i + 1]) ? i + 2 : i + 1
			if (tok[j] == "{") {
				enumerators(j)
				i = mate[j]
			}
		} else if (tok[i] == "{") {
			i = mate[i]
		}
	}
}
