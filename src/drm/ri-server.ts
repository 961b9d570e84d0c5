// The rights issuer on HTTP (JSON): GET /v1/info, GET /v1/nonce, POST /v1/register, /v1/content,
// /v1/ro, /v1/domain/create, /v1/domain/join, /v1/domain/leave, /v1/domain/key, GET /v1/stats.
import type { Server } from 'node:http';
import { closeServer, serveJson } from './json-http.js';
import type { RightsIssuer } from './rights-issuer.js';

export async function startRiServer(ri: RightsIssuer, host: string, port: number, onError?: (e: Error) => void): Promise<{ port: number; close: () => Promise<void>; server: Server }> {
  const { server, port: bound } = await serveJson(
    host,
    port,
    {
      'GET /v1/info': () => ri.info(),
      'GET /v1/nonce': () => ri.nonce(),
      'GET /v1/stats': async () => ({ ...(await ri.stats()), store: ri.storeName }),
      'POST /v1/register': (b) => ri.register(b),
      'POST /v1/content': (b) => ri.registerContent(b),
      'POST /v1/ro': (b) => ri.acquire(b),
      'POST /v1/domain/create': (b) => ri.createDomain(b),
      'POST /v1/domain/join': (b) => ri.joinDomain(b),
      'POST /v1/domain/leave': (b) => ri.leaveDomain(b),
      'POST /v1/domain/key': (b) => ri.domainKey(b),
    },
    onError,
  );
  return { port: bound, server, close: () => closeServer(server) };
}
