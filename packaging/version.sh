#!/bin/sh
# version.sh prints the Debian version of the package built from the git
# checkout in the current directory; APTSENTINEL_VERSION overrides it.
#
#   tag v1.2.3 on HEAD            -> 1.2.3
#   tag v1.3.0-rc1 on HEAD        -> 1.3.0~rc1
#   3 commits after tag v1.2.3    -> 1.2.3+git20251126.3.abc1234
#   no tag                        -> 0.0~git20251126.142.abc1234
#
# The date is the commit's (UTC), then the commit count, so a later commit
# sorts newer under dpkg --compare-versions even on the same day, and "~"
# sorts before any release (0.0~git... < 0.0 < 1.2.3). No "-": the package
# is native (deb-version(7)).
set -eu

valid() {
	# deb-version(7) upstream version of a native package: starts with a
	# digit; letters, digits, . + ~ only.
	printf '%s\n' "$1" | grep -Eq '^[0-9][A-Za-z0-9.+~]*$'
}

if [ -n "${APTSENTINEL_VERSION:-}" ]; then
	if ! valid "$APTSENTINEL_VERSION"; then
		echo "version.sh: APTSENTINEL_VERSION=$APTSENTINEL_VERSION is not a Debian version (digit first, then letters, digits, . + ~)" >&2
		exit 1
	fi
	echo "$APTSENTINEL_VERSION"
	exit 0
fi

sha=$(git rev-parse --short=7 HEAD)
date=$(TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y%m%d HEAD)
if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null); then
	# A pre-release tag v1.3.0-rc1 becomes 1.3.0~rc1, which sorts before
	# 1.3.0 as it should.
	base=$(printf '%s\n' "${tag#v}" | tr - '~')
	ahead=$(git rev-list --count "$tag..HEAD")
	if [ "$ahead" = 0 ]; then
		version=$base
	else
		version="$base+git$date.$ahead.$sha"
	fi
else
	version="0.0~git$date.$(git rev-list --count HEAD).$sha"
fi
if ! valid "$version"; then
	echo "version.sh: tag $tag does not give a Debian version ($version)" >&2
	exit 1
fi
echo "$version"
