// Runs mpv as a child process and drives it over JSON IPC: play/stop/OSD/screenshot, stall and
// first-frame events, and automatic restart with exponential backoff when mpv dies.
//
// mpv starts with `--idle=yes` (it stays up with nothing to play) and, when headless,
// `--vo=null --ao=null`; otherwise it opens its normal output fullscreen, and `extraArgs` choose
// the output (`--vo=gpu --gpu-context=drm`, `--force-window=yes` for the idle screen, ...).
// mpv ends with this process: it runs under `setpriv --pdeathsig` where available, and a recorder
// (src/platform/child-registry.ts) notes its pid so the next start ends it after a SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dieWithParent, findExecutable, type ChildRecorder } from '../platform/child-registry.js';
import { MpvCommandError, MpvIpc, type MpvEndFile, type MpvIpcWarning } from './mpv-ipc.js';

/** How long mpv may take from spawn to an open IPC socket. */
export const MPV_START_TIMEOUT_MS = 10_000;
/** First restart delay after a crash; doubles per consecutive crash up to the cap. */
export const MPV_RESTART_INITIAL_MS = 500;
export const MPV_RESTART_MAX_MS = 30_000;
/** A run this long counts as healthy: the next crash starts the backoff over. */
export const MPV_RESTART_STABLE_MS = 60_000;
/** Grace between SIGTERM and SIGKILL on close. */
export const MPV_KILL_GRACE_MS = 2000;
const SOCKET_POLL_MS = 25;
const STDERR_TAIL_CHARS = 4000;

export interface MpvPlayerOptions {
  /** The mpv binary (a name on PATH or a path); "mpv" by default. */
  binary?: string;
  /** `--vo=null --ao=null`: no window, no sound (tests, a box without a TV). */
  headless?: boolean;
  /** More mpv options, appended last (so they win over the defaults). */
  extraArgs?: string[];
  /** IPC socket path; a fresh private temp dir by default (removed by close()). */
  socketPath?: string;
  startTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Restart mpv when it dies (default true). */
  autoRestart?: boolean;
  restartInitialMs?: number;
  restartMaxMs?: number;
  restartStableMs?: number;
  /** Notes each mpv process while it runs (the service's child registry). */
  children?: ChildRecorder;
}

export interface MpvCrash {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds until the restart attempt, undefined when no restart follows. */
  restartInMs: number | undefined;
  stderrTail: string;
}

export type MpvPlayerEventMap = {
  started: [{ pid: number | undefined }];
  crash: [MpvCrash];
  /** mpv is back after a crash (and plays the current URL again, if any). */
  restarted: [{ pid: number | undefined; restarts: number }];
  /** `paused-for-cache` changed; `stallCount` counts transitions into a stall since play(). */
  stall: [{ stalled: boolean; stallCount: number }];
  'playback-restart': [];
  /** First playback-restart after play(url): milliseconds from play() to the first decoded frame. */
  'first-frame': [{ url: string; ms: number }];
  'end-file': [MpvEndFile];
  warning: [{ code: string; message: string }];
};

/** A rectangle on an overlay's canvas; x1/y1 exclusive. */
export interface OverlayBounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function parseBounds(data: unknown): OverlayBounds | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  const n = [d.x0, d.y0, d.x1, d.y1];
  if (!n.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  const [x0, y0, x1, y1] = n as number[];
  return { x0: x0!, y0: y0!, x1: x1!, y1: y1! };
}

export class MpvNotFoundError extends Error {
  constructor(readonly binary: string) {
    super(`mpv not found: install the mpv package (could not run "${binary}")`);
    this.name = 'MpvNotFoundError';
  }
}

export class MpvPlayer extends EventEmitter<MpvPlayerEventMap> {
  private readonly binary: string;
  private readonly socketPath: string;
  private readonly ownSocketDir: string | undefined;
  private child: ChildProcess | undefined;
  private ipc: MpvIpc | undefined;
  private url: string | undefined;
  /** mpv options for the current url only (loadfile's per-file options). */
  private urlOptions: Record<string, string> | undefined;
  private playStartedAt: number | undefined;
  private stalls = 0;
  private restartCount = 0;
  private crashStreak = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private stderrTail = '';

