#!/usr/bin/env bash
# Build the local base image from Debian packages when no registry answers.
#
# The mirror is read from this machine's own apt configuration, so nothing
# here names a host. The result is imported into the engine as BASE_IMAGE.
#
#   compose/base/build-base.sh [--force]
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-bgctl-base:bookworm}
SUITE=${BGCTL_BASE_SUITE:-bookworm}
PACKAGES=${BGCTL_BASE_PACKAGES:-python3,haproxy,ca-certificates}

if [[ "${1:-}" != "--force" ]] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "base image $BASE_IMAGE is present"
    exit 0
fi

mirror() {
    # deb822 sources first (URIs: lines), then the one-line format.
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources \
        | awk '{print $2}' | grep -v security | head -n 1 || true)
    if [[ -z "$uri" ]]; then
        uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | grep -v security | awk '{for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
            | head -n 1 || true)
    fi
    if [[ -z "$uri" ]]; then
        echo "no Debian mirror found in the apt configuration" >&2
        exit 1
    fi
    echo "$uri"
}

if ! command -v debootstrap >/dev/null; then
    echo "debootstrap is missing: run scripts/setup first" >&2
    exit 1
fi
if ((EUID != 0)); then
    echo "building $BASE_IMAGE needs root (debootstrap creates device nodes)" >&2
    exit 1
fi

cleanup() {
    # A debootstrap that fails half-way can leave /proc or /sys mounted in
    # the tree; removing the tree through such a mount would reach the host.
    local mount
    while read -r mount; do
        umount --lazy "$mount" || true
    done < <(findmnt --list --noheadings --output TARGET | grep -F "$root/" | sort -r)
    if findmnt --list --noheadings --output TARGET | grep -qF "$root/"; then
        echo "left $root in place: something is still mounted in it" >&2
        return
    fi
    rm -rf "$root"
}

root=$(mktemp -d "${TMPDIR:-/tmp}/bgctl-base.XXXXXX")
trap cleanup EXIT

mirror_uri=$(mirror)
echo "building $BASE_IMAGE from $SUITE with $PACKAGES"
if ! debootstrap --variant=minbase --include="$PACKAGES" \
    "$SUITE" "$root" "$mirror_uri" >"$root.log" 2>&1; then
    tail -n 20 "$root/debootstrap/debootstrap.log" "$root.log" >&2 2>/dev/null || true
    rm -f "$root.log"
    echo "debootstrap failed; the lines above are the end of its log" >&2
    exit 1
fi
rm -f "$root.log"
# Keep the image small: package lists and caches are not needed at run time.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL bgctl.base=true' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_IMAGE" >/dev/null
echo "built $BASE_IMAGE"
