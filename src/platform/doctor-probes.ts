// The real looks at the system behind `superdist doctor` (src/platform/doctor-checks.ts).
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirWritable } from '../config/state-dir.js';
import { createConnection, createServer } from 'node:net';
import { controlCall } from '../control/control-client.js';
import type { Status } from '../control/status.js';
import type { DaemonInfo, DoctorProbes, RunResult } from './doctor-checks.js';
import { stateDirHolder } from './state-dir-lock.js';
import { listSecretEntries } from './secret-files.js';

export interface ProbeTimeouts {
  /** Each program run (mpv --version, timedatectl, ...). */
  runMs: number;
  /** The TCP connect to the tracker. */
  connectMs: number;
  /** The control socket's answer. */
  controlMs: number;
}

export const DEFAULT_PROBE_TIMEOUTS: ProbeTimeouts = { runMs: 5000, connectMs: 3000, controlMs: 3000 };

function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult | 'missing'> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } });
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-20_000)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    child.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT' ? 'missing' : { code: null, stdout, stderr: err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function connect(host: string, port: number, timeoutMs: number): Promise<{ ms: number } | { error: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = createConnection({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ error: `no connection within ${timeoutMs} ms` });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ms: Date.now() - t0 });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: err.code ?? err.message });
    });
  });
}

function bind(host: string, port: number): Promise<'free' | string> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve('free')));
  });
}

async function daemon(control: string, timeoutMs: number): Promise<DaemonInfo | { error: string }> {
  try {
    const s = (await controlCall(control, 'status', {}, timeoutMs)) as Status;
    return {
      ...(s.node.pid !== undefined ? { pid: s.node.pid } : {}),
      ...(s.node.stateDir !== undefined ? { stateDir: s.node.stateDir } : {}),
      role: s.node.role,
      version: s.node.version,
      contact: s.node.contact,
      webUrls: s.web?.urls ?? [],
    };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function systemProbes(t: ProbeTimeouts = DEFAULT_PROBE_TIMEOUTS): DoctorProbes {
  return {
    uid: process.getuid?.() ?? 0,
    run: (cmd, args) => run(cmd, args, t.runMs),
    exists: existsSync,
    writable: dirWritable,
    lockHolder: (dir) => {
      try {
        return stateDirHolder(dir);
      } catch {
        return undefined;
      }
    },
    daemon: (control) => daemon(control, t.controlMs),
    connect: (host, port) => connect(host, port, t.connectMs),
    bind,
    secrets: (dir) => {
      try {
        return { ownerUid: statSync(dir).uid, entries: listSecretEntries(dir) };
      } catch {
        return undefined;
      }
    },
  };
}
