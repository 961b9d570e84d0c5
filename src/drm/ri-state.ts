// The rights issuer's durable state and the journal records that change it (journal-db.ts).
import type { Certificate } from './certificate.js';
import type { PlayConstraints } from './rights-object.js';

export interface DomainRow {
  owner: string;
  name: string;
  maxSize: number;
  generation: number;
  /** Domain X25519 private key, PKCS#8 PEM (never leaves the RI unwrapped). */
  keyPem: string;
  publicKey: string;
  members: string[];
}

export interface RiState {
  devices: Record<string, { cert: Certificate; registeredAt: string }>;
  contents: Record<string, { key: string; constraints: PlayConstraints; packager: string; registeredAt: string }>;
  domains: Record<string, DomainRow>;
  rosIssued: number;
}

export type RiRecord =
  | { t: 'device'; cert: Certificate; at: string }
  | { t: 'content'; contentId: string; key: string; constraints: PlayConstraints; packager: string; at: string }
  | { t: 'domain'; id: string; row: DomainRow }
  | { t: 'member'; domainId: string; deviceId: string; join: boolean; generation?: number; keyPem?: string; publicKey?: string }
  | { t: 'ro'; roId: string; contentId: string; to: string; at: string };

export function emptyRiState(): RiState {
  return { devices: {}, contents: {}, domains: {}, rosIssued: 0 };
}

export function applyRiRecord(s: RiState, r: RiRecord): void {
  switch (r.t) {
    case 'device':
      s.devices[r.cert.id] = { cert: r.cert, registeredAt: r.at };
      break;
    case 'content':
      s.contents[r.contentId] = { key: r.key, constraints: r.constraints, packager: r.packager, registeredAt: r.at };
      break;
    case 'domain':
      s.domains[r.id] = r.row;
      break;
    case 'member': {
      const d = s.domains[r.domainId];
      if (!d) break;
      d.members = d.members.filter((m) => m !== r.deviceId);
      if (r.join) d.members.push(r.deviceId);
      if (r.generation !== undefined && r.keyPem && r.publicKey) {
        d.generation = r.generation;
        d.keyPem = r.keyPem;
        d.publicKey = r.publicKey;
      }
      break;
    }
    case 'ro':
      s.rosIssued++;
      break;
  }
}
