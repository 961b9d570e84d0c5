// `superdist doctor`: what a box needs, checked one by one, each with ok / warn / fail and a fix.
// Pure logic: every look at the system goes through DoctorProbes (src/platform/doctor-probes.ts
// has the real ones; tests inject fakes).
import { dirname } from 'node:path';
import type { Config } from '../config/schema.js';
import { parseHostPort } from '../config/address.js';
import type { LockHolder } from './pid-lock.js';
import { secretProblems, SECRET_PATHS, type SecretEntry } from './secret-files.js';
import { checkUpdates } from '../update/update-check.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  level: CheckLevel;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What `status` of a running service tells the doctor. */
export interface DaemonInfo {
  pid?: number;
  role: string;
  version: string;
  contact: string;
  stateDir?: string;
  webUrls: string[];
}

export interface DoctorProbes {
  uid: number;
  /** Runs a program; 'missing' when it is not found. */
  run(cmd: string, args: string[]): Promise<RunResult | 'missing'>;
  exists(path: string): boolean;
  /** May this process create entries in the existing directory `dir`? */
  writable(dir: string): boolean;
  lockHolder(stateDir: string): LockHolder | undefined;
  /** The service answering on the control socket, or why none does. */
  daemon(control: string): Promise<DaemonInfo | { error: string }>;
  /** TCP connect with a timeout: the time it took, or the error. */
  connect(host: string, port: number): Promise<{ ms: number } | { error: string }>;
  /** Binds HOST:PORT for a moment: 'free' or the error code (EADDRINUSE, EACCES, ...). */
  bind(host: string, port: number): Promise<'free' | string>;
  /** The state directory's owner and its secret files (src/platform/secret-files.ts); undefined when it does not exist. */
  secrets(stateDir: string): { ownerUid: number; entries: SecretEntry[] } | undefined;
}

const ok = (name: string, detail: string): CheckResult => ({ name, level: 'ok', detail });
const warn = (name: string, detail: string, fix: string): CheckResult => ({ name, level: 'warn', detail, fix });
const bad = (name: string, detail: string, fix: string): CheckResult => ({ name, level: 'fail', detail, fix });

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim())?.trim() ?? '';
}

export async function checkPlayer(cfg: Config, p: DoctorProbes): Promise<CheckResult> {
  const name = 'player';
  if (cfg.player.kind === 'none') return ok(name, 'player.kind is none: this box relays and records, nothing plays');
  const bin = cfg.player.binary;
  const r = await p.run(bin, ['--version']);
  if (r === 'missing') {
    return bad(name, `${bin} not found${bin.includes('/') ? '' : ' on PATH'}: the TV cannot play`, `apt-get install mpv (or set player.binary to its path; player.kind none relays and records without playing)`);
  }
  if (r.code !== 0) return bad(name, `${bin} --version failed (exit ${r.code}): ${firstLine(r.stderr) || firstLine(r.stdout)}`, `reinstall mpv: apt-get install --reinstall mpv`);
  const line = firstLine(r.stdout);
  const version = /^mpv\s+v?(\S+)/.exec(line)?.[1];
  return ok(name, version ? `mpv ${version}` : line || `${bin} runs`);
}

export async function checkFfmpeg(cfg: Config, p: DoctorProbes): Promise<CheckResult> {
  const name = 'ffmpeg';
  const r = await p.run('ffmpeg', ['-version']);
  const source = cfg.source.channel ? ` (this box publishes ${cfg.source.channel})` : '';
  if (r === 'missing' || r.code !== 0) {
    return warn(name, `ffmpeg ${r === 'missing' ? 'not found on PATH' : 'does not run'}: a source needs it to make MPEG-TS from other formats${source}`, 'apt-get install ffmpeg');
  }
  const version = /^ffmpeg version (\S+)/.exec(firstLine(r.stdout))?.[1];
  return ok(name, version ? `ffmpeg ${version}` : 'ffmpeg runs');
}

