// Contact helpers: normalised host text so a peer's listen address compares equal however it was
// written ('::ffff:10.0.0.2' and '10.0.0.2', 'Host' and 'host').
import type { Contact } from '../protocol/messages.js';

export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase();
  return h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
}

/** True for an address that names no particular interface (a listen-on-all address). */
export function isUnspecifiedHost(host: string): boolean {
  const h = normalizeHost(host);
  return h === '' || h === '0.0.0.0' || h === '::' || h === '[::]';
}

export function contactKey(c: Contact): string {
  return `${normalizeHost(c.host)}|${c.port}`;
}

export function sameContact(a: Contact, b: Contact): boolean {
  return contactKey(a) === contactKey(b);
}

export function formatContact(c: Contact): string {
  return c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
}
