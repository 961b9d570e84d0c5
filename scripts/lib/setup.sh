# Shared set-up for scripts/test and scripts/demo: installs what a fresh machine lacks.
# Sourced, not executed. Idempotent: does nothing when everything is present.

# Debian packages the tests and the demo use (binary name → package).
SUPERDIST_APT_PACKAGES=(
  "ip:iproute2"
  "tc:iproute2"
  "mpv:mpv"
  "ffmpeg:ffmpeg"
  "kamailio:kamailio"
  "systemd-analyze:systemd"
  "systemd-notify:systemd"
  "python3:python3"
  "chromium:chromium"
  "tcpdump:tcpdump"
  "miniupnpd:miniupnpd"
  "nft:nftables"
  "upnpc:miniupnpc"
  # The rights issuer's PostgreSQL store tests start a throwaway cluster (test/support/postgres.ts);
  # initdb lives under /usr/lib/postgresql/<version>/bin, off PATH: pg_ctlcluster (postgresql-common,
  # pulled in by the postgresql package) stands for it.
  "pg_ctlcluster:postgresql"
  # The tracker's Redis registry tests and benchmark start redis-server alone and as a Redis Cluster
  # (test/support/redis.ts); redis-cli (redis-tools, pulled in by redis-server) forms the cluster.
  "redis-server:redis-server"
  "redis-cli:redis-tools"
)

# What scripts/build-image and scripts/test-image need on top (an arm64 rootfs through qemu-user,
# partitions without loop devices), and scripts/test-boot (the image booted under qemu-system-aarch64,
# checked over SSH, fed a live channel made with ffmpeg).
SUPERDIST_IMAGE_APT_PACKAGES=(
  "mmdebstrap:mmdebstrap"
  "arch-test:arch-test"
  "qemu-aarch64-static:qemu-user-static"
  "sfdisk:fdisk"
  "mkfs.vfat:dosfstools"
  "fsck.vfat:dosfstools"
  "mcopy:mtools"
  "mke2fs:e2fsprogs"
  "debugfs:e2fsprogs"
  "unshare:util-linux"
  "python3:python3"
  "systemd-analyze:systemd"
  "qemu-system-aarch64:qemu-system-arm"
  "ssh:openssh-client"
  "ssh-keygen:openssh-client"
  "ffmpeg:ffmpeg"
  "ip:iproute2"
)

# Usage: superdist_install_apt [BINARY:PACKAGE...] (default: SUPERDIST_APT_PACKAGES)
superdist_install_apt() {
  local missing=() entry bin pkg
  [ $# -gt 0 ] || set -- "${SUPERDIST_APT_PACKAGES[@]}"
  for entry in "$@"; do
    bin=${entry%%:*}; pkg=${entry#*:}
    command -v "$bin" >/dev/null 2>&1 || [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    return 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

superdist_install_npm() {
  local stamp=node_modules/.superdist-lock-hash want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
}

superdist_build() {
  node esbuild.config.mjs
}
