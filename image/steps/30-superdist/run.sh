#!/usr/bin/env bash
# Step 30: superdist. The one-file bundle (Node 20 from Debian runs it; no node_modules), the
# `superdist` command for administrators, the systemd unit and user, the default configuration.
# Needs SUPERDIST_REPO (the checkout, with dist/superdist.cjs built).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rootfs=$1
repo=${SUPERDIST_REPO:?SUPERDIST_REPO must name the superdist checkout}
[ -f "$repo/dist/superdist.cjs" ] || { echo "30-superdist: $repo/dist/superdist.cjs missing" >&2; exit 1; }

install -d -m 0755 "$rootfs/opt/superdist"
install -m 0644 "$repo/dist/superdist.cjs" "$rootfs/opt/superdist/superdist.cjs"
install -m 0644 "$repo/README.md" "$rootfs/opt/superdist/README.md"
install -m 0755 "$here/files/superdist" "$rootfs/usr/bin/superdist"

install -m 0644 "$repo/systemd/superdist.service" "$rootfs/usr/lib/systemd/system/superdist.service"
install -m 0644 "$repo/systemd/superdist.sysusers" "$rootfs/usr/lib/sysusers.d/superdist.conf"
chroot "$rootfs" systemd-sysusers /usr/lib/sysusers.d/superdist.conf

# The service reads its configuration; only root edits it.
install -d -m 0755 "$rootfs/etc/superdist"
install -m 0640 -o root -g "$(chroot "$rootfs" getent group superdist | cut -d: -f3)" \
  "$here/files/config.json" "$rootfs/etc/superdist/config.json"
chroot "$rootfs" systemctl enable superdist.service
