// A thin typed client of mpv's JSON IPC (`--input-ipc-server=PATH`, see mpv's "JSON IPC" manual).
//
// The protocol is newline-delimited JSON both ways. Commands carry an integer `request_id`; mpv
// answers `{"request_id":N,"error":"success","data":...}` or an error string. Lines without a
// request_id and with an `event` field are events. Everything mpv sends that is not valid JSON is
// reported as a `warning` event, never thrown.
//
// Checked on mpv 0.35.1 here: the named-argument form `{"command":{"name":"loadfile","url":U,
// "flags":"replace"}}` is accepted and answered with `{"data":{"playlist_entry_id":N}}` (mpv 0.38
// inserted an `index` argument before `options`, so the positional form is not portable); a
// missing property answers "property not found", an unknown command "invalid parameter", an
// unavailable property (e.g. `playback-time` while idle) "property unavailable".
import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';

/** Default time to wait for mpv's answer to one command. */
export const MPV_COMMAND_TIMEOUT_MS = 5000;
/** Longest line accepted from mpv (a `track-list` of a big file is a few KiB; this is generous). */
export const MPV_MAX_LINE_CHARS = 4 * 1024 * 1024;

export type MpvValue = string | number | boolean | null | MpvValue[] | { [key: string]: MpvValue };

/** A positional command (`["set_property", "pause", true]`) or a named one (`{name: "loadfile", ...}`). */
export type MpvCommand = MpvValue[] | ({ name: string } & { [key: string]: MpvValue });

export interface MpvRawEvent {
  event: string;
  [key: string]: unknown;
}

export interface MpvEndFile {
  /** eof, stop, quit, error, redirect or unknown. */
  reason: string;
  /** mpv's text when reason is "error" (e.g. "loading failed"). */
  fileError?: string;
  playlistEntryId?: number;
}

export interface MpvPropertyChange {
  /** The id passed to observe_property. */
  id: number;
  name: string;
  /** undefined when the property is unavailable (mpv leaves `data` out). */
  value: unknown;
}

export interface MpvIpcWarning {
  code: 'malformed-line' | 'line-too-long' | 'unexpected-reply';
  message: string;
}

export type MpvIpcEventMap = {
  /** Every event mpv sends, as received. */
  event: [MpvRawEvent];
  'start-file': [{ playlistEntryId?: number }];
  'file-loaded': [];
  'playback-restart': [];
  'end-file': [MpvEndFile];
  idle: [];
  'property-change': [MpvPropertyChange];
  warning: [MpvIpcWarning];
  /** The connection is gone (closed by us, by mpv, or mpv died). */
  close: [];
};

export type MpvCommandFailure = 'failed' | 'timeout' | 'closed';

export class MpvCommandError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly kind: MpvCommandFailure,
    /** mpv's error string when kind is "failed". */
    readonly mpvError?: string,
  ) {
    super(message);
    this.name = 'MpvCommandError';
  }
}

export interface MpvIpcOptions {
  /** Per-command answer timeout; MPV_COMMAND_TIMEOUT_MS by default. */
  timeoutMs?: number;
}

