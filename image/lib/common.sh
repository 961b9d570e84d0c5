# Helpers shared by scripts/build-image, scripts/test-image and the numbered steps. Sourced.

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds since the epoch, to report how long each stage took.
now_s() { date +%s; }

# Mirrors for the image's apt sources: the host's Debian mirror (from its deb822 or one-line
# sources), with the suite swapped; deb.debian.org when the host names none.
host_debian_mirror() {
  local kind=$1 uri=""   # kind: main | security
  local files=(/etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  local f line
  for f in "${files[@]}"; do
    [ -r "$f" ] || continue
    while read -r line; do
      case "$line" in
        URIs:*) line=${line#URIs:} ;;
        deb\ *) line=$(set -- $line; [ "${2#[}" != "$2" ] && shift; echo "$2") ;;
        *) continue ;;
      esac
      for u in $line; do
        case "$kind:$u" in
          security:*debian-security*) uri=$u; break 3 ;;
          main:*debian-security*) ;;
          main:*/debian|main:*/debian/) uri=$u; break 3 ;;
        esac
      done
    done < "$f"
  done
  if [ -z "$uri" ]; then
    [ "$kind" = security ] && uri=http://deb.debian.org/debian-security || uri=http://deb.debian.org/debian
  fi
  echo "${uri%/}"
}

# Registers qemu-user-static for arm64 binaries with binfmt_misc when nothing did (containers and
# minimal VMs often lack the mount or the registration). The F flag loads the interpreter now, so
# it works inside a chroot without copying qemu into it.
ensure_arm64_binfmt() {
  local conf=/usr/lib/binfmt.d/qemu-aarch64.conf dir=/proc/sys/fs/binfmt_misc
  [ "$(uname -m)" = aarch64 ] && return 0
  [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir" || die "cannot mount binfmt_misc"
  if [ -e "$dir/qemu-aarch64" ]; then
    grep -q '^enabled' "$dir/qemu-aarch64" || echo 1 > "$dir/qemu-aarch64"
    return 0
  fi
  [ -r "$conf" ] || die "$conf missing (install qemu-user-static)"
  log "registering qemu-aarch64 with binfmt_misc"
  grep -v '^#' "$conf" | grep . > "$dir/register"
}

# Runs a command inside the target root filesystem through qemu-user, in private mount, PID, UTS
# and network namespaces (only a loopback interface), with /proc, /sys and /dev available.
# Nothing it mounts outlives it. Usage: in_target ROOTFS CMD [ARGS...]
in_target() {
  local root=$1; shift
  unshare --mount --net --uts --pid --fork --kill-child -- /bin/sh -euc '
    root=$1; shift
    ip link set lo up
    mount --make-rprivate /
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    exec chroot "$root" "$@"
  ' in_target "$root" "$@"
}
