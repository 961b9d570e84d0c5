# The checks of scripts/test-boot (sourced by it): the host side (tracker, live source) and one
# function per check, each run in a subshell by check() with errexit. What a later check compares
# against (peer id, machine-id, host key, configuration) is kept in files under $bw/facts.

# The host side in the namespace: a test stream (ffmpeg), a tracker, a live source looping it.
host_services_start() {
  local bundle="$repo/dist/superdist.cjs"
  mkdir -p "$bw/facts"
  ffmpeg -hide_banner -nostdin -v error -y -f lavfi -i testsrc=size=320x240:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t 30 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 \
    -b:v 600k -maxrate 600k -bufsize 600k -c:a aac -b:a 64k -f mpegts -muxrate 800k "$bw/stream.ts"
  # A clean environment: the services refuse SUPERDIST_* variables they do not know. `ip netns exec`
  # and env exec, so $! is the service itself.
  ip netns exec "$ns" env -i PATH="$PATH" HOME="$bw" node "$bundle" tracker --listen "$TRACKER" \
    --control "$bw/tracker.sock" --state-dir "$bw/tracker-state" > "$bw/tracker.log" 2>&1 &
  host_pids+=($!)
  ip netns exec "$ns" env -i PATH="$PATH" HOME="$bw" node "$bundle" publish live --tracker "$TRACKER" --channel "$CHANNEL" \
    --input "$bw/stream.ts" --loop --listen "$SOURCE" --control "$bw/source.sock" --state-dir "$bw/source-state" \
    > "$bw/source.log" 2>&1 &
  host_pids+=($!)
  wait_for 30 0.5 node "$bundle" status --json --control "$bw/tracker.sock" || die "the host's tracker did not start (see $bw/tracker.log)"
  wait_for 30 0.5 node "$bundle" status --json --control "$bw/source.sock" || die "the host's live source did not start (see $bw/source.log)"
}

host_status() { node "$repo/dist/superdist.cjs" status --json --control "$bw/$1.sock"; }

# The console shows the kernel, then a login prompt (systemd reached the getty); SSH then lets
# the administrator in.
t_boot() {
  local n=$1 serial="$bw/serial-$1.log" t0
  t0=$(now_s)
  wait_serial 'Linux version' 60 "$serial"
  echo "console: $(grep -aom1 'Linux version [^ ]*' "$serial") after $(( $(now_s) - t0 )) s"
  wait_serial 'login:' 600 "$serial"
  echo "console: login prompt $(( $(now_s) - boot_t0 )) s after QEMU started"
  wait_for 180 3 vm_ssh true
  echo "ssh $ADMIN@guest: in after $(( $(now_s) - boot_t0 )) s (host key $(ssh-keygen -lf "$bw/known_hosts" | awk '{print $2}'))"
}

# Type=notify: the unit is active only once the daemon sent READY=1.
t_ready() {
  local t0=$1 mono lines
  wait_for 300 2 vm_ssh systemctl is-active --quiet superdist
  mono=$(vm_ssh systemctl show -p ActiveEnterTimestampMonotonic --value superdist)
  echo "superdist ready $(awk -v m="$mono" 'BEGIN { printf "%.1f", m / 1e6 }') s after the kernel started (guest clock), $(( $(now_s) - t0 )) s after QEMU started (host, as seen over SSH)"
  lines=$(vm_ssh journalctl -b -u superdist.service --no-pager -o cat)
  grep -m1 'Started superdist.service' <<<"$lines"
  grep -m1 '"msg":"watchdog pings on"' <<<"$lines" | grep -o '"msg":"[^"]*"'
  echo "critical chain: $(vm_ssh systemd-analyze critical-chain superdist.service | grep -v '^The time' | grep -E '@|\+' | sed 's/^[^a-z]*//' | head -8 | paste -sd'<' | sed 's/</ < /g')"
  echo "slowest units: $(vm_ssh systemd-analyze blame | head -6 | sed 's/^ *//' | paste -sd';' | sed 's/;/; /g')"
  [ "$(vm_ssh systemctl show -p NRestarts --value superdist)" = 0 ]
}

