#!/bin/sh
# Post-deployment verification, shared by the Jenkins and GitHub Actions
# examples: does live run the very image this pipeline built, and does it
# answer? Run it after the release was promoted.
#
#   verify.sh SERVICE IMAGE
#
# BGCTL_URL and BGCTL_TOKEN (a viewer token is enough) point bgctl at the
# controller; IMAGE is the tag the pipeline built on this machine's engine.
# VERIFY_VERSION, when set, is the text /version must answer with.
# VERIFY_LIVE_URL, when set, is where live answers this script (a stack
# whose ports were moved); else the live endpoint the controller reports.
# VERIFY_MAX_TIME (seconds a request may take, default 5) and VERIFY_RETRIES
# (default 3) bound each smoke request. Exits 0 when every check passed, 1
# with the reason on standard error when one did not.
set -eu

usage="usage: verify.sh SERVICE IMAGE"
service=${1:?$usage}
image=${2:?$usage}
max_time=${VERIFY_MAX_TIME:-5}
retries=${VERIFY_RETRIES:-3}

fail() {
    echo "verify: FAILED: $*" >&2
    exit 1
}

for tool in bgctl docker curl jq; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not on PATH"
done

# 1. Digest check: every live replica runs the image id of the built tag,
#    as the engine reports it through the controller's inventory.
expected=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) ||
    fail "no image \"$image\" on this machine's engine"
inventory=$(bgctl inventory --json) || fail "cannot read the controller's inventory"
found=$(printf '%s' "$inventory" | jq -r --arg service "$service" \
    '.[] | select(.service == $service and .role == "live") | .image_id' | sort -u)
[ -n "$found" ] || fail "service \"$service\" has no live replica"
if [ "$found" != "$expected" ]; then
    ids=$(printf '%s' "$found" | tr '\n' ' ')
    fail "live of \"$service\" runs $ids, but \"$image\" is $expected"
fi
echo "verify: live of $service runs $image ($expected)"

# 2. Smoke checks through the live frontend, bounded in time and tries.
live=${VERIFY_LIVE_URL:-$(bgctl status "$service" --json | jq -r '.endpoints.live')} ||
    fail "cannot read the status of \"$service\""
probe() {
    curl --silent --show-error --fail --max-time "$max_time" \
        --retry "$retries" --retry-delay 1 --retry-connrefused "$live$1"
}
probe /healthz >/dev/null || fail "GET $live/healthz did not answer 2xx"
version=$(probe /version) || fail "GET $live/version did not answer 2xx"
if [ -n "${VERIFY_VERSION:-}" ] && [ "$version" != "$VERIFY_VERSION" ]; then
    fail "GET $live/version answered \"$version\", expected \"$VERIFY_VERSION\""
fi
echo "verify: $live answers /healthz and /version ($version)"
