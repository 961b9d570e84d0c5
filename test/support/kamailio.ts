// Runs the repository's Kamailio configuration (ims/kamailio/kamailio.cfg) in the foreground for a
// test: free UDP+TCP port on 127.0.0.1, its own run dir and pid file, and a db_text subscriber
// table generated from the users given (HA1 only). restart() stops it (usrloc is memory-only, so
// every binding is lost) and starts it again on the same port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAMAILIO_CFG = fileURLToPath(new URL('../../ims/kamailio/kamailio.cfg', import.meta.url));

export interface KamailioOptions {
  domain: string;
  /** user → password */
  users: Record<string, string>;
  minExpiresS?: number;
}

export interface KamailioCore {
  host: string;
  /** Same number for UDP and TCP. */
  port: number;
  registrar: string;
  domain: string;
  version: string;
  /** Kamailio's recent stdout/stderr (for failure messages). */
  output(): string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function kamailioBinary(): string | undefined {
  for (const p of ['/usr/sbin/kamailio', '/usr/local/sbin/kamailio']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v kamailio'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A port free for both TCP and UDP on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((res, rej) => {
      const srv = net.createServer();
      srv.once('error', rej);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => res(p));
      });
    });
    const udpFree = await new Promise<boolean>((res) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => res(false));
      s.bind(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port for Kamailio');
}

function writeDb(dir: string, o: KamailioOptions): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'version'),
    'id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:subscriber:7\n0:location:9\n0:location_attrs:1\n',
  );
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const rows = Object.entries(o.users).map(
    ([user, pw], i) => `${i + 1}:${user}:${o.domain}::${md5(`${user}:${o.domain}:${pw}`)}:${md5(`${user}@${o.domain}:${o.domain}:${pw}`)}`,
  );
  writeFileSync(
    join(dir, 'subscriber'),
    `id(int,auto) username(string) domain(string) password(string,null) ha1(string) ha1b(string) \n${rows.join('\n')}\n`,
  );
}

/** Sends OPTIONS to the core over UDP until it answers (or the deadline passes). */
async function waitReady(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.on('error', () => undefined);
  try {
    let answered = false;
    sock.on('message', (m) => {
      if (/^SIP\/2\.0 200/.test(m.toString())) answered = true;
    });
    const local = sock.address().port;
    for (let i = 0; !answered; i++) {
      if (!alive()) throw new Error('kamailio exited during start-up');
      if (Date.now() > deadline) throw new Error(`kamailio did not answer OPTIONS on 127.0.0.1:${port} within ${timeoutMs} ms`);
      const probe =
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bKprobe${i}${Date.now()};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p${i}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe-${i}-${Date.now()}\r\n` +
        `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      sock.send(probe, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    sock.close();
  }
}

export async function startKamailio(o: KamailioOptions): Promise<KamailioCore> {
  const bin = kamailioBinary();
  if (!bin) throw new Error('kamailio is not installed (apt-get install kamailio; scripts/lib/setup.sh does it as root)');
  const version = /kamailio\s+(\S+)/.exec(spawnSync(bin, ['-v'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  const dir = mkdtempSync(join(tmpdir(), 'sd-kamailio-'));
  const dbDir = join(dir, 'db');
  writeDb(dbDir, o);
  const port = await freePort();
  let child: ChildProcess | undefined;
  let out = '';
  let generation = 0;

  const launch = async () => {
    const runDir = join(dir, `run${generation++}`);
    mkdirSync(runDir, { recursive: true });
    const args = [
      '-f', KAMAILIO_CFG, '-DD', '-E', '-m', '32', '-M', '4',
      '-Y', runDir, '-P', join(runDir, 'kamailio.pid'),
      '-l', `udp:127.0.0.1:${port}`, '-l', `tcp:127.0.0.1:${port}`,
      '-A', `DBURL="text://${dbDir}"`, '-A', `MIN_EXPIRES=${o.minExpiresS ?? 10}`,
    ];
    const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    child = c;
    try {
      await waitReady(port, 5000, () => c.exitCode === null && c.signalCode === null);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- kamailio output ---\n${out.slice(-3000)}`);
    }
  };

  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => {
      const t = setTimeout(() => c.kill('SIGKILL'), 3000);
      c.once('exit', () => {
        clearTimeout(t);
        r();
      });
      c.kill('SIGTERM');
    });
  };

  await launch();
  return {
    host: '127.0.0.1',
    port,
    registrar: `127.0.0.1:${port}`,
    domain: o.domain,
    version,
    output: () => out,
    restart: async () => {
      await stop();
      await launch();
    },
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
