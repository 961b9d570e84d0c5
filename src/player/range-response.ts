// Answers an HTTP GET/HEAD for a ByteSource with byte ranges (RFC 9110 §14: one range per request,
// `bytes=A-B`, `bytes=A-`, `bytes=-N`), so a player can seek: 206 with Content-Range for a range,
// 200 for the whole, 416 for one that starts past the end. The body is read block by block from the
// source (waiting where bytes are missing) and written with backpressure; a client that closes the
// connection aborts the pending read. The headers leave at once, before any bytes are held.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ByteSource } from './byte-source.js';

const BLOCK_BYTES = 64 * 1024;

export interface RangeHooks {
  /** A response starts at byte `start` (the player opened or seeked). */
  onRequest?(start: number, end: number): void;
  /** Bytes were written to the player. */
  onBytes?(n: number): void;
  /** The source failed mid-body (download failed, rights ended). */
  onError?(err: Error): void;
}

/** The byte range a Range header asks of a `size`-byte body: null = the whole, 'unsatisfiable', or [start, end] inclusive. */
export function parseRange(header: string | undefined, size: number): [number, number] | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // not one range we understand: the whole body
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]));
  if (end < start) return null;
  return [start, end];
}

export async function serveRange(req: IncomingMessage, res: ServerResponse, src: ByteSource, hooks: RangeHooks = {}): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`method ${req.method} not allowed\n`);
    return;
  }
  const size = src.sizeBytes;
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`range ${req.headers.range} is outside the ${size} bytes\n`);
    return;
  }
  const [start, end] = range ?? [0, size - 1];
  const headers: Record<string, string | number> = { 'Content-Type': src.contentType, 'Accept-Ranges': 'bytes', 'Content-Length': end - start + 1, 'Cache-Control': 'no-store' };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
  // The headers now, not with the first bytes: a player that seeks opens the new range before it
  // closes the old one (ffmpeg does), and it waits for these headers while the old connection's
  // reads still move the download's playhead.
  res.flushHeaders();
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  hooks.onRequest?.(start, end);
  const abort = new AbortController();
  const onClose = () => abort.abort();
  res.once('close', onClose);
  let pos = start;
  try {
    while (pos <= end && !abort.signal.aborted) {
      const data = await src.read(pos, Math.min(BLOCK_BYTES, end - pos + 1), abort.signal);
      if (abort.signal.aborted) break;
      // A copy: the source's bytes may live in a buffer it reuses.
      const ok = res.write(Buffer.from(data));
      pos += data.length;
      hooks.onBytes?.(data.length);
      if (!ok) await drained(res, abort.signal);
    }
    if (!abort.signal.aborted) res.end();
  } catch (err) {
    if (!abort.signal.aborted) {
      hooks.onError?.(err as Error);
      res.destroy(); // the body is shorter than its Content-Length: the player sees the failure
    }
  } finally {
    res.off('close', onClose);
  }
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
