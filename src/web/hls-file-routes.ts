// Phones watch a file on demand: GET /hls/file/ID/index.m3u8 (a VOD playlist, hls-vod.ts) and
// GET /hls/file/ID/N.ts (segment N: PAT/PMT copy when needed + the file's bytes, streamed from disk).
// ID is the download's content id. Same viewer limit and permissions as live channels (hls-routes.ts).
// Answers: 404 not a file this box has, 409 still downloading, 415 not MPEG-TS (an encrypted .sdc).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { fail, SEND_TIMEOUT_MS, type PhoneRequester } from './hls-routes.js';
import { indexTsFile, vodPlaylist, type VodIndex } from './hls-vod.js';
import type { PhoneViewers } from './phone-viewers.js';

const FILE_PLAYLIST = /^\/hls\/file\/([A-Za-z0-9_.-]{1,128})\/index\.m3u8$/;
const FILE_SEGMENT = /^\/hls\/file\/([A-Za-z0-9_.-]{1,128})\/(\d{1,9})\.ts$/;
/** Indexes kept (one per file recently watched). */
const INDEXES_KEPT = 8;

export interface PhoneFile {
  contentId: string;
  title: string;
  path: string;
  /** complete: every piece verified (seeding); the others cannot be played yet. */
  state: 'complete' | 'downloading' | 'failed';
  progress: number;
}

export interface PhoneFileSource {
  file(contentId: string): PhoneFile | undefined;
}

export class HlsFileRoutes {
  private readonly indexes = new Map<string, Promise<VodIndex>>();

  constructor(
    private readonly source: PhoneFileSource | undefined,
    private readonly viewers: PhoneViewers,
  ) {}

  async serve(req: IncomingMessage, res: ServerResponse, path: string, r: PhoneRequester): Promise<void> {
    const playlist = FILE_PLAYLIST.exec(path);
    const segment = playlist ? undefined : FILE_SEGMENT.exec(path);
    if (!playlist && !segment) return fail(res, { status: 404, error: `not found: ${path} (files use /hls/file/ID/index.m3u8)` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, { status: 405, error: `method ${req.method} not allowed`, headers: { Allow: 'GET, HEAD' } });
    if (!r.permit.ok) return fail(res, { status: r.permit.status, error: r.permit.error });
    const id = (playlist ?? segment)![1]!;
    const f = this.source?.file(id);
    if (!f) return fail(res, { status: 404, error: `this box has no file ${JSON.stringify(id)}` });
    if (f.state !== 'complete') return fail(res, { status: 409, error: `${f.title} is ${f.state === 'failed' ? 'a failed download' : `still downloading (${Math.floor(f.progress * 100)} %)`}: it plays once complete` });
    let index: VodIndex;
    try {
      index = await this.index(f);
    } catch (err) {
      return fail(res, { status: 415, error: `${f.title} cannot be played in a browser: ${(err as Error).message.replace(`${f.path}: `, '')}` });
    }
    if (playlist) {
      const admitted = this.viewers.touch(r.who, f.title);
      if (!admitted.ok) return fail(res, { status: 503, error: `this box already shows ${admitted.active} phone${admitted.active === 1 ? '' : 's'}, the most it allows (web.maxViewers ${admitted.max}); try again when one stops watching`, headers: { 'Retry-After': '15' } });
      const text = vodPlaylist(index);
      res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    if (!this.viewers.has(r.who)) return fail(res, { status: 403, error: 'fetch the playlist first (index.m3u8): segments are served to current viewers' });
    const n = Number(segment![2]);
    const s = index.segments[n];
    if (!s) return fail(res, { status: 404, error: `${f.title} has ${index.segments.length} segments; no segment ${n}` });
    res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Content-Length': s.prefix.length + s.length, 'Cache-Control': 'private, max-age=3600' });
    if (req.method === 'HEAD') return void res.end();
    res.setTimeout(SEND_TIMEOUT_MS, () => res.destroy());
    if (s.prefix.length) res.write(s.prefix);
    // Streamed from disk with backpressure: a phone that does not read holds at most a stream's buffer.
    const stream = createReadStream(f.path, { start: s.offset, end: s.offset + s.length - 1, highWaterMark: 64 * 1024 });
    stream.on('error', () => res.destroy());
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  }

  /** The file's index, built once per (path, size, mtime). */
  private async index(f: PhoneFile): Promise<VodIndex> {
    const cached = this.indexes.get(f.contentId);
    if (cached) {
      const got = await cached.catch(() => undefined);
      const st = statSync(f.path);
      if (got && got.path === f.path && got.sizeBytes === st.size && got.mtimeMs === st.mtimeMs) return got;
      if (!got) return cached;
    }
    const p = indexTsFile(f.path);
    this.indexes.delete(f.contentId);
    this.indexes.set(f.contentId, p);
    while (this.indexes.size > INDEXES_KEPT) this.indexes.delete(this.indexes.keys().next().value as string);
    return p;
  }
}
