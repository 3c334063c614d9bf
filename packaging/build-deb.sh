#!/bin/sh
# build-deb.sh builds dist/aptsentinel_<version>_amd64.deb from this git
# checkout: packaging/build-deb.sh (from any directory).
#
# Environment:
#   APTSENTINEL_VERSION  package version (default: packaging/version.sh)
#   APTSENTINEL_DIST     output directory (default: dist in the checkout)
#
# It needs go (1.26) and git; nfpm comes from the Go module proxy, pinned.
set -eu

# nfpm 2.46 and later need modules the proxy no longer serves
# (go.digitalxero.dev); 2.45.2 builds.
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

cd "$(dirname "$0")/.."
root=$(pwd)
version=$(packaging/version.sh)
dist=${APTSENTINEL_DIST:-$root/dist}
mkdir -p "$dist"
build=$(mktemp -d "${TMPDIR:-/tmp}/aptsentinel-deb.XXXXXX")
trap 'rm -rf "$build"' EXIT

# File times in the package are the commit's: the same commit builds the
# same package.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
export SOURCE_DATE_EPOCH

# Static (no cgo, no libc), reproducible (-trimpath, no build id), stripped
# (-s -w: Debian policy 10.1 ships stripped binaries).
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath \
	-ldflags "-s -w -buildid= -X main.version=$version" \
	-o "$build/aptsentinel" ./cmd/aptsentinel

# Debian changelog of a native package (deb-changelog(5)), one entry: the
# commit it was built from.
{
	echo "aptsentinel ($version) unstable; urgency=medium"
	echo
	echo "  * Built from git commit $(git rev-parse --short=12 HEAD):"
	git log -1 --format=%s HEAD | fold -s -w 70 | sed 's/^/    /'
	echo
	echo " -- aptsentinel maintainers <maintainers@aptsentinel.invalid>  $(LC_ALL=C TZ=UTC0 date -u -d "@$SOURCE_DATE_EPOCH" -R)"
} | gzip -9n >"$build/changelog.gz"

gzip -9n <packaging/aptsentinel.8 >"$build/aptsentinel.8.gz"
packaging/copyright.sh "$build/aptsentinel" >"$build/copyright"

out="$dist/aptsentinel_${version}_amd64.deb"
rm -f "$out"
APTSENTINEL_VERSION=$version APTSENTINEL_BUILD=$build \
	go run "$NFPM" package --config nfpm.yaml --packager deb --target "$out" >&2
echo "$out"
