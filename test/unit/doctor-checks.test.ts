// `superdist doctor`'s checks against fake probes: what each situation reports, at which level,
// with which fix, and the exit code.
import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigLayers } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { checkClock, checkControl, checkPlayer, checkPorts, checkSecrets, checkStateDir, checkTracker, doctorExitCode, runDoctor, type DaemonInfo, type DoctorProbes, type RunResult } from '../../src/platform/doctor-checks.js';
import type { LockHolder } from '../../src/platform/pid-lock.js';
import type { SecretEntry } from '../../src/platform/secret-files.js';

const STATE = '/var/lib/superdist';
const CONTROL = '/run/superdist/control.sock';

function config(flags: Record<string, unknown> = {}, sets: string[] = []): Config {
  const layers: ConfigLayers = { flags: { stateDir: STATE, control: CONTROL, ...flags }, sets };
  return loadConfig(layers);
}

interface World {
  programs?: Record<string, RunResult>;
  paths?: string[];
  writable?: string[];
  lock?: LockHolder;
  daemon?: DaemonInfo;
  trackerError?: string;
  busyPorts?: Record<number, string>;
  uid?: number;
  secrets?: { ownerUid: number; entries: SecretEntry[] };
}

function probes(w: World = {}): DoctorProbes {
  const paths = w.paths ?? ['/', '/var', '/var/lib', STATE, '/run', '/run/superdist'];
  const writable = w.writable ?? paths;
  return {
    uid: w.uid ?? 0,
    run: async (cmd, args) => w.programs?.[`${cmd} ${args.join(' ')}`] ?? 'missing',
    exists: (p) => paths.includes(p),
    writable: (p) => writable.includes(p),
    lockHolder: () => w.lock,
    daemon: async () => w.daemon ?? { error: `no superdist service is listening on ${CONTROL} (is it running? pass --control PATH)` },
    connect: async () => (w.trackerError ? { error: w.trackerError } : { ms: 3 }),
    bind: async (_host, port) => w.busyPorts?.[port] ?? 'free',
    secrets: () => w.secrets,
  };
}

const out = (stdout: string): RunResult => ({ code: 0, stdout, stderr: '' });
const MPV = { 'mpv --version': out('mpv 0.35.1 Copyright © 2000-2022 mpv/MPlayer/mplayer2 projects\n built on UNKNOWN\n') };
const DAEMON: DaemonInfo = { pid: 4242, role: 'node', version: '1.2.3', contact: '192.168.1.5:7878', stateDir: STATE, webUrls: ['http://192.168.1.5:8080/'] };

describe('doctor: player', () => {
  it('a missing mpv fails, with the package to install', async () => {
    const r = await checkPlayer(config(), probes());
    expect(r.level).toBe('fail');
    expect(r.detail).toContain('mpv not found on PATH');
    expect(r.fix).toContain('apt-get install mpv');
  });

  it('a present mpv is ok with its version; player.kind none needs none', async () => {
    expect(await checkPlayer(config(), probes({ programs: MPV }))).toMatchObject({ level: 'ok', detail: 'mpv 0.35.1' });
    expect((await checkPlayer(config({ player: { kind: 'none' } }), probes())).level).toBe('ok');
  });
});

describe('doctor: state directory', () => {
  it('writable and free is ok; missing but creatable is ok', () => {
    expect(checkStateDir(config(), probes(), undefined)).toMatchObject({ level: 'ok', detail: `${STATE}: writable, not in use` });
    expect(checkStateDir(config(), probes({ paths: ['/', '/var', '/var/lib'] }), undefined).detail).toContain('does not exist yet');
  });

  it('not writable for this user fails, suggesting --state-dir', () => {
    const r = checkStateDir(config(), probes({ uid: 1000, writable: [] }), undefined);
    expect(r.level).toBe('fail');
    expect(r.detail).toBe(`${STATE} is not writable for uid 1000`);
    expect(r.fix).toContain('--state-dir');
  });

  it('locked by the running daemon is ok and names its pid', () => {
    const r = checkStateDir(config(), probes({ lock: { pid: 4242, startTime: '9', alive: true } }), DAEMON);
    expect(r.level).toBe('ok');
    expect(r.detail).toContain('in use by the running superdist node (pid 4242)');
  });

  it('locked by another live process fails, naming it', () => {
    const r = checkStateDir(config(), probes({ lock: { pid: 777, startTime: '9', alive: true } }), DAEMON);
    expect(r.level).toBe('fail');
    expect(r.detail).toContain('in use by another superdist process (pid 777)');
    expect(r.fix).toContain('--state-dir');
  });

  it('a stale lock is ok: the next start takes it over', () => {
    expect(checkStateDir(config(), probes({ lock: { pid: 777, startTime: '9', alive: false } }), undefined)).toMatchObject({ level: 'ok' });
  });
});