interface Pending {
  command: string;
  resolve: (data: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class MpvIpc extends EventEmitter<MpvIpcEventMap> {
  /** Connects to mpv's IPC socket at `path`. */
  static connect(path: string, opts: MpvIpcOptions = {}): Promise<MpvIpc> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const onError = (err: NodeJS.ErrnoException) => {
        sock.destroy();
        reject(new Error(`cannot connect to mpv IPC socket ${path}: ${err.code ?? err.message}`));
      };
      sock.once('error', onError);
      sock.once('connect', () => {
        sock.off('error', onError);
        resolve(new MpvIpc(sock, opts));
      });
    });
  }

  private readonly pending = new Map<number, Pending>();
  private readonly timedOut = new Set<number>();
  private readonly timeoutMs: number;
  private nextRequestId = 1;
  private nextObserverId = 1;
  private partial = '';
  private discarding = false;
  private isClosed = false;
  private malformed = 0;

  constructor(
    private readonly socket: Socket,
    opts: MpvIpcOptions = {},
  ) {
    super();
    this.timeoutMs = opts.timeoutMs ?? MPV_COMMAND_TIMEOUT_MS;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Lines from mpv that were not JSON objects (or too long), since connecting. */
  get malformedLines(): number {
    return this.malformed;
  }

  /** Sends a positional command: `command("set_property", "pause", true)`. Resolves with mpv's `data`. */
  command(...args: MpvValue[]): Promise<unknown> {
    return this.request(args);
  }

  /** Sends a positional or named command with an optional timeout of its own. */
  request(cmd: MpvCommand, timeoutMs = this.timeoutMs): Promise<unknown> {
    const name = Array.isArray(cmd) ? String(cmd[0]) : cmd.name;
    if (this.isClosed) {
      return Promise.reject(new MpvCommandError(`mpv command "${name}" not sent: the IPC connection is closed`, name, 'closed'));
    }
    const id = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.timedOut.add(id);
        if (this.timedOut.size > 1000) this.timedOut.delete(this.timedOut.values().next().value as number);
        reject(new MpvCommandError(`mpv command "${name}": no answer within ${timeoutMs} ms`, name, 'timeout'));
      }, timeoutMs);
      this.pending.set(id, { command: name, resolve, reject, timer });
      this.socket.write(`${JSON.stringify({ command: cmd, request_id: id })}\n`);
    });
  }

  /**
   * Loads `url` with the named-argument form that mpv 0.35 … 0.40 all accept; `options` are set for
   * this file only (e.g. `{ 'demuxer-lavf-o': 'skip_estimate_duration_from_pts=1' }`, checked on 0.35.1).
   */
  async loadfile(url: string, flags: 'replace' | 'append' | 'append-play' = 'replace', options?: Record<string, string>): Promise<void> {
    await this.request({ name: 'loadfile', url, flags, ...(options && Object.keys(options).length > 0 ? { options } : {}) });
  }

  async getProperty<T = unknown>(name: string): Promise<T> {
    return (await this.request(['get_property', name])) as T;
  }

  async setProperty(name: string, value: MpvValue): Promise<void> {
    await this.request(['set_property', name, value]);
  }

  /** Starts `property-change` events for `name`; returns the observer id they carry. */
  async observeProperty(name: string): Promise<number> {
    const id = this.nextObserverId++;
    await this.request(['observe_property', id, name]);
    return id;
  }

  async unobserveProperty(id: number): Promise<void> {
    await this.request(['unobserve_property', id]);
  }

  /** Closes the connection; commands still waiting are rejected. */
  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  private onData(data: string): void {
    let text = data;
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl < 0) break;
      const head = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      if (this.partial.length + head.length > MPV_MAX_LINE_CHARS) {
        this.partial = '';
        this.tooLong();
        continue;
      }
      const line = this.partial + head;
      this.partial = '';
      this.onLine(line);
    }
    if (this.discarding) return;
    this.partial += text;
    if (this.partial.length > MPV_MAX_LINE_CHARS) {
      this.partial = '';
      this.discarding = true;
      this.tooLong();
    }
  }

  private tooLong(): void {
    this.malformed++;
    this.emit('warning', { code: 'line-too-long', message: `mpv sent a line longer than ${MPV_MAX_LINE_CHARS} characters; dropped it` });
  }

  private onLine(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = undefined;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.malformed++;
      this.emit('warning', { code: 'malformed-line', message: `mpv sent a line that is not a JSON object: ${clip(line)}` });
      return;
    }
    const obj = msg as Record<string, unknown>;
    if (typeof obj.event === 'string') {
      this.onEvent(obj as MpvRawEvent);
    } else if (typeof obj.request_id === 'number') {
      this.onReply(obj.request_id, obj);
    } else {
      this.malformed++;
      this.emit('warning', { code: 'malformed-line', message: `mpv sent an object that is neither an event nor a reply: ${clip(line)}` });
    }
  }

  private onReply(id: number, obj: Record<string, unknown>): void {
    const p = this.pending.get(id);
    if (!p) {
      if (this.timedOut.delete(id)) return; // a late answer to a command that already timed out
      this.emit('warning', { code: 'unexpected-reply', message: `mpv answered request ${id}, which was never sent` });
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    const error = obj.error;
    if (error === 'success') p.resolve(obj.data);
    else {
      const text = typeof error === 'string' ? error : JSON.stringify(error);
      p.reject(new MpvCommandError(`mpv command "${p.command}" failed: ${text}`, p.command, 'failed', text));
    }
  }

  private onEvent(ev: MpvRawEvent): void {
    this.emit('event', ev);
    const entry = typeof ev.playlist_entry_id === 'number' ? ev.playlist_entry_id : undefined;
    switch (ev.event) {
      case 'start-file':
        this.emit('start-file', { playlistEntryId: entry });
        break;
      case 'file-loaded':
        this.emit('file-loaded');
        break;
      case 'playback-restart':
        this.emit('playback-restart');
        break;
      case 'idle':
        this.emit('idle');
        break;
      case 'end-file': {
        const end: MpvEndFile = { reason: typeof ev.reason === 'string' ? ev.reason : 'unknown' };
        if (typeof ev.file_error === 'string') end.fileError = ev.file_error;
        if (entry !== undefined) end.playlistEntryId = entry;
        this.emit('end-file', end);
        break;
      }
      case 'property-change':
        this.emit('property-change', {
          id: typeof ev.id === 'number' ? ev.id : 0,
          name: typeof ev.name === 'string' ? ev.name : '',
          value: ev.data,
        });
        break;
      default:
        break;
    }
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new MpvCommandError(`mpv command "${p.command}": the IPC connection closed before mpv answered`, p.command, 'closed'));
    }
    this.emit('close');
  }
}

function clip(s: string, max = 120): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