/** The nearest existing directory at or above `path`. */
function nearestExisting(path: string, p: DoctorProbes): string {
  let dir = path;
  while (!p.exists(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export function checkStateDir(cfg: Config, p: DoctorProbes, daemon: DaemonInfo | undefined): CheckResult {
  const name = 'state dir';
  const dir = cfg.stateDir;
  const elsewhere = 'run as root or as the service\'s user, or choose another directory with --state-dir DIR';
  if (!p.exists(dir)) {
    const parent = nearestExisting(dir, p);
    return p.writable(parent)
      ? ok(name, `${dir} does not exist yet; the service creates it`)
      : bad(name, `${dir} does not exist and ${parent} is not writable for uid ${p.uid}`, elsewhere);
  }
  if (!p.writable(dir)) return bad(name, `${dir} is not writable for uid ${p.uid}`, elsewhere);
  const holder = p.lockHolder(dir);
  if (!holder) return ok(name, `${dir}: writable, not in use`);
  if (!holder.alive) return ok(name, `${dir}: writable; a stale lock of pid ${holder.pid || '?'} (gone) is taken over at the next start`);
  if (daemon?.pid === holder.pid) return ok(name, `${dir}: in use by the running superdist ${daemon.role} (pid ${holder.pid})`);
  return bad(name, `${dir} is in use by another superdist process (pid ${holder.pid}): a service started on it exits 2`, `stop it (kill ${holder.pid}), or give this service its own directory with --state-dir DIR`);
}

/** Keys, credentials and counters: 0600 files in 0700 directories, owned by the state directory's owner. */
export function checkSecrets(cfg: Config, p: DoctorProbes): CheckResult {
  const name = 'secrets';
  const found = p.secrets(cfg.stateDir);
  if (!found || found.entries.length === 0) return ok(name, `none in ${cfg.stateDir} yet`);
  const problems = secretProblems(found.entries, found.ownerUid);
  const files = found.entries.filter((e) => !e.dir).length;
  if (!problems.length) return ok(name, `${files} file(s) under ${SECRET_PATHS.join(', ')}: 0600 in 0700 directories, owned by uid ${found.ownerUid}`);
  const paths = SECRET_PATHS.map((x) => `${cfg.stateDir}/${x}`).join(' ');
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  return warn(name, `keys or credentials others may read or that another user owns: ${shown}`, `chmod -R u=rwX,go= ${paths}; chown -R $(stat -c %u ${cfg.stateDir}) ${paths} (as root)`);
}

export function checkControl(cfg: Config, p: DoctorProbes, daemon: DaemonInfo | { error: string }): CheckResult {
  const name = 'control socket';
  const path = cfg.control;
  if (!('error' in daemon)) return ok(name, `${path}: superdist ${daemon.role} ${daemon.version}${daemon.pid ? ` (pid ${daemon.pid})` : ''} answers`);
  if (p.exists(path)) return warn(name, `${path}: ${daemon.error}`, 'restart the service (systemctl restart superdist); join the superdist group if permission is denied');
  const parent = nearestExisting(dirname(path), p);
  if (!p.writable(parent)) return bad(name, `${path}: no service, and ${parent} is not writable for uid ${p.uid}: a service run by this user cannot create it`, 'run the service as root or its user, or choose another socket with --control PATH');
  return warn(name, `${path}: no superdist service answers`, 'start it: systemctl start superdist (or superdist node ...)');
}

export async function checkTracker(cfg: Config, p: DoctorProbes): Promise<CheckResult> {
  const name = 'tracker';
  const role = cfg.node.role;
  if (role === 'tracker') return ok(name, 'this box is the tracker');
  if (!cfg.tracker) {
    if (cfg.ims.enabled) return ok(name, 'the tracker comes with the IMS ticket');
    if (role === 'local') return ok(name, 'a local node finds its local tracker on the segment');
    return warn(name, 'no tracker configured', 'set tracker HOST:PORT in the configuration (or --tracker HOST:PORT)');
  }
  const c = parseHostPort(cfg.tracker);
  if (typeof c === 'string') return bad(name, `tracker ${cfg.tracker}: ${c}`, 'fix the tracker address (HOST:PORT)');
  const r = await p.connect(c.host, c.port);
  if ('error' in r) return bad(name, `${cfg.tracker} does not accept TCP: ${r.error}`, 'check the address, that the tracker runs, and the network and firewall in between');
  return ok(name, `${cfg.tracker} accepts TCP (${r.ms} ms)`);
}

/** The addresses a service of this configuration listens on, each with what it is for. */
function listenAddresses(cfg: Config, byDefault: boolean): { what: string; addr: string }[] {
  const out = [{ what: 'peer protocol (listen)', addr: cfg.listen }];
  const web = cfg.web.enabled === true || (cfg.web.enabled === 'auto' && byDefault);
  if (web) {
    if (cfg.web.listen.length) out.push(...cfg.web.listen.map((addr) => ({ what: 'web remote (web.listen)', addr })));
    else out.push({ what: 'web remote (web.port)', addr: `0.0.0.0:${cfg.web.port}` });
  }
  const stream = parseHostPort(cfg.streamListen);
  if (typeof stream !== 'string' && stream.port !== 0) out.push({ what: 'player stream (streamListen)', addr: cfg.streamListen });
  return out;
}

function portOf(hostPort: string): number | undefined {
  const m = /:(\d+)\/?$/.exec(hostPort.replace(/^https?:\/\//, '').replace(/\/.*$/, ''));
  return m ? Number(m[1]) : undefined;
}

/** Is `port` one the running service listens on (peer protocol, web)? */
function ourPort(daemon: DaemonInfo | undefined, port: number): boolean {
  if (!daemon) return false;
  return portOf(daemon.contact) === port || daemon.webUrls.some((u) => portOf(u) === port);
}

export async function checkPorts(cfg: Config, p: DoctorProbes, daemon: DaemonInfo | undefined, webByDefault: boolean): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { what, addr } of listenAddresses(cfg, webByDefault)) {
    const name = `port ${addr}`;
    const c = parseHostPort(addr);
    if (typeof c === 'string') {
      results.push(bad(name, `${what}: ${c}`, 'fix the address (HOST:PORT)'));
      continue;
    }
    if (c.port === 0) {
      results.push(ok(name, `${what}: any free port`));
      continue;
    }
    const r = await p.bind(c.host, c.port);
    if (r === 'free') results.push(ok(name, `${what}: free`));
    else if (r === 'EADDRINUSE' && ourPort(daemon, c.port)) results.push(ok(name, `${what}: held by the running superdist${daemon?.pid ? ` (pid ${daemon.pid})` : ''}`));
    else if (r === 'EADDRINUSE') results.push(bad(name, `${what}: in use by another process`, `stop it (ss -ltnp 'sport = :${c.port}' names it) or choose another port`));
    else if (r === 'EACCES') results.push(bad(name, `${what}: port ${c.port} needs privileges uid ${p.uid} does not have`, 'run as root, grant CAP_NET_BIND_SERVICE, or choose a port above 1023'));
    else if (r === 'EADDRNOTAVAIL') results.push(bad(name, `${what}: ${c.host} is not an address of this box`, 'use one of its addresses or 0.0.0.0'));
    else results.push(bad(name, `${what}: cannot listen (${r})`, 'choose another address'));
  }
  return results;
}

export async function checkClock(p: DoctorProbes): Promise<CheckResult> {
  const name = 'clock';
  const why = 'tickets and rights are valid for a time window: a wrong clock refuses them';
  const td = await p.run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
  if (td !== 'missing' && td.code === 0) {
    const v = td.stdout.trim();
    if (v === 'yes') return ok(name, 'NTP-synchronised (timedatectl)');
    if (v === 'no') return warn(name, `not NTP-synchronised (timedatectl): ${why}`, 'timedatectl set-ntp true, and let the box reach an NTP server (UDP 123)');
  }
  const chrony = await p.run('chronyc', ['tracking']);
  if (chrony !== 'missing' && chrony.code === 0) {
    const leap = /Leap status\s*:\s*(.+)/.exec(chrony.stdout)?.[1]?.trim();
    if (leap === 'Normal') return ok(name, 'NTP-synchronised (chronyc: leap status Normal)');
    if (leap) return warn(name, `not synchronised (chronyc: leap status ${leap}): ${why}`, 'check chrony\'s sources: chronyc sources');
  }
  if (p.exists('/run/systemd/timesync/synchronized')) return ok(name, 'NTP-synchronised (systemd-timesyncd)');
  return warn(name, `synchronisation unknown (no answer from timedatectl or chronyc): ${why}`, 'run systemd-timesyncd or chrony (timedatectl set-ntp true)');
}

export interface DoctorOptions {
  /** The web remote is on when web.enabled is auto (the daemon's case). */
  webByDefault: boolean;
  /** The update agent runs when update.enabled is auto (the daemon's case; default: webByDefault). */
  updatesByDefault?: boolean;
}

/** Every check, in a stable order. */
export async function runDoctor(cfg: Config, p: DoctorProbes, o: DoctorOptions): Promise<CheckResult[]> {
  const daemonAnswer = await p.daemon(cfg.control);
  const daemon = 'error' in daemonAnswer ? undefined : daemonAnswer;
  const [player, ffmpeg, tracker, ports, clock] = await Promise.all([checkPlayer(cfg, p), checkFfmpeg(cfg, p), checkTracker(cfg, p), checkPorts(cfg, p, daemon, o.webByDefault), checkClock(p)]);
  const updates = cfg.update.enabled === 'auto' ? (o.updatesByDefault ?? o.webByDefault) : cfg.update.enabled;
  return [player, ffmpeg, checkStateDir(cfg, p, daemon), checkSecrets(cfg, p), checkControl(cfg, p, daemonAnswer), tracker, ...ports, clock, ...(updates && cfg.node.role !== 'tracker' ? [checkUpdates(cfg, p)] : [])];
}

export function doctorExitCode(results: CheckResult[]): number {
  return results.some((r) => r.level === 'fail') ? 1 : 0;
}
