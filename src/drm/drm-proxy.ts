// The DRM proxy of a main node, on its segment address (HTTP, drm.proxyPort): local nodes without
// an uplink reach the rights issuer through it. The RI's own paths are relayed unchanged over the
// uplink (requests stay signed end to end by the device; the proxy cannot forge or alter them),
// except domain joins, which go to the domain manager and wait for the owner. Rights requests
// (/v1/ro, /v1/domain/key) are relayed only for devices the owner approved into the domain: the
// main node decides who gets rights through it.
//   POST /proxy/join { request, name } → { id, state: 'pending' }
//   GET  /proxy/join/<id>              → { state: 'pending' | 'approved' (grant, ri) | 'denied' (reason) }
//   GET  /proxy/domain                 → { domainId }
import type { DomainManager } from './domain-manager.js';
import { DrmError } from './encoding.js';
import { callJson, closeServer, serveJson } from './json-http.js';

const RELAYED_GET = ['/v1/info', '/v1/nonce'];
const RELAYED_POST = ['/v1/register', '/v1/ro', '/v1/domain/key', '/v1/domain/leave'];
const MEMBERS_ONLY = new Set(['/v1/ro', '/v1/domain/key']);

export interface ProxyStats {
  address: string;
  relayed: number;
  relayErrors: number;
  refused: number;
}

export async function startDrmProxy(o: { host: string; port: number; upstream: () => string; manager: DomainManager; onError?: (e: Error) => void }): Promise<{ stats: () => ProxyStats; close: () => Promise<void> }> {
  const st = { relayed: 0, relayErrors: 0, refused: 0 };
  const relay = (path: string) => async (body: unknown) => {
    if (MEMBERS_ONLY.has(path)) {
      const who = (body as { cert?: { id?: unknown } } | undefined)?.cert?.id;
      if (typeof who !== 'string' || !o.manager.approvedDevices().has(who)) {
        st.refused++;
        throw new DrmError('denied', `device ${String(who)} is not an approved member of this main node's domain: ask to join (superdist drm join) and wait for the owner`);
      }
    }
    const up = o.upstream();
    if (!up) throw new DrmError('unreachable', 'this main node has no rights issuer configured (drm.rightsIssuer)');
    try {
      const r = await callJson(up, path, body);
      st.relayed++;
      return r;
    } catch (err) {
      st.relayErrors++;
      throw err;
    }
  };
  const routes: Record<string, (b: unknown, req: import('node:http').IncomingMessage) => unknown> = {
    'GET /proxy/domain': async () => ({ domainId: await o.manager.ensureDomain() }),
    'POST /proxy/join': (b) => {
      const body = (b ?? {}) as { request?: unknown; name?: unknown };
      return o.manager.request(body.request, body.name);
    },
    'GET /proxy/join/*': (_b, req) => o.manager.outcome(decodeURIComponent((req.url ?? '').split('/').pop() ?? '')),
  };
  for (const p of RELAYED_GET) routes[`GET ${p}`] = relay(p);
  for (const p of RELAYED_POST) routes[`POST ${p}`] = relay(p);
  const { server, port } = await serveJson(o.host, o.port, routes, o.onError);
  return { stats: () => ({ address: `${o.host}:${port}`, ...st }), close: () => closeServer(server) };
}
