// The units pass `systemd-analyze verify` and say what the appliance promises: Type=notify with a
// watchdog, the bundle started by node (never npm), a dedicated user in video/audio/bluetooth,
// the sandbox, and nothing that breaks V8 (MemoryDenyWriteExecute).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const unitsDir = join(repo, 'systemd');
const firstBootDir = join(repo, 'image/steps/40-first-boot/files');

/** `Key=value` lines of a unit, in order (repeated keys kept). */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]);
}

function verify(files: string[]): { code: number | null; out: string } {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze could not run (${r.error.message}); Debian package systemd`);
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

describe('systemd units', () => {
  it('superdist.service passes systemd-analyze verify without a word', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-units-'));
    copyFileSync(join(unitsDir, 'superdist.service'), join(dir, 'superdist.service'));
    expect(verify([join(dir, 'superdist.service')])).toEqual({ code: 0, out: '' });
  });

  it('the first-boot units pass verify (their scripts taken from the checkout)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-units-'));
    const units = readdirSync(firstBootDir).filter((f) => f.endsWith('.service'));
    expect(units.sort()).toEqual(['superdist-first-boot.service', 'superdist-grow-root.service', 'superdist-ssh-host-keys.service']);
    const files = units.map((u) => {
      const text = readFileSync(join(firstBootDir, u), 'utf8').replaceAll('/usr/lib/superdist/', `${firstBootDir}/`);
      writeFileSync(join(dir, u), text);
      return join(dir, u);
    });
    // the service they order themselves before must be known too
    copyFileSync(join(unitsDir, 'superdist.service'), join(dir, 'superdist.service'));
    expect(verify([...files, join(dir, 'superdist.service')])).toEqual({ code: 0, out: '' });
  });

  it('the update reboot units pass verify, and the path unit watches the file the agent writes', () => {
    const updatesDir = join(repo, 'image/steps/35-updates/files');
    const dir = mkdtempSync(join(tmpdir(), 'sd-units-'));
    const files = ['superdist-reboot.path', 'superdist-reboot.service'].map((u) => {
      writeFileSync(join(dir, u), readFileSync(join(updatesDir, u), 'utf8').replaceAll('/usr/lib/superdist/', `${updatesDir}/`));
      return join(dir, u);
    });
    expect(verify(files)).toEqual({ code: 0, out: '' });
    const path = directives(readFileSync(join(updatesDir, 'superdist-reboot.path'), 'utf8'));
    // The default of update.rebootRequest (src/update/update-config.ts).
    expect(path.filter(([k]) => k === 'PathExists').map(([, v]) => v)).toEqual(['/run/superdist/reboot-request']);
    // The script reboots only with "0 tryboot" or nothing (a stand-in systemctl records the call).
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> ${join(dir, 'calls')}\n`, { mode: 0o755 });
    const request = (content: string) => {
      writeFileSync(join(dir, 'request'), content);
      return spawnSync(join(updatesDir, 'reboot-request'), [join(dir, 'request')], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
    };
    expect(request('0 tryboot\n').status).toBe(0);
    expect(request('\n').status).toBe(0);
    const refused = request('0 --force\n');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refusing/);
    expect(existsSync(join(dir, 'request')), 'the request is consumed').toBe(false);
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toBe('reboot 0 tryboot\nreboot\n');
  });

  it('superdist.service says what the appliance needs', () => {
    const d = directives(readFileSync(join(unitsDir, 'superdist.service'), 'utf8'));
    const get = (k: string) => d.filter(([key]) => key === k).map(([, v]) => v);
    expect(get('Type')).toEqual(['notify']);
    expect(get('NotifyAccess')).toEqual(['all']);
    expect(get('ExecStart')).toEqual(['/usr/bin/node --lite-mode /opt/superdist/superdist.cjs daemon --config /etc/superdist/config.json']);
    expect(get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(Number.parseInt(get('WatchdogSec')[0] ?? '0', 10)).toBeGreaterThan(0);
    expect(get('Restart')).toEqual(['on-failure']);
    expect(get('RestartPreventExitStatus')).toEqual(['2']);
    // mpv and every helper end with the service, also when it is stopped or killed
    expect(get('KillMode')).toEqual(['control-group']);
    expect(get('User')).toEqual(['superdist']);
    expect(get('SupplementaryGroups')[0]?.split(' ').sort()).toEqual(['audio', 'bluetooth', 'video']);
    expect(get('StateDirectory')).toEqual(['superdist']);
    expect(get('RuntimeDirectory')).toEqual(['superdist']);
    expect(get('ConfigurationDirectory')).toEqual(['superdist']);
    for (const [k, v] of [['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['NoNewPrivileges', 'yes']]) {
      expect(get(k as string), k).toEqual([v]);
    }
    const families = get('RestrictAddressFamilies')[0]?.split(' ') ?? [];
    expect(families).toEqual(expect.arrayContaining(['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_BLUETOOTH']));
    expect(get('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW']);
    expect(get('MemoryDenyWriteExecute')).toEqual([]);
    expect(d.some(([, v]) => /\bnpm\b/.test(v))).toBe(false);
  });

  it('the sysusers file creates the user in video, audio and bluetooth', () => {
    const root = mkdtempSync(join(tmpdir(), 'sd-sysusers-'));
    const r = spawnSync('systemd-sysusers', [`--root=${root}`, '--dry-run', '-'], {
      input: readFileSync(join(unitsDir, 'superdist.sysusers')),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Creating user '?superdist'? \(superdist service\)/);
  });
});

describe('the central tracker unit', () => {
  it('passes verify, and its LimitNOFILE holds net.trackerMaxConnections plus what the tracker keeps aside', async () => {
    const { DEFAULT_NET_LIMITS } = await import('../../src/net/net-limits.js');
    const { FD_RESERVE, openFileLimit } = await import('../../src/tracker/open-registry.js');
    const dir = mkdtempSync(join(tmpdir(), 'sd-units-'));
    copyFileSync(join(unitsDir, 'superdist-tracker.service'), join(dir, 'superdist-tracker.service'));
    expect(verify([join(dir, 'superdist-tracker.service')])).toEqual({ code: 0, out: '' });
    const d = directives(readFileSync(join(unitsDir, 'superdist-tracker.service'), 'utf8'));
    const nofile = Number(d.find(([k]) => k === 'LimitNOFILE')?.[1]);
    expect(nofile).toBeGreaterThanOrEqual(DEFAULT_NET_LIMITS.trackerMaxConnections + FD_RESERVE);
    expect(d.find(([k]) => k === 'ExecStart')?.[1]).toMatch(/superdist\.cjs tracker /);
    // The tracker reads the same limit at start (/proc/self/limits) to log it.
    expect(openFileLimit('Limit                     Soft Limit           Hard Limit           Units\nMax open files            8192                 524288               files\n')).toBe(8192);
  });
});
