// Checks every request passes before it reaches the API: the Host header names the box (an IP
// literal, localhost, its host name, NAME.local or a configured name — a DNS-rebinding page's own
// name is refused), and state-changing requests come from the page itself (Origin = this host).
import { isIP } from 'node:net';

/** Host header without its port, lower-case; IPv6 brackets removed. */
export function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : undefined;
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

export function hostAllowed(host: string | undefined, names: ReadonlySet<string>): boolean {
  const name = hostName(host);
  if (!name) return false;
  if (isIP(name)) return true;
  return name === 'localhost' || names.has(name);
}

/**
 * A state-changing request must carry Origin (every browser sends it on POST) naming exactly the
 * host it was sent to; a missing or foreign Origin is refused.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (!origin || !host || origin === 'null') return false;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  return u.host.toLowerCase() === host.trim().toLowerCase();
}

/** The names the page answers to besides IP literals: host name, NAME.local, configured ones. */
export function allowedHostNames(hostname: string, extra: readonly string[]): Set<string> {
  const h = hostname.toLowerCase();
  return new Set([h, `${h}.local`, ...extra.map((x) => x.toLowerCase())]);
}