describe('doctor: control socket', () => {
  it('a daemon answering is ok; none is a warning; an uncreatable socket fails', () => {
    expect(checkControl(config(), probes(), DAEMON)).toMatchObject({ level: 'ok', detail: `${CONTROL}: superdist node 1.2.3 (pid 4242) answers` });
    expect(checkControl(config(), probes(), { error: 'x' })).toMatchObject({ level: 'warn', detail: `${CONTROL}: no superdist service answers` });
    const stale = checkControl(config(), probes({ paths: ['/', '/run', '/run/superdist', CONTROL] }), { error: 'no answer within 3000 ms' });
    expect(stale).toMatchObject({ level: 'warn', detail: `${CONTROL}: no answer within 3000 ms` });
    const r = checkControl(config(), probes({ uid: 1000, paths: ['/', '/run'], writable: [] }), { error: 'x' });
    expect(r.level).toBe('fail');
    expect(r.detail).toContain('/run is not writable for uid 1000');
  });
});

describe('doctor: tracker', () => {
  it('reachable is ok, unreachable fails, none configured warns, a tracker needs none', async () => {
    expect(await checkTracker(config({ tracker: '10.0.0.1:7878' }), probes())).toMatchObject({ level: 'ok', detail: '10.0.0.1:7878 accepts TCP (3 ms)' });
    const down = await checkTracker(config({ tracker: '10.0.0.1:7878' }), probes({ trackerError: 'ECONNREFUSED' }));
    expect(down).toMatchObject({ level: 'fail', detail: '10.0.0.1:7878 does not accept TCP: ECONNREFUSED' });
    expect(down.fix).toBeTruthy();
    expect((await checkTracker(config(), probes())).level).toBe('warn');
    expect((await checkTracker(config({ node: { role: 'tracker' } }), probes())).level).toBe('ok');
  });
});

describe('doctor: ports', () => {
  it('free is ok, held by the running daemon is ok, held by another process fails', async () => {
    expect(await checkPorts(config(), probes(), undefined, false)).toEqual([{ name: 'port 0.0.0.0:7878', level: 'ok', detail: 'peer protocol (listen): free' }]);
    const ours = await checkPorts(config(), probes({ busyPorts: { 7878: 'EADDRINUSE', 8080: 'EADDRINUSE' } }), DAEMON, true);
    expect(ours.map((r) => [r.name, r.level, r.detail])).toEqual([
      ['port 0.0.0.0:7878', 'ok', 'peer protocol (listen): held by the running superdist (pid 4242)'],
      ['port 0.0.0.0:8080', 'ok', 'web remote (web.port): held by the running superdist (pid 4242)'],
    ]);
    const theirs = await checkPorts(config(), probes({ busyPorts: { 7878: 'EADDRINUSE' } }), undefined, false);
    expect(theirs[0]).toMatchObject({ level: 'fail', detail: 'peer protocol (listen): in use by another process' });
    const low = await checkPorts(config({ listen: '0.0.0.0:80' }), probes({ uid: 1000, busyPorts: { 80: 'EACCES' } }), undefined, false);
    expect(low[0]?.level).toBe('fail');
    expect(low[0]?.fix).toContain('CAP_NET_BIND_SERVICE');
  });
});

