// `superdist doctor`'s updates check against fake probes: what a box without keys, without its
// boot selection partition, or with everything in place reports.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { runDoctor, type DoctorProbes } from '../../src/platform/doctor-checks.js';
import { BOOTLOADER_PARTITION } from '../../src/update/rpi-boot-loader.js';
import { checkUpdates } from '../../src/update/update-check.js';

const STATE = '/var/lib/superdist';
const KEY = 'zq1bhOawo21PqN6lZm8pT8zstKuFj6PGbnbzNA9_h9U';
const cfg = (sets: string[] = []) => loadConfig({ flags: { stateDir: STATE, control: '/run/superdist/control.sock' }, sets });
const probes = (paths: string[], writable: string[] = paths) => ({ exists: (p: string) => paths.includes(p), writable: (p: string) => writable.includes(p) });
const PI = ['/boot/select', '/boot/select/autoboot.txt', BOOTLOADER_PARTITION];

describe('doctor: updates', () => {
  it('a Raspberry Pi with autoboot.txt, a writable boot selection and a trusted key is ok, naming its slots', () => {
    const r = checkUpdates(cfg([`update.trustedKeys=["${KEY}"]`]), probes(PI));
    expect(r).toMatchObject({ name: 'updates', level: 'ok' });
    expect(r.detail).toBe('Raspberry Pi tryboot: /boot/select/autoboot.txt, slot A /dev/mmcblk0p2 + /dev/mmcblk0p5, slot B /dev/mmcblk0p3 + /dev/mmcblk0p6; 1 trusted key(s)');
    // The operator CA the box was enrolled under counts as a trusted key.
    expect(checkUpdates(cfg(), probes([...PI, `${STATE}/drm/ca.cert.json`])).level).toBe('ok');
  });

  it('no trusted key warns; a missing or read-only boot selection fails; a firmware that names no partition warns', () => {
    const none = checkUpdates(cfg(), probes(PI));
    expect(none).toMatchObject({ level: 'warn' });
    expect(none.fix).toContain('update.trustedKeys');
    const keyed = (s: string[] = []) => cfg([`update.trustedKeys=["${KEY}"]`, ...s]);
    const missing = checkUpdates(keyed(['update.bootLoader=rpi']), probes([]));
    expect(missing).toMatchObject({ level: 'fail' });
    expect(missing.detail).toContain('/boot/select/autoboot.txt does not exist');
    expect(checkUpdates(keyed(), probes(PI, [])).detail).toContain('/boot/select is not writable');
    expect(checkUpdates(keyed(), probes(PI.slice(0, 2)))).toMatchObject({ level: 'warn' });
    // Without autoboot.txt, `auto` means slot files.
    expect(checkUpdates(keyed(), probes([]))).toMatchObject({ level: 'ok', detail: `slot files in ${STATE}/update/slots (no A/B partitions here); 1 trusted key(s)` });
  });

  it('the doctor runs it where the agent runs: under the daemon (or update.enabled true), not on a tracker', async () => {
    const p: DoctorProbes = {
      uid: 0,
      run: async () => 'missing',
      exists: () => false,
      writable: () => false,
      lockHolder: () => undefined,
      daemon: async () => ({ error: 'none' }),
      connect: async () => ({ ms: 1 }),
      bind: async () => 'free',
      secrets: () => undefined,
    };
    const names = async (c: ReturnType<typeof cfg>, daemon: boolean) => (await runDoctor(c, p, { webByDefault: daemon })).map((r) => r.name);
    expect(await names(cfg(), true)).toContain('updates');
    expect(await names(cfg(), false)).not.toContain('updates');
    expect(await names(cfg(['update.enabled=true']), false)).toContain('updates');
    expect(await names(cfg(['node.role=tracker']), true)).not.toContain('updates');
  });
});
