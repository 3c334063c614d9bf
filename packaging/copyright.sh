#!/bin/sh
# copyright.sh prints /usr/share/doc/aptsentinel/copyright for the Go binary
# given: packaging/copyright.in, then one stanza per module compiled into
# the binary (go version -m) and one for the Go standard library, each with
# the module's own license text. A module whose license it cannot name
# fails the build: the package must not ship code under an unknown license.
set -eu
bin=$1
cd "$(dirname "$0")/.."

# license_name prints the DEP-5 short name of the license text in file $1.
license_name() {
	if grep -q 'Apache License' "$1" && grep -q 'Version 2.0' "$1"; then
		echo Apache-2.0
	elif grep -q 'Mozilla Public License' "$1" && grep -q '2\.0' "$1"; then
		echo MPL-2.0
	elif grep -q 'Permission is hereby granted, free of charge' "$1"; then
		echo Expat
	elif grep -q 'Redistribution and use in source and binary forms' "$1" && grep -q 'Neither the name' "$1"; then
		echo BSD-3-clause
	else
		echo "copyright.sh: cannot name the license in $1" >&2
		return 1
	fi
}

# stanza prints a Files stanza for the source files $1 (where `go mod
# vendor` would put them), described by $2, license text file $3.
stanza() {
	name=$(license_name "$3")
	holder=$(grep -m 1 -i '^[#[:space:]]*copyright (c)\|^[#[:space:]]*copyright [0-9]' "$3" | sed 's/^[#[:space:]]*//' || true)
	echo
	echo "Files: $1"
	echo "Comment: $2, compiled into /usr/sbin/aptsentinel."
	echo "Copyright: ${holder:-see the license text below}"
	echo "License: $name"
	# Debian policy 12.5: licenses in /usr/share/common-licenses are
	# referred to, not copied (lintian: copyright-file-contains-full-
	# apache-2-license). MPL-2.0 is there only since bullseye, so its text
	# is copied.
	if [ "$name" = Apache-2.0 ]; then
		echo " On Debian systems the full text of the Apache License 2.0 is in"
		echo " /usr/share/common-licenses/Apache-2.0."
		return 0
	fi
	# DEP-5 continuation lines: indented, an empty line is " .".
	sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /' "$3"
}

cat packaging/copyright.in
go version -m "$bin" | awk '$1 == "dep" { print $2, $3 }' | while read -r path ver; do
	dir=$(go list -m -f '{{.Dir}}' "$path@$ver")
	lic=$(find "$dir" -maxdepth 1 -type f \( -iname 'LICENSE*' -o -iname 'COPYING*' \) | sort | head -n 1)
	if [ -z "$lic" ]; then
		echo "copyright.sh: no license file in module $path@$ver ($dir)" >&2
		exit 1
	fi
	stanza "vendor/$path/*" "Go module $path $ver" "$lic"
done
stanza "GOROOT/src/*" "The Go standard library, $(go env GOVERSION)" "$(go env GOROOT)/LICENSE"
