// Minimal JSON over HTTP (node:http) for the rights issuer and the DRM proxy: bounded bodies,
// DrmError → 4xx with { error, code }, and a fetch-based client that turns them back into DrmError.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DrmError } from './encoding.js';

export const MAX_BODY_BYTES = 1024 * 1024;
export type Route = (body: unknown, req: IncomingMessage) => unknown | Promise<unknown>;

const STATUS: Record<string, number> = {
  'bad-format': 400, 'bad-usage': 400, 'bad-certificate': 403, 'bad-signature': 403, 'not-registered': 403,
  'not-owner': 403, 'not-member': 403, 'denied': 403, 'replay': 409, 'bad-nonce': 409, 'conflict': 409, 'domain-full': 409,
  'unknown-content': 404, 'unknown-domain': 404, 'not-found': 404, 'unreachable': 502, 'unavailable': 503,
};

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n > MAX_BODY_BYTES) {
        reject(new DrmError('bad-format', `request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else parts.push(d);
    });
    req.on('end', () => {
      if (n === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
      } catch {
        reject(new DrmError('bad-format', 'request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, v: unknown): void {
  const b = Buffer.from(JSON.stringify(v));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length });
  res.end(b);
}

/** Routes are keyed "METHOD /path"; a route may also be a prefix handler (key ending in "*"). */
export async function serveJson(host: string, port: number, routes: Record<string, Route>, onError?: (e: Error) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const key = `${req.method} ${path}`;
    const route = routes[key] ?? Object.entries(routes).find(([k]) => k.endsWith('*') && key.startsWith(k.slice(0, -1)))?.[1];
    if (!route) return send(res, 404, { error: `no such endpoint ${key}`, code: 'not-found' });
    readBody(req)
      .then((body) => route(body, req))
      .then(
        (v) => send(res, 200, v),
        (err: Error) => {
          if (err instanceof DrmError) return send(res, STATUS[err.code] ?? 400, { error: err.message, code: err.code });
          onError?.(err);
          send(res, 500, { error: err.message, code: 'internal' });
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((r) => server.close(() => r()));
}

/** GET when body is undefined, else POST JSON. Throws DrmError with the server's message. */
export async function callJson<T>(base: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  const url = `${base.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new DrmError('unreachable', `cannot reach ${url}: ${cause}`);
  }
  let v: unknown;
  try {
    v = await res.json();
  } catch {
    throw new DrmError('unreachable', `${url} answered ${res.status} without JSON`);
  }
  if (!res.ok) {
    const e = v as { error?: string; code?: string };
    throw new DrmError(e.code ?? 'remote', e.error ?? `${url} answered ${res.status}`);
  }
  return v as T;
}
