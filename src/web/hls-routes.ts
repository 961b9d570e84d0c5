// Phones watch in the page: GET /hls/CHANNEL/index.m3u8 (a live media playlist, hls-playlist.ts and
// hls-window.ts) and GET /hls/CHANNEL/SEQ.ts (one segment: its chunks, the bytes the live buffer
// holds, written as views of them, never copied). CHANNEL is the live id or the name the box plays it under.
//
// Answers: 404 a channel this box does not receive (or a chunk it never had), 410 a channel that
// stopped here (or a chunk that left the buffer), 403 not allowed (the owner's settings; a protected
// chunk for a browser session the owner has not approved), 503 the box already serves web.maxViewers
// phones (the page shows the message), or has nothing of the channel yet.
//
// Capacity: a segment goes out as writes of the buffer's own bytes, one per chunk; at most 2 × maxViewers
// segment responses are in flight, and one whose client does not take it within SEND_TIMEOUT_MS is
// cut, so a phone that never reads holds at most one segment's chunk references for that long. The TV's stream
// (src/player/stream-server.ts) is separate and is written the moment each chunk is released.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChunkRecord } from '../engine/chunk-buffer.js';
import { livePlaylist } from './hls-playlist.js';
import { HlsWindow, type ChunkSource, type MediaOf } from './hls-window.js';
import type { PhoneViewers } from './phone-viewers.js';

export const SEND_TIMEOUT_MS = 10_000;
const PLAYLIST_PATH = /^\/hls\/([A-Za-z0-9_.-]{1,128})\/index\.m3u8$/;
const SEGMENT_PATH = /^\/hls\/([A-Za-z0-9_.-]{1,128})\/(\d{1,15})\.ts$/;

/** A channel as the phones see it, from the box's live side (src/live-node.ts). */
export type PhoneChannel =
  | {
      state: 'live';
      contentId: string;
      name: string;
      buffer: ChunkSource;
      chunkMs: number;
      /** What a browser session may have of the channel's chunks (protected channels: approved or preview). */
      media(approved: boolean): MediaOf;
    }
  | { state: 'stopped'; contentId: string; name: string };

export interface PhoneMediaSource {
  /** By live id or name; undefined: this box does not receive it (and did not lately). */
  channel(idOrName: string): PhoneChannel | undefined;
}

/** Who is asking, decided by the web server from the request's session. */
export interface PhoneRequester {
  /** The session token, or the client address without one. */
  who: string;
  /** May watch at all (settings); the error says why not. */
  permit: { ok: true } | { ok: false; status: number; error: string };
  /** The owner approved this browser session for protected channels. */
  approved: boolean;
}

export interface PhoneStats {
  viewers: number;
  maxViewers: number;
  perChannel: Record<string, number>;
  refused: number;
  playlists: number;
  segments: number;
  bytes: number;
  inFlight: number;
  /** Segment responses cut because the phone did not take them within SEND_TIMEOUT_MS. */
  slowCut: number;
}

export type Answer = { status: number; error: string; headers?: Record<string, string> };

export class HlsRoutes {
  private readonly windows = new Map<string, HlsWindow>();
  private inFlight = 0;
  private readonly counters = { playlists: 0, segments: 0, bytes: 0, slowCut: 0 };

  constructor(
    private readonly source: PhoneMediaSource | undefined,
    private readonly viewers: PhoneViewers,
    private readonly sendTimeoutMs = SEND_TIMEOUT_MS,
  ) {}

  stats(): PhoneStats {
    return { viewers: this.viewers.active, maxViewers: this.viewers.limit, perChannel: this.viewers.perChannel(), refused: this.viewers.refused, inFlight: this.inFlight, ...this.counters };
  }