t_system_state() {
  local state units u allowed bad=0
  state=$(vm_ssh timeout 300 systemctl is-system-running --wait || true)
  echo "systemctl is-system-running: $state"
  vm_ssh systemd-analyze time | head -1
  units=$(vm_ssh systemctl list-units --failed --plain --no-legend | awk '{print $1}')
  for u in $units; do
    allowed=""
    for entry in "${PI_ONLY_UNITS[@]}"; do [ "${entry%%:*}" = "$u" ] && allowed=${entry#*:}; done
    if [ -n "$allowed" ]; then
      echo "failed, allowed (Pi hardware): $u — $allowed"
    else
      echo "failed, NOT allowed: $u"
      vm_ssh journalctl -b -u "$u" --no-pager -n 8 -o cat | sed 's/^/  /'
      bad=1
    fi
  done
  [ "$bad" -eq 0 ]
  [ "$state" = running ] || [ "$state" = degraded ]
}

t_status() {
  local s
  s=$(vm_ssh superdist status --json)
  echo "$s" > "$bw/facts/status-1.json"
  [ "$(js 's.node.role' <<<"$s")" = node ]
  [ "$(js 's.node.version' <<<"$s")" = "$version" ]
  [ "$(js 's.node.tracker' <<<"$s")" = "$TRACKER" ]
  js 's.node.id' <<<"$s" > "$bw/facts/peer-id"
  [ -s "$bw/facts/peer-id" ]
  echo "status: role node, version $version, id $(cat "$bw/facts/peer-id"), tracker $TRACKER, reachability $(js 's.net.reachability' <<<"$s")," \
    "memory budget $(js '(s.memory.budgetBytes / 1048576).toFixed(0)' <<<"$s") MiB of $(js '(s.memory.totalRamBytes / 1048576).toFixed(0)' <<<"$s") MiB, rss $(js '(s.memory.rssBytes / 1048576).toFixed(1)' <<<"$s") MiB"
  [ "$(vm_ssh stat -c '%a %U:%G' /run/superdist/control.sock)" = "660 superdist:superdist" ]
  echo "control socket 660 superdist:superdist; $ADMIN is in: $(vm_ssh id -nG | tr ' ' ',')"
}

t_first_boot_applied() {
  [ "$(vm_ssh hostname)" = boot-test ]
  vm_ssh id -nG | grep -qw superdist
  vm_ssh sudo -n test ! -e /boot/firmware/superdist-setup.txt
  vm_ssh sudo -n cat /boot/firmware/superdist-setup.done | md5sum > "$bw/facts/setup-done.md5"
  [ "$(vm_ssh systemctl show -p Result --value superdist-first-boot)" = success ]
  vm_ssh cat /etc/superdist/config.json | T=$TRACKER js 's.tracker === process.env.T && s.node.name === "Boot test box"' | grep -qx true
  vm_ssh journalctl -b -u superdist-first-boot --no-pager -o cat | grep '^first-boot:' | paste -sd';' | cut -c1-200
}

t_grown() {
  local src sectors image_sectors fs_mib
  src=$(vm_ssh findmnt -no SOURCE /data)
  sectors=$(vm_ssh cat "/sys/class/block/${src#/dev/}/size")
  read -r _ image_sectors <<<"$(part_geometry "$img" 7)"
  fs_mib=$(vm_ssh df -BM --output=size /data | tail -1 | tr -dc 0-9)
  echo "data partition $src: $((image_sectors / 2048)) MiB in the image → $((sectors / 2048)) MiB; /data file system $fs_mib MiB"
  [ "$sectors" -gt $((image_sectors + 900 * 2048)) ]
  [ "$fs_mib" -gt 900 ]
  vm_ssh journalctl -b -u superdist-grow-root --no-pager -o cat | grep 'grow-root:'
  echo "root: $(vm_ssh findmnt -no SOURCE /) (slot A, fixed size by design: docs/updates.md)"
}

t_new_identity() {
  local btime mid root
  # The image itself carries neither (root A, read by debugfs at the partition's offset).
  read -r root _ <<<"$(part_geometry "$img" 5)"
  debugfs -R 'stat /etc/machine-id' "$img?offset=$((root * 512))" 2>/dev/null | grep -qE 'Size: 0\b'
  if debugfs -R 'ls /etc/ssh' "$img?offset=$((root * 512))" 2>/dev/null | grep -q ssh_host_; then echo "the image carries SSH host keys"; return 1; fi
  btime=$(vm_ssh awk '/^btime/ {print $2}' /proc/stat)
  vm_ssh stat -c '%Y %n' /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /etc/machine-id > "$bw/made.txt"
  while read -r mtime name; do
    [ "$mtime" -ge "$btime" ] || { echo "$name is older than this boot"; return 1; }
  done < "$bw/made.txt"
  [ "$(vm_ssh systemctl show -p Result --value superdist-ssh-host-keys)" = success ]
  vm_ssh ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $2}' > "$bw/facts/host-key"
  grep -qF "$(cat "$bw/facts/host-key")" <(ssh-keygen -lf "$bw/known_hosts")
  echo "host keys (ed25519, ecdsa, rsa) written $(( $(head -1 "$bw/made.txt" | cut -d' ' -f1) - btime )) s into this boot (the image has none); ed25519 $(cat "$bw/facts/host-key") is the one SSH presented"
  mid=$(vm_ssh cat /etc/machine-id)
  [[ $mid =~ ^[0-9a-f]{32}$ ]]
  echo "$mid" > "$bw/facts/machine-id"
  echo "machine-id $mid written $(( $(tail -1 "$bw/made.txt" | cut -d' ' -f1) - btime )) s into this boot (the image's is empty)"
}

