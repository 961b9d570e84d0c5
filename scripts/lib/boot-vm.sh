# Helpers of scripts/test-boot: the image's own boot files taken out of its boot partition, a
# network namespace holding the host side of the test, the image booted under qemu-system-aarch64
# (virt, TCG) in that namespace, SSH into the guest. Sourced after image/lib/common.sh; uses $bw
# (the boot test's work directory) and $ns (the namespace's name).

# Start sector and size (sectors) of partition N of an MBR image: "START SIZE".
part_geometry() {
  sfdisk --json "$1" | node -e '
    const p = JSON.parse(require("fs").readFileSync(0, "utf8")).partitiontable.partitions;
    const x = p.find((q) => q.node.endsWith(process.argv[1]) && /\D$/.test(q.node.slice(0, -process.argv[1].length)));
    if (!x) { console.error(`no partition ${process.argv[1]}`); process.exit(1); }
    console.log(`${x.start} ${x.size}`);' "$2"
}

# Copies the kernel, the initrd and the slot-A command line (cmdline-a.txt: what the Pi firmware
# gives the kernel when it boots slot A) out of the image's boot A partition (partition 2) into DIR,
# without a loop device: mtools reads the FAT at its offset. An EFI zboot kernel (a PE file
# wrapping a compressed Image) is unwrapped, which QEMU 7 does not do itself.
boot_files() {
  local img=$1 dir=$2 start fat kernel initrd
  read -r start _ <<<"$(part_geometry "$img" 2)"
  fat="$img@@$((start * 512))"
  kernel=$(mdir -b -i "$fat" ::/ | sed 's|^::/||' | grep '^vmlinuz-' | sort -V | tail -1)
  initrd=$(mdir -b -i "$fat" ::/ | sed 's|^::/||' | grep '^initrd.img-' | sort -V | tail -1)
  [ -n "$kernel" ] && [ -n "$initrd" ] || { echo "boot A holds no vmlinuz-*/initrd.img-*" >&2; return 1; }
  mcopy -n -i "$fat" "::/$kernel" "$dir/vmlinuz"
  mcopy -n -i "$fat" "::/$initrd" "$dir/initrd.img"
  mcopy -n -i "$fat" ::/cmdline-a.txt "$dir/cmdline-a.txt"
  if [ "$(dd if="$dir/vmlinuz" bs=1 skip=4 count=4 status=none)" = zimg ]; then
    local off size comp
    off=$(od -An -tu4 -j8 -N4 "$dir/vmlinuz" | tr -d ' ')
    size=$(od -An -tu4 -j12 -N4 "$dir/vmlinuz" | tr -d ' ')
    comp=$(dd if="$dir/vmlinuz" bs=1 skip=24 count=8 status=none | tr -d '\0')
    case "$comp" in
      gzip) tail -c +"$((off + 1))" "$dir/vmlinuz" | head -c "$size" | gzip -dc > "$dir/Image" ;;
      zstd) tail -c +"$((off + 1))" "$dir/vmlinuz" | head -c "$size" | zstd -dcq > "$dir/Image" ;;
      *) echo "zboot kernel compressed with '$comp': not unpacked" >&2; return 1 ;;
    esac
    mv "$dir/Image" "$dir/vmlinuz"
  fi
  echo "$kernel $initrd"
}

# Writes FILE as NAME onto boot A of the image (the first-boot settings).
put_on_boot_a() {
  local img=$1 file=$2 name=$3 start
  read -r start _ <<<"$(part_geometry "$img" 2)"
  mcopy -o -i "$img@@$((start * 512))" "$file" "::/$name"
}

# The host side of the test: a network namespace with only its loopback link, which also holds
# 10.99.0.1, where the tracker and the live source listen. QEMU runs in it too, so the guest's
# user-mode network reaches 10.99.0.1 and nothing else: no route leaves this machine.
HOST_ADDR=10.99.0.1
netns_up() {
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$HOST_ADDR/32" dev lo
}

netns_down() {
  ip netns del "$ns" 2>/dev/null || true
}

