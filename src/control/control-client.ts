// Client side of the control API (used by `superdist status`, `peers`, ...).
import { createConnection } from 'node:net';
import type { ControlResponse } from './control-protocol.js';

export class ControlClientError extends Error {
  override name = 'ControlClientError';
}

/** Sends one request and resolves with its result; rejects with a message a user can act on. */
export function controlCall(path: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlClientError(`no answer from the control socket ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, method, params })}\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let res: ControlResponse;
      try {
        res = JSON.parse(buf.slice(0, nl)) as ControlResponse;
      } catch {
        return done(() => reject(new ControlClientError(`malformed answer from ${path}`)));
      }
      if ('error' in res) done(() => reject(new ControlClientError(res.error)));
      else done(() => resolve(res.result));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? `no superdist service is listening on ${path} (is it running? pass --control PATH)`
          : err.code === 'EACCES'
            ? `permission denied on ${path} (join the superdist group or use sudo)`
            : err.message;
      done(() => reject(new ControlClientError(why)));
    });
  });
}
