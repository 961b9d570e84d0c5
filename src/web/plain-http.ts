// What plain HTTP may still do when the page is HTTPS (web.plainHttp): `redirect` sends every page
// load to the same URL over HTTPS and refuses everything else; `viewer` serves what a viewer may see
// (the page, the channel list, phones' HLS when the owner allows viewers to watch) but never the
// owner's login, setup or settings. Either way an owner's session cookie that arrives over plain
// HTTP (it is `Secure`, so a browser never sends it: someone copied it) is refused and ended.
import type { ApiResponse } from './web-api.js';

export const PLAIN_HTTP_MODES = ['redirect', 'viewer'] as const;
export type PlainHttpMode = (typeof PLAIN_HTTP_MODES)[number];

export interface PlainRequest {
  method: string;
  /** The request target (path and query). */
  url: string;
  host: string | undefined;
  /** The Host header names this box (request-guard.ts). */
  hostAllowed: boolean;
  /** The request carries a live owner session cookie. */
  ownerSession: boolean;
}

/** undefined: serve the request as usual; else the answer, and whether the session it carried ends. */
export function plainHttpAnswer(mode: PlainHttpMode, r: PlainRequest): { answer: ApiResponse; burnSession: boolean } | undefined {
  const refuse = (error: string): { answer: ApiResponse; burnSession: boolean } => ({ answer: { status: 403, body: { error } }, burnSession: r.ownerSession });
  if (!r.hostAllowed || !r.host) return { answer: { status: 421, body: { error: "unknown host name; use the box's IP address" } }, burnSession: false };
  const secureUrl = `https://${r.host}${r.url.startsWith('/') ? r.url : '/'}`;
  const path = r.url.split('?')[0] ?? '/';
  if (r.ownerSession) return refuse(`the owner's session never travels over plain HTTP and has ended: open https://${r.host}/ and log in again`);
  if (mode === 'redirect') {
    if (r.method === 'GET' || r.method === 'HEAD') return { answer: { status: 308, body: { redirect: secureUrl }, headers: { Location: secureUrl } }, burnSession: false };
    return refuse(`plain HTTP is refused: use https://${r.host}/`);
  }
  if (r.method === 'POST' && (path === '/api/login' || path === '/api/setup' || path === '/api/settings')) {
    return refuse(`the owner logs in over HTTPS only: open https://${r.host}/`);
  }
  return undefined;
}