in_ns() { ip netns exec "$ns" "$@"; }

# Boots DISK under qemu-system-aarch64 -M virt (TCG, 2 vCPUs, Cortex-A72 like the Pi 4) with the
# image's kernel and initrd and slot A's command line with the console on the virt board's UART.
# SSH of the guest is forwarded to 127.0.0.1:SSH_PORT inside the namespace. Serial output goes to
# SERIAL_LOG. The NIC gets no option ROM (romfile=): QEMU loads the kernel itself, so no network
# boot firmware (package ipxe-qemu) is needed. Sets vm_pid (QEMU itself: `ip netns exec` execs it).
vm_pid=""
vm_start() {
  local disk=$1 serial=$2 cmdline
  cmdline=$(tr -d '\r\n' < "$bw/cmdline-a.txt" | tr -s ' ' '\n' | grep -v '^console=' | paste -sd' ')
  : > "$serial"
  ip netns exec "$ns" qemu-system-aarch64 -M virt -accel tcg,thread=multi -cpu cortex-a72 -smp 2 -m "$VM_MEM_MIB" \
    -kernel "$bw/vmlinuz" -initrd "$bw/initrd.img" -append "console=ttyAMA0 $cmdline" \
    -drive "file=$disk,format=raw,if=virtio" \
    -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" -device virtio-net-pci,netdev=net0,romfile= \
    -device virtio-rng-pci -display none -monitor none -serial "file:$serial" \
    > "$bw/qemu.out" 2>&1 &
  vm_pid=$!
}

# QEMU runs (an ended one the script has not reaped yet is a zombie: not running).
vm_alive() { [ -n "$vm_pid" ] && kill -0 "$vm_pid" 2>/dev/null && ! ps -o stat= -p "$vm_pid" | grep -q Z; }

vm_kill() {
  if vm_alive; then kill "$vm_pid" 2>/dev/null || true; wait "$vm_pid" 2>/dev/null || true; fi
  vm_pid=""
}

# Waits up to LIMIT s for PATTERN (grep -E) on the serial console; fails early if QEMU ends.
wait_serial() {
  local pattern=$1 limit=$2 serial=$3 t0
  t0=$(now_s)
  until grep -qaE "$pattern" "$serial"; do
    vm_alive || { echo "QEMU ended before the console showed /$pattern/:" >&2; tail -5 "$bw/qemu.out" >&2; return 1; }
    [ $(( $(now_s) - t0 )) -lt "$limit" ] || { echo "no /$pattern/ on the console within $limit s" >&2; return 1; }
    sleep 1
  done
}

# SSH as the administrator first boot made, with the key the test made; one multiplexed
# connection per boot. The guest's host key is learnt on first contact and must not change. The
# arguments reach the remote command as they are (quoted for the remote shell).
vm_ssh() {
  in_ns ssh -n -F /dev/null -i "$bw/id_ed25519" -p "$SSH_PORT" -l "$ADMIN" \
    -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3 \
    -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$bw/known_hosts" -o LogLevel=ERROR \
    -o ControlMaster=auto -o ControlPath="$bw/ssh-%C" -o ControlPersist=900 \
    127.0.0.1 -- "$(printf '%q ' "$@")"
}

vm_ssh_close() {
  in_ns ssh -F /dev/null -p "$SSH_PORT" -l "$ADMIN" -o ControlPath="$bw/ssh-%C" -O exit 127.0.0.1 >/dev/null 2>&1 || true
}

# Runs CMD... until it succeeds, at most LIMIT s (a pause of STEP s between tries); prints what
# the last try printed when it never did.
wait_for() {
  local limit=$1 step=$2 t0; shift 2
  t0=$(now_s)
  until "$@" > "$bw/wait.out" 2>&1; do
    if [ $(( $(now_s) - t0 )) -ge "$limit" ]; then
      echo "gave up after $limit s waiting for: $*" >&2
      tail -5 "$bw/wait.out" >&2
      return 1
    fi
    sleep "$step"
  done
}
