// HTTPS and plain HTTP on one port: the first byte a client sends tells them apart (a TLS handshake
// record starts with 0x16; an HTTP request with a method name's letter). TLS connections go to the
// HTTPS server, the rest to the plain HTTP one (which, for the web page, only redirects or serves
// the viewer's read-only page: web-server.ts).
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

const TLS_HANDSHAKE = 0x16;
/** A client that sends nothing for this long is dropped before it is dispatched. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, secure: boolean) => void;

export interface DualServer {
  /** Listens like net.Server.listen. */
  readonly net: NetServer;
  readonly http: HttpServer;
  readonly https: HttpsServer | undefined;
  closeAllConnections(): void;
}

/** One listener: HTTPS when `tls` is given (plain HTTP beside it on the same port), else HTTP only. */
export function createDualServer(handler: RequestHandler, tls: { key: string; cert: string } | undefined): DualServer {
  const http = createHttpServer((req, res) => handler(req, res, false));
  const https = tls ? createHttpsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, (req, res) => handler(req, res, true)) : undefined;
  for (const s of [http, https]) {
    if (!s) continue;
    s.headersTimeout = 10_000;
    s.requestTimeout = 15_000;
  }
  const sockets = new Set<Socket>();
  const net = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!https) {
      http.emit('connection', socket);
      return;
    }
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? https : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  return {
    net,
    http,
    https,
    closeAllConnections() {
      http.closeAllConnections();
      https?.closeAllConnections();
      for (const s of sockets) s.destroy();
    },
  };
}
