// Serves the control API on a unix socket. The socket file is created with mode 0660 so only the
// owner and the `superdist` group (remote admins over SSH) can use it.
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { MAX_CONTROL_LINE_BYTES, parseRequest, type ControlResponse } from './control-protocol.js';

export type ControlHandler = (params: Record<string, unknown>) => unknown;

export class ControlServer {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();

  constructor(
    private readonly path: string,
    private readonly handlers: Record<string, ControlHandler>,
    private readonly mode = 0o660,
  ) {}

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    removeStaleSocket(this.path);
    const server = createServer((sock) => this.serve(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, this.mode);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  private serve(sock: Socket): void {
    this.clients.add(sock);
    sock.setEncoding('utf8');
    let pending = '';
    sock.on('data', (data: string) => {
      pending += data;
      if (pending.length > MAX_CONTROL_LINE_BYTES) {
        sock.end(`${JSON.stringify({ id: 0, error: `request longer than ${MAX_CONTROL_LINE_BYTES} bytes` })}\n`);
        pending = '';
        return;
      }
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line) void this.answer(sock, line);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.clients.delete(sock));
  }

  private async answer(sock: Socket, line: string): Promise<void> {
    const req = parseRequest(line);
    let res: ControlResponse;
    if (typeof req === 'string') {
      res = { id: 0, error: req };
    } else {
      const handler = Object.hasOwn(this.handlers, req.method) ? this.handlers[req.method] : undefined;
      if (!handler) {
        res = { id: req.id, error: `unknown method ${JSON.stringify(req.method)}; known: ${Object.keys(this.handlers).join(', ')}` };
      } else {
        try {
          res = { id: req.id, result: await handler(req.params ?? {}) };
        } catch (err) {
          res = { id: req.id, error: (err as Error).message };
        }
      }
    }
    if (!sock.destroyed) sock.write(`${JSON.stringify(res)}\n`);
  }
}

/** A socket file left by a killed daemon would block listen(); remove it, but never a regular file. */
function removeStaleSocket(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`control socket path ${path} exists and is not a socket`);
  rmSync(path, { force: true });
}
