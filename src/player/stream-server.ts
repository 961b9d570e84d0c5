// The local HTTP server the player reads live channels from: GET /live/<channel>.ts on 127.0.0.1.
//
// Files played on demand (a download while it downloads, a protected file through the DRM agent)
// are served as GET /file/<name> by a handler the caller gives (range-response.ts: byte ranges,
// so the player can seek).
//
// Each channel is a LiveOutput (fed by the node: push/skip/end) with a LiveChannel subscribed to
// it (fan-out to clients, see live-channel.ts) and, with `recordFile`, a Recorder (see recorder.ts
// for which bytes it records). Responses are an endless chunked MPEG-TS body without
// Content-Length or Accept-Ranges, so players treat it as a live, unseekable stream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LiveChannel, type LiveChannelOptions, type LiveChannelStats } from './live-channel.js';
import type { LiveOutput, LiveOutputStats } from './live-output.js';
import { Recorder } from './recorder.js';

export const STREAM_SERVER_HOST = '127.0.0.1';
const CHANNEL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const LIVE_PATH = /^\/live\/([^/]+)\.ts$/;
const FILE_PATH = /^\/file\/([^/]+)$/;

/** Answers the player's requests for one file played on demand. */
export type FileHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface StreamServerOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  channel?: Omit<LiveChannelOptions, 'onWarning'>;
  onWarning?: (w: { code: string; message: string; channel?: string }) => void;
}

export interface AddChannelOptions {
  /** Record the channel's output stream to this file (created or truncated). */
  recordFile?: string;
}

export interface StreamChannelStats extends LiveChannelStats {
  name: string;
  url: string;
  output: LiveOutputStats;
  recording: { file: string; bytesWritten: number; error: string | undefined } | undefined;
}

interface Channel {
  output: LiveOutput;
  fanout: LiveChannel;
  recorder: Recorder | undefined;
  unsubscribe: () => void;
}

export class StreamServer {
  private readonly channels = new Map<string, Channel>();
  private readonly files = new Map<string, FileHandler>();
  private server: Server | undefined;
  private boundPort = 0;

  constructor(private readonly opts: StreamServerOptions = {}) {}

  /** Starts listening; resolves with the port. */
  async listen(): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? STREAM_SERVER_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The URL a player opens for `name`. */
  url(name: string): string {
    return `http://${this.opts.host ?? STREAM_SERVER_HOST}:${this.boundPort}/live/${name}.ts`;
  }

  /** Serves a file played on demand as /file/<name> (name: as a channel's); returns its URL. */
  addFile(name: string, handler: FileHandler): string {
    if (!CHANNEL_NAME.test(name)) throw new RangeError(`file name ${JSON.stringify(name)} must be 1-64 of A-Z a-z 0-9 _ -`);
    this.files.set(name, handler);
    return `http://${this.opts.host ?? STREAM_SERVER_HOST}:${this.boundPort}/file/${name}`;
  }

  removeFile(name: string): void {
    this.files.delete(name);
  }

  /** Serves `output` as /live/<name>.ts. */
  async addChannel(name: string, output: LiveOutput, opts: AddChannelOptions = {}): Promise<void> {
    if (!CHANNEL_NAME.test(name)) throw new RangeError(`live channel name ${JSON.stringify(name)} must be 1-64 of A-Z a-z 0-9 _ -`);
    if (this.channels.has(name)) throw new Error(`live channel ${name} is already served`);
    const warn = (w: { code: string; message: string }) => this.opts.onWarning?.({ ...w, channel: name });
    const recorder = opts.recordFile ? await Recorder.open(opts.recordFile, { onWarning: warn }) : undefined;
    const fanout = new LiveChannel(output, { ...this.opts.channel, onWarning: warn });
    const offFanout = output.subscribe(fanout);
    const offRecorder = recorder ? output.subscribe(recorder) : () => undefined;
    this.channels.set(name, {
      output,
      fanout,
      recorder,
      unsubscribe: () => {
        offFanout();
        offRecorder();
      },
    });
  }

  /** Stops serving `name`: its clients' responses end, its recording is closed. The output stays the caller's. */
  async removeChannel(name: string): Promise<void> {
    const ch = this.channels.get(name);
    if (!ch) return;
    this.channels.delete(name);
    ch.unsubscribe();
    ch.fanout.endAll();
    await ch.recorder?.close();
  }

  channelStats(name: string): StreamChannelStats {
    const ch = this.channels.get(name);
    if (!ch) throw new Error(`no live channel ${name}`);
    const rec = ch.recorder;
    return {
      name,
      url: this.url(name),
      output: ch.output.stats(),
      ...ch.fanout.stats(),
      recording: rec ? { file: rec.file, bytesWritten: rec.bytesWritten, error: rec.error?.message } : undefined,
    };
  }

  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  async close(): Promise<void> {
    for (const name of [...this.channels.keys()]) await this.removeChannel(name);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const f = FILE_PATH.exec(path);
    const file = f?.[1] !== undefined ? this.files.get(f[1]) : undefined;
    if (file) return file(req, res);
    const m = LIVE_PATH.exec(path);
    const ch = m?.[1] !== undefined ? this.channels.get(m[1]) : undefined;
    if (!ch) {
      const known = [...this.channels.keys()].map((n) => `/live/${n}.ts`).join(', ') || 'none';
      return plain(res, 404, `no live channel at ${path}; serving: ${known}\n`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return plain(res, 405, `method ${req.method} not allowed\n`);
    }
    res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    const id = ch.fanout.attach(res);
    res.once('close', () => ch.fanout.detach(id));
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