  /** Answers a request under /hls/. */
  serve(req: IncomingMessage, res: ServerResponse, path: string, r: PhoneRequester): void {
    const playlist = PLAYLIST_PATH.exec(path);
    const segment = playlist ? undefined : SEGMENT_PATH.exec(path);
    if (!playlist && !segment) return fail(res, { status: 404, error: `not found: ${path} (phones use /hls/CHANNEL/index.m3u8)` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, { status: 405, error: `method ${req.method} not allowed`, headers: { Allow: 'GET, HEAD' } });
    if (!r.permit.ok) return fail(res, { status: r.permit.status, error: r.permit.error });
    if (this.viewers.limit === 0) return fail(res, { status: 403, error: 'phone viewing is off on this box (web.maxViewers is 0)' });
    const name = (playlist ?? segment)![1]!;
    const ch = this.source?.channel(name);
    if (!ch) return fail(res, { status: 404, error: `this box does not receive a channel ${JSON.stringify(name)}: play it on the TV first` });
    if (ch.state === 'stopped') {
      this.windows.delete(ch.contentId);
      return fail(res, { status: 410, error: `channel ${ch.name} stopped on this box` });
    }
    if (playlist) return this.playlist(req, res, ch, r);
    return this.segment(req, res, ch, r, Number(segment![2]));
  }

  /** The channel's playlist window (its segments' chunks, PTS cache and discontinuity count). */
  private windowOf(ch: PhoneChannel & { state: 'live' }): HlsWindow {
    let w = this.windows.get(ch.contentId);
    if (!w) {
      w = new HlsWindow(ch.chunkMs);
      this.windows.set(ch.contentId, w);
    }
    return w;
  }

  private playlist(req: IncomingMessage, res: ServerResponse, ch: PhoneChannel & { state: 'live' }, r: PhoneRequester): void {
    const admitted = this.viewers.touch(r.who, ch.name);
    if (!admitted.ok) {
      return fail(res, {
        status: 503,
        error: `this box already shows ${admitted.active} phone${admitted.active === 1 ? '' : 's'}, the most it allows (web.maxViewers ${admitted.max}); try again when one stops watching`,
        headers: { 'Retry-After': '15' },
      });
    }
    const w = this.windowOf(ch);
    const media = ch.media(r.approved);
    const win = w.build(ch.buffer, media);
    if (!win.segments.some((s) => !s.gap)) {
      return fail(res, { status: 503, error: `no media of ${ch.name} here yet${r.approved ? '' : ' (a protected channel plays its preview only until the owner approves this browser)'}`, headers: { 'Retry-After': '2' } });
    }
    const text = livePlaylist(win.segments, { discontinuitySequence: win.discontinuitySequence });
    this.counters.playlists++;
    // Preview only: the listed gaps hold chunks this session may not have, or (a session the owner has not
    // approved) the buffer holds a chunk it may not play, though the window shows only the clear part.
    const previewOnly = win.segments.some((s) => s.gap && w.chunksOf(s.seq).every((id) => ch.buffer.get(id) !== undefined)) || (!r.approved && holdsUnplayable(ch.buffer, media));
    res.writeHead(200, {
      'Content-Type': 'application/vnd.apple.mpegurl',
      'Cache-Control': 'no-store',
      'Content-Length': Buffer.byteLength(text),
      'X-Superdist-Access': previewOnly ? 'preview' : r.approved ? 'approved' : 'clear',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private segment(req: IncomingMessage, res: ServerResponse, ch: PhoneChannel & { state: 'live' }, r: PhoneRequester, seq: number): void {
    if (!this.viewers.has(r.who)) return fail(res, { status: 403, error: 'fetch the playlist first (index.m3u8): segments are served to current viewers' });
    const media = ch.media(r.approved);
    const parts: Uint8Array[] = [];
    for (const id of this.windowOf(ch).chunksOf(seq)) {
      const chunk: ChunkRecord | undefined = ch.buffer.get(id);
      if (!chunk) {
        if (id < ch.buffer.base) return fail(res, { status: 410, error: `segment ${seq} of ${ch.name} has left the box's buffer (chunk ${id}; it starts at ${ch.buffer.base})` });
        return fail(res, { status: 404, error: `the box has no segment ${seq} of ${ch.name} (chunk ${id} is missing)` });
      }
      const bytes = media.playable(chunk) ? media.bytes(chunk) : undefined;
      if (!bytes) return fail(res, { status: 403, error: `segment ${seq} of ${ch.name} is protected: the owner has not approved this browser (preview only)` });
      parts.push(bytes);
    }
    if (this.inFlight >= 2 * this.viewers.limit) return fail(res, { status: 503, error: 'too many segments in flight; retry', headers: { 'Retry-After': '1' } });
    this.inFlight++;
    this.counters.segments++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.inFlight--;
    };
    res.once('close', finish);
    res.once('finish', finish);
    res.setTimeout(this.sendTimeoutMs, () => {
      this.counters.slowCut++;
      res.destroy();
    });
    // Views of the buffer's bytes: the socket holds references, not copies.
    const bodies = parts.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    const length = bodies.reduce((n, b) => n + b.length, 0);
    // Not cached: a restarted source may number its chunks from the start again.
    res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Content-Length': length, 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.counters.bytes += length;
    for (const b of bodies.slice(0, -1)) res.write(b);
    res.end(bodies.at(-1));
  }
}

export function fail(res: ServerResponse, a: Answer): void {
  const body = JSON.stringify({ error: a.error });
  res.writeHead(a.status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body), ...a.headers });
  res.end(body);
}

/** Whether the buffer holds a chunk `media` does not play (a cheap check for a session's clear-only media). */
function holdsUnplayable(buf: ChunkSource, media: MediaOf): boolean {
  const newest = buf.newest;
  if (newest === undefined) return false;
  for (let id = buf.base; id <= newest; id++) {
    const c = buf.get(id);
    if (c && !media.playable(c)) return true;
  }
  return false;
}