  constructor(private readonly opts: MpvPlayerOptions = {}) {
    super();
    this.binary = opts.binary ?? 'mpv';
    if (opts.socketPath) {
      this.socketPath = opts.socketPath;
    } else {
      this.ownSocketDir = mkdtempSync(join(tmpdir(), 'superdist-mpv-'));
      this.socketPath = join(this.ownSocketDir, 'mpv.sock');
    }
  }

  /** Spawns mpv and connects to it. Rejects with MpvNotFoundError when the binary is missing. */
  async start(): Promise<void> {
    if (this.closing) throw new Error('mpv player is closed');
    await this.spawnAndConnect();
    this.emit('started', { pid: this.child?.pid });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get currentUrl(): string | undefined {
    return this.url;
  }

  get restarts(): number {
    return this.restartCount;
  }

  get stallCount(): number {
    return this.stalls;
  }

  /** True while mpv runs and its IPC connection is open. */
  get running(): boolean {
    return this.ipc !== undefined && !this.ipc.closed;
  }

  /**
   * Plays `url`, replacing whatever plays, with mpv `options` for this file only. While mpv is
   * restarting, it plays it once back.
   */
  async play(url: string, options?: Record<string, string>): Promise<void> {
    this.url = url;
    this.urlOptions = options;
    this.stalls = 0;
    await this.load(url);
  }

  async stop(): Promise<void> {
    this.url = undefined;
    this.playStartedAt = undefined;
    if (this.running) await this.connection().command('stop');
  }

  /** Shows `text` on the on-screen display for `durationMs`. */
  async osd(text: string, durationMs = 3000): Promise<void> {
    await this.connection().command('show-text', text, durationMs);
  }

  /**
   * Draws ASS event text over everything (mpv's `osd-overlay`, on a `resX`×`resY` canvas scaled to
   * the screen); it stays until removed, whatever plays. Resolves with the rectangle libass laid the
   * text out in (mpv computes it even with `--vo=null`), or undefined when mpv reports none.
   */
  async overlay(id: number, ass: string, resX: number, resY: number): Promise<OverlayBounds | undefined> {
    const data = await this.connection().request({ name: 'osd-overlay', id, format: 'ass-events', data: ass, res_x: resX, res_y: resY, z: 0, compute_bounds: true });
    return parseBounds(data);
  }

  async removeOverlay(id: number): Promise<void> {
    await this.connection().request({ name: 'osd-overlay', id, format: 'none', data: '' });
  }

  /** Writes the current video frame (without OSD/subtitles) to `file`; the format follows the extension. */
  async screenshot(file: string): Promise<void> {
    await this.connection().command('screenshot-to-file', file, 'video');
  }

  /** Seconds of media played in the current file, or undefined when nothing plays. */
  async playbackTime(): Promise<number | undefined> {
    try {
      const t = await this.connection().getProperty('playback-time');
      return typeof t === 'number' ? t : undefined;
    } catch (err) {
      if (err instanceof MpvCommandError && err.kind === 'failed') return undefined;
      throw err;
    }
  }

  /** The IPC client, for properties this class does not wrap. Throws while mpv is down. */
  connection(): MpvIpc {
    if (!this.ipc || this.ipc.closed) throw new Error('mpv is not running');
    return this.ipc;
  }

  /** Stops mpv (SIGTERM, then SIGKILL after a grace period) and removes the socket. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.ipc?.close();
    this.ipc = undefined;
    const child = this.child;
    this.child = undefined;
    if (child) await terminate(child);
    rmSync(this.socketPath, { force: true });
    if (this.ownSocketDir) rmSync(this.ownSocketDir, { recursive: true, force: true });
  }

  private async load(url: string): Promise<void> {
    this.playStartedAt = Date.now();
    if (this.running) await this.connection().loadfile(url, 'replace', this.urlOptions);
  }

  private args(): string[] {
    const args = ['--idle=yes', `--input-ipc-server=${this.socketPath}`, '--no-input-terminal', '--msg-level=all=warn'];
    if (this.opts.headless) args.push('--vo=null', '--ao=null');
    else args.push('--fullscreen');
    return [...args, ...(this.opts.extraArgs ?? [])];
  }

  private async spawnAndConnect(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    this.stderrTail = '';
    const exe = findExecutable(this.binary);
    if (!exe) throw new MpvNotFoundError(this.binary);
    const [cmd, ...argv] = dieWithParent([exe, ...this.args()]);
    const child = spawn(cmd!, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const pid = child.pid;
    if (pid !== undefined) {
      try {
        this.opts.children?.record(pid, exe);
      } catch (err) {
        this.emit('warning', { code: 'mpv-not-recorded', message: `cannot record mpv (pid ${pid}) in the child registry: ${(err as Error).message}` });
      }
      child.once('exit', () => this.opts.children?.forget(pid));
    }
    const keep = (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited: Error | undefined;
    child.once('error', (err: NodeJS.ErrnoException) => {
      exited = err.code === 'ENOENT' ? new MpvNotFoundError(this.binary) : new Error(`cannot run mpv ("${this.binary}"): ${err.message}`);
    });
    let connected = false;
    child.once('exit', (code, signal) => {
      exited ??= new Error(`mpv exited (${signal ?? `code ${code}`}) before opening its IPC socket: ${this.stderrTail.trim() || 'no output'}`);
      if (this.child !== child) return;
      this.child = undefined;
      // Only a running player crashes; a failed start is reported by the caller of spawnAndConnect.
      if (connected) this.onExit(code, signal);
    });

    const deadline = Date.now() + (this.opts.startTimeoutMs ?? MPV_START_TIMEOUT_MS);
    let ipc: MpvIpc | undefined;
    while (!ipc) {
      if (exited) throw exited;
      if (this.closing) throw new Error('mpv player closed while starting');
      try {
        ipc = await MpvIpc.connect(this.socketPath, { timeoutMs: this.opts.commandTimeoutMs });
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`mpv did not open its IPC socket ${this.socketPath} within ${this.opts.startTimeoutMs ?? MPV_START_TIMEOUT_MS} ms`);
        }
        await sleep(SOCKET_POLL_MS);
      }
    }
    if (exited || this.child !== child) {
      ipc.close();
      throw exited ?? new Error('mpv player closed while starting');
    }
    connected = true;
    this.ipc = ipc;
    this.startedAt = Date.now();
    this.wire(ipc);
    await ipc.observeProperty('paused-for-cache');
  }

  private wire(ipc: MpvIpc): void {
    ipc.on('warning', (w: MpvIpcWarning) => this.emit('warning', w));
    ipc.on('end-file', (e) => this.emit('end-file', e));
    ipc.on('playback-restart', () => {
      if (this.playStartedAt !== undefined && this.url !== undefined) {
        this.emit('first-frame', { url: this.url, ms: Date.now() - this.playStartedAt });
        this.playStartedAt = undefined;
      }
      this.emit('playback-restart');
    });
    ipc.on('property-change', (p) => {
      if (p.name !== 'paused-for-cache' || typeof p.value !== 'boolean') return;
      if (p.value) this.stalls++;
      this.emit('stall', { stalled: p.value, stallCount: this.stalls });
    });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.ipc?.close();
    this.ipc = undefined;
    if (this.closing) return;
    if (Date.now() - this.startedAt >= (this.opts.restartStableMs ?? MPV_RESTART_STABLE_MS)) this.crashStreak = 0;
    const restart = this.opts.autoRestart ?? true;
    const delay = restart ? this.backoffMs() : undefined;
    this.emit('crash', { code, signal, restartInMs: delay, stderrTail: this.stderrTail.trim() });
    if (delay !== undefined) this.scheduleRestart(delay);
  }

  private backoffMs(): number {
    const initial = this.opts.restartInitialMs ?? MPV_RESTART_INITIAL_MS;
    const cap = this.opts.restartMaxMs ?? MPV_RESTART_MAX_MS;
    const delay = Math.min(cap, initial * 2 ** Math.min(this.crashStreak, 30));
    this.crashStreak++;
    return delay;
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delayMs);
  }

  private async restart(): Promise<void> {
    if (this.closing) return;
    try {
      await this.spawnAndConnect();
    } catch (err) {
      if (this.closing) return;
      // A child that exited already scheduled the next attempt through onExit; a spawn error did not.
      const delay = this.backoffMs();
      this.emit('warning', { code: 'mpv-restart-failed', message: `${(err as Error).message}; next attempt in ${delay} ms` });
      this.scheduleRestart(delay);
      return;
    }
    this.restartCount++;
    this.emit('restarted', { pid: this.child?.pid, restarts: this.restartCount });
    const url = this.url;
    if (url !== undefined) {
      try {
        await this.load(url);
      } catch (err) {
        this.emit('warning', { code: 'mpv-replay-failed', message: `mpv restarted but could not play ${url} again: ${(err as Error).message}` });
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function terminate(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), MPV_KILL_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