# The watched channel's counters from the guest's own status: "DUE ONTIME PARTNERS LAG".
guest_play() {
  vm_ssh superdist status --json | js '(() => { const c = s.contents.find((x) => x.watching); return c ? [c.chunksDue ?? 0, c.chunksOnTime ?? 0, c.partners, c.lagMs ?? "-"].join(" ") : "0 0 0 -"; })()'
}

# Boot 1 sets the player to none and the channel to watch (as root, as an administrator would),
# then reloads; boot 2 finds both in the configuration. Continuity over SECS from the counters.
t_live() {
  local secs=$1 a b due ontime c src
  if [ "$(vm_ssh cat /etc/superdist/config.json | js 's.player?.kind')" != none ]; then
    vm_ssh sudo -n node -e '
      const fs = require("fs"), f = "/etc/superdist/config.json", c = JSON.parse(fs.readFileSync(f, "utf8"));
      c.player = { ...c.player, kind: "none" }; c.watch = process.argv[1];
      fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");' "$CHANNEL"
    vm_ssh sudo -n systemctl reload superdist
    echo "config: player none, watch $CHANNEL; systemctl reload superdist"
  fi
  vm_ssh cat /etc/superdist/config.json | md5sum > "$bw/facts/config.md5"
  wait_for 240 3 guest_due_above 2
  local t0 sa sb
  t0=$(now_s)
  a=$(guest_play)
  sa=$(source_bytes)
  sleep "$secs"
  b=$(guest_play)
  sb=$(source_bytes)
  due=$(( $(cut -d' ' -f1 <<<"$b") - $(cut -d' ' -f1 <<<"$a") ))
  ontime=$(( $(cut -d' ' -f2 <<<"$b") - $(cut -d' ' -f2 <<<"$a") ))
  c=$(awk -v o="$ontime" -v d="$due" 'BEGIN { printf "%.4f", (d > 0 ? o / d : 0) }')
  echo "guest continuity $c over $(( $(now_s) - t0 )) s between two status reads ($ontime of $due chunks on time), partners $(cut -d' ' -f3 <<<"$b"), lag $(cut -d' ' -f4 <<<"$b") ms"
  # Chunk bytes the source uploaded per byte of stream it published, over the same window.
  echo "host source: upload factor $(awk -v u1="${sa% *}" -v p1="${sa#* }" -v u2="${sb% *}" -v p2="${sb#* }" 'BEGIN { printf "%.2f", (p2 > p1 ? (u2 - u1) / (p2 - p1) : 0) }') over the window (one viewer: about 1), $(host_status source | js 's.contents[0].source.uploadFactor.toFixed(2)') since the source started"
  [ "$due" -ge $((secs - 5)) ]
  awk -v c="$c" 'BEGIN { exit !(c >= 0.99) }'
}

# The host source's "CHUNK_BYTES_UPLOADED STREAM_BYTES_PUBLISHED".
source_bytes() { host_status source | js '[s.contents[0].chunkBytesOut, s.contents[0].source.streamBytes].join(" ")'; }

guest_due_above() { [ "$(guest_play | cut -d' ' -f1)" -gt "$1" ]; }

# Asks for a power-off; the guest's shutdown ends QEMU (PSCI SYSTEM_OFF). Argument: the boot.
t_poweroff() {
  local t0 limit=120
  t0=$(now_s)
  vm_ssh sudo -n systemctl poweroff || true
  vm_ssh_close
  while vm_alive; do
    [ $(( $(now_s) - t0 )) -lt "$limit" ] || { echo "still running $limit s after poweroff"; return 1; }
    sleep 1
  done
  echo "QEMU ended $(( $(now_s) - t0 )) s after poweroff; console: $(grep -aE 'reboot: Power down' "$bw/serial-$1.log" | tail -1 | tr -d '\r')"
  grep -qa 'reboot: Power down' "$bw/serial-$1.log"
}

t_not_again() {
  local r
  r=$(vm_ssh systemctl show -p ConditionResult --value superdist-first-boot superdist-grow-root superdist-ssh-host-keys | grep . | paste -sd' ')
  echo "ConditionResult of first-boot, grow-root, ssh-host-keys: $r"
  [ "$r" = "no no no" ]
  [ -z "$(vm_ssh journalctl -b --no-pager -o cat -u superdist-first-boot -u superdist-grow-root | grep -E '^(first-boot|grow-root):' || true)" ]
  cmp <(vm_ssh sudo -n cat /boot/firmware/superdist-setup.done | md5sum) "$bw/facts/setup-done.md5"
  echo "superdist-setup.done unchanged, no superdist-setup.txt"
}

t_survived() {
  [ "$(vm_ssh cat /etc/machine-id)" = "$(cat "$bw/facts/machine-id")" ]
  [ "$(vm_ssh ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $2}')" = "$(cat "$bw/facts/host-key")" ]
  [ "$(vm_ssh hostname)" = boot-test ]
  [ "$(vm_ssh superdist status --json | js 's.node.id')" = "$(cat "$bw/facts/peer-id")" ]
  cmp <(vm_ssh cat /etc/superdist/config.json | md5sum) "$bw/facts/config.md5"
  echo "machine-id $(cat "$bw/facts/machine-id"), host key, host name, peer id $(cat "$bw/facts/peer-id") and /etc/superdist/config.json as after boot 1"
  vm_ssh sudo -n find /var/lib/superdist -type f -printf '%P\n' | sort > "$bw/facts/state-files"
  echo "state directory: $(wc -l < "$bw/facts/state-files") files"
}

# Waits until the unit restarted once more than N times and is active again with a new main PID.
restarted_since() {
  local n=$1 pid=$2 s nr mp st
  s=$(vm_ssh systemctl show -p NRestarts -p MainPID -p ActiveState superdist)
  nr=$(sed -n 's/^NRestarts=//p' <<<"$s"); mp=$(sed -n 's/^MainPID=//p' <<<"$s"); st=$(sed -n 's/^ActiveState=//p' <<<"$s")
  [ "$nr" -gt "$n" ] && [ "$mp" != "$pid" ] && [ "$mp" != 0 ] && [ "$st" = active ]
}

# The service answers on its control socket with the peer id of boot 1.
same_peer_id() { [ "$(vm_ssh superdist status --json | js 's.node.id')" = "$(cat "$bw/facts/peer-id")" ]; }

t_kill() {
  local pid n t0
  pid=$(vm_ssh systemctl show -p MainPID --value superdist)
  n=$(vm_ssh systemctl show -p NRestarts --value superdist)
  t0=$(now_s)
  vm_ssh sudo -n systemctl kill -s KILL superdist
  wait_for 120 2 restarted_since "$n" "$pid"
  echo "killed pid $pid; active again as pid $(vm_ssh systemctl show -p MainPID --value superdist) after $(( $(now_s) - t0 )) s"
  vm_ssh journalctl -b -u superdist --no-pager -o cat --since=-3min | grep -E 'status=9/KILL|Scheduled restart' | sort -u | head -2
  wait_for 120 3 same_peer_id
}

t_hang() {
  local pid n t0
  pid=$(vm_ssh systemctl show -p MainPID --value superdist)
  n=$(vm_ssh systemctl show -p NRestarts --value superdist)
  t0=$(now_s)
  vm_ssh sudo -n kill -STOP "$pid"
  wait_for 180 2 restarted_since "$n" "$pid"
  echo "stopped pid $pid; the watchdog ended it and it is active again as pid $(vm_ssh systemctl show -p MainPID --value superdist) after $(( $(now_s) - t0 )) s"
  vm_ssh journalctl -b -u superdist --no-pager -o cat --since=-4min | grep -m1 -i 'watchdog timeout'
  wait_for 120 3 same_peer_id
}

t_state_kept() {
  local now
  now=$(vm_ssh sudo -n find /var/lib/superdist -type f -printf '%P\n' | sort)
  comm -23 "$bw/facts/state-files" <(echo "$now") > "$bw/lost"
  if [ -s "$bw/lost" ]; then echo "lost: $(paste -sd' ' "$bw/lost")"; return 1; fi
  cmp <(vm_ssh cat /etc/superdist/config.json | md5sum) "$bw/facts/config.md5"
  wait_for 120 3 guest_due_above 0
  echo "every state file of the boot's start still there ($(wc -l < "$bw/facts/state-files")), peer id and configuration unchanged, playing again ($(guest_play | cut -d' ' -f1) chunks due)"
}
