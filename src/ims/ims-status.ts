// The `ims` part of `superdist status --json`: registration state, ticket (nodes) or issuer and
// admission counters (tracker). Never contains the password, only where it came from.
import type { ImsConfig } from './ims-config.js';
import type { RegistrationSnapshot } from './sip-registration.js';
import type { TicketSnapshot } from './ticket-client.js';
import type { TicketIssuerStats } from './ticket-issuer.js';

export interface ImsStatus {
  enabled: boolean;
  role: 'node' | 'tracker';
  identity: string;
  registrar: string;
  transport: 'udp' | 'tcp';
  /** Where the password came from ('file /etc/superdist/ims-password', ...). */
  credentials?: string;
  registration: {
    state: RegistrationSnapshot['state'] | 'disabled';
    contact?: string;
    expiresInS?: number;
    serviceRoute?: string[];
    associatedUris?: string[];
    registrations: number;
    failures: number;
    bindingsLost: number;
    lastError?: string;
  };
  /** Node roles. */
  ticket?: TicketSnapshot & { expiresInS?: number };
  /** Tracker role. */
  issuer?: TicketIssuerStats;
  admission?: { admitted: number; refused: number; lastRefusal?: string };
}

export interface ImsStatusInput {
  config: ImsConfig;
  identity: string;
  role: 'node' | 'tracker';
  now: number;
  credentials?: string;
  registration?: RegistrationSnapshot;
  ticket?: TicketSnapshot;
  issuer?: TicketIssuerStats;
  admission?: { admitted: number; refused: number; lastRefusal?: string | undefined };
}

const secondsUntil = (t: number, now: number) => Math.max(0, Math.round((t - now) / 1000));

export function buildImsStatus(i: ImsStatusInput): ImsStatus {
  const r = i.registration;
  const registration: ImsStatus['registration'] = {
    state: !i.config.enabled ? 'disabled' : (r?.state ?? 'unregistered'),
    registrations: r?.registrations ?? 0,
    failures: r?.failures ?? 0,
    bindingsLost: r?.bindingsLost ?? 0,
  };
  if (r?.info) {
    registration.contact = r.info.contact;
    registration.expiresInS = secondsUntil(r.info.expiresAt, i.now);
    registration.serviceRoute = r.info.serviceRoute;
    registration.associatedUris = r.info.associatedUris;
  }
  if (r?.lastError) registration.lastError = r.lastError;
  const out: ImsStatus = {
    enabled: i.config.enabled,
    role: i.role,
    identity: i.identity,
    registrar: i.config.registrar,
    transport: i.config.transport,
    registration,
  };
  if (i.credentials) out.credentials = i.credentials;
  if (i.ticket) out.ticket = { ...i.ticket, ...(i.ticket.expiresAt !== undefined ? { expiresInS: secondsUntil(i.ticket.expiresAt, i.now) } : {}) };
  if (i.issuer) out.issuer = i.issuer;
  if (i.admission) {
    out.admission = { admitted: i.admission.admitted, refused: i.admission.refused };
    if (i.admission.lastRefusal) out.admission.lastRefusal = i.admission.lastRefusal;
  }
  return out;
}

/** One human line for `superdist status`: 'ims: registered sip:a@d via 10.0.0.5:5060/udp, ticket held (expires in 3595 s)'. */
export function formatImsStatusLine(s: ImsStatus): string {
  if (!s.enabled) return 'ims: off';
  const r = s.registration;
  let line = `ims: ${r.state} ${s.identity} via ${s.registrar}/${s.transport}`;
  if (r.state === 'registered' && r.expiresInS !== undefined) line += ` (binding ${r.expiresInS} s)`;
  if (r.state !== 'registered' && r.lastError) line += ` — ${r.lastError}`;
  if (s.ticket) {
    line += `, ticket ${s.ticket.state}`;
    if (s.ticket.expiresInS !== undefined) line += ` (tracker ${s.ticket.tracker}, expires in ${s.ticket.expiresInS} s)`;
    if (s.ticket.state === 'failed' && s.ticket.lastError) line += ` — ${s.ticket.lastError}`;
  }
  if (s.issuer) line += `, tickets issued ${s.issuer.issued}`;
  if (s.admission) line += `, joins admitted ${s.admission.admitted} / refused ${s.admission.refused}`;
  return line;
}