describe('doctor: clock', () => {
  it('asks timedatectl, then chronyc, and warns when nothing knows', async () => {
    const td = (v: string) => ({ 'timedatectl show -p NTPSynchronized --value': out(`${v}\n`) });
    expect((await checkClock(probes({ programs: td('yes') }))).level).toBe('ok');
    const no = await checkClock(probes({ programs: td('no') }));
    expect(no.level).toBe('warn');
    expect(no.fix).toContain('timedatectl set-ntp true');
    const chrony = { 'timedatectl show -p NTPSynchronized --value': { code: 1, stdout: '', stderr: 'System has not been booted with systemd' }, 'chronyc tracking': out('Reference ID    : C0A80101\nLeap status     : Normal\n') };
    expect(await checkClock(probes({ programs: chrony }))).toMatchObject({ level: 'ok', detail: 'NTP-synchronised (chronyc: leap status Normal)' });
    expect(await checkClock(probes())).toMatchObject({ level: 'warn' });
    expect((await checkClock(probes())).detail).toContain('unknown');
  });
});

describe('doctor: all checks', () => {
  const healthy: World = {
    programs: { ...MPV, 'ffmpeg -version': out('ffmpeg version 5.1.9 Copyright\n'), 'timedatectl show -p NTPSynchronized --value': out('yes\n') },
    daemon: DAEMON,
    lock: { pid: 4242, startTime: '9', alive: true },
    busyPorts: { 7878: 'EADDRINUSE' },
  };

  it('a healthy box exits 0, and any failure makes it 1', async () => {
    const cfg = config({ tracker: '10.0.0.1:7878' });
    const good = await runDoctor(cfg, probes(healthy), { webByDefault: false });
    expect(good.map((r) => `${r.level} ${r.name}`)).toEqual(['ok player', 'ok ffmpeg', 'ok state dir', 'ok secrets', 'ok control socket', 'ok tracker', 'ok port 0.0.0.0:7878', 'ok clock']);
    expect(doctorExitCode(good)).toBe(0);
    const noMpv = await runDoctor(cfg, probes({ ...healthy, programs: { ...healthy.programs, 'mpv --version': undefined as unknown as RunResult } }), { webByDefault: false });
    expect(noMpv.find((r) => r.name === 'player')?.level).toBe('fail');
    expect(doctorExitCode(noMpv)).toBe(1);
  });
});

describe('doctor: secrets', () => {
  const e = (path: string, mode: number, dir = false, uid = 998): SecretEntry => ({ path: `${STATE}/${path}`, mode, uid, dir });
  it('0600 files in 0700 directories owned by the state directory\'s owner are ok', () => {
    const r = checkSecrets(config(), probes({ secrets: { ownerUid: 998, entries: [e('drm', 0o700, true), e('drm/sign.key', 0o600), e('web-owner.json', 0o600)] } }));
    expect(r).toMatchObject({ level: 'ok', detail: '2 file(s) under channels, drm, web-owner.json, web-tls: 0600 in 0700 directories, owned by uid 998' });
    expect(checkSecrets(config(), probes())).toMatchObject({ level: 'ok', detail: `none in ${STATE} yet` });
  });
  it('warns on a key others may read, an open directory and a file another user owns, with the fix', () => {
    const r = checkSecrets(config(), probes({ secrets: { ownerUid: 998, entries: [e('web-tls', 0o755, true), e('web-tls/key.pem', 0o644), e('channels/a.key', 0o600, false, 0)] } }));
    expect(r.level).toBe('warn');
    expect(r.detail).toBe(
      `keys or credentials others may read or that another user owns: ${STATE}/web-tls is 0755 (want 0700); ${STATE}/web-tls/key.pem is 0644 (want 0600); ${STATE}/channels/a.key is owned by uid 0, not the state directory's owner (uid 998)`,
    );
    expect(r.fix).toContain(`chmod -R u=rwX,go= ${STATE}/channels ${STATE}/drm ${STATE}/web-owner.json ${STATE}/web-tls`);
  });
});
