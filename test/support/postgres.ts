// A throwaway PostgreSQL cluster for a test: Debian's server binaries (/usr/lib/postgresql/<ver>/bin,
// off PATH), run as the postgres user (PostgreSQL refuses root) in a temporary directory owned by
// it, on a free loopback port, with its Unix socket in that directory and trust authentication.
// stop() ends it (fast shutdown, then SIGKILL); a process 'exit' hook kills it too, so a failing
// or interrupted test never leaves a postmaster behind. restart() stops and starts it on the same
// port and data (an outage the clients must ride out).
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  /** postgres://superdist@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dir: string;
  /** Fast shutdown; resolves when the server is gone. Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** SQL through psql as the superuser; stdout (tuples only, unaligned). Throws with psql's stderr. */
  psql(sql: string): string;
  /** Stops and deletes the data directory. */
  destroy(): Promise<void>;
}

export const PG_USER = 'superdist';

/** Root is needed to run the server as the postgres user; tests skip (saying so) otherwise. */
export function canRunPostgres(): boolean {
  return process.getuid?.() === 0;
}

/** The newest installed server's bin directory, or undefined (the setup installs `postgresql`). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

function asPostgres(argv: string[], timeout = 60_000): { status: number | null; out: string } {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', ...argv], { encoding: 'utf8', timeout });
  return { status: r.status, out: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

function postmasterPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a fresh cluster; throws naming what is missing or what initdb / pg_ctl said. */
export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql; scripts/lib/setup.sh does it)');
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('no postgres user on this machine (the postgresql package creates it)');
  const dir = mkdtempSync(join(tmpdir(), 'sd-pg-'));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const init = asPostgres([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', PG_USER, '--no-sync', '-E', 'UTF8']);
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.out.slice(-2000)}`);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100`;
  let pid: number | undefined;
  const killHook = () => {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  };
  process.on('exit', killHook);
  const start = async () => {
    const r = asPostgres([join(bin, 'pg_ctl'), '-D', data, '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    if (r.status !== 0) throw new Error(`pg_ctl start failed (${r.status}): ${r.out.slice(-1000)}\n${readLog(dir)}`);
    pid = postmasterPid(data);
  };
  const stop = async () => {
    if (pid === undefined || !alive(pid)) return;
    asPostgres([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', '-t', '20', 'stop']);
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    await start();
  } catch (err) {
    process.off('exit', killHook);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://${PG_USER}@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop,
    start,
    psql(sql: string): string {
      const r = spawnSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) throw new Error(`psql ${JSON.stringify(sql)} failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    async destroy() {
      await stop();
      process.off('exit', killHook);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000);
  } catch {
    return '';
  }
}
