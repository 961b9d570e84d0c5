// The rights issuer's store port: everything the RI keeps (its own keys and certificate, devices,
// content keys, domains and their members, single-use request nonces, issued rights objects and the
// per-binding issue counters) behind one interface with two implementations: the embedded journal
// (ri-journal-store.ts, one process, the default) and PostgreSQL (ri-pg-store.ts, several RI
// processes on one database). Every write resolves only once it is durable, so an answered request
// is never lost. See docs/drm.md#database.
import type { Certificate } from './certificate.js';
import type { KeyPair } from './keys.js';
import type { DomainRow } from './ri-state.js';
import type { PlayConstraints } from './rights-object.js';

export type { DomainRow } from './ri-state.js';

export interface RiKeys {
  sign: KeyPair;
  wrap: KeyPair;
  cert: Certificate;
  ca: Certificate;
}

/** Issues the RI certificate for freshly made keys (first start); throws when there is no CA. */
export type RiEnrol = (sign: KeyPair, wrap: KeyPair) => { cert: Certificate; ca: Certificate };

export interface DeviceRow {
  cert: Certificate;
  registeredAt: string;
}

export interface ContentRow {
  key: string;
  constraints: PlayConstraints;
  packager: string;
  registeredAt: string;
}

/** One issued rights object as the store records it (the RO itself goes to the device only). */
export interface IssuedRo {
  roId: string;
  /** The nonce of the signed request it answered: one request, at most one RO. */
  nonce: string;
  contentId: string;
  binding: { kind: 'device'; id: string } | { kind: 'domain'; id: string; generation: number };
  at: string;
}

export interface RiStats {
  devices: number;
  contents: number;
  domains: number;
  rosIssued: number;
}

/** Single-use request nonces (signed-request.ts): `take` throws DrmError 'replay' or 'bad-nonce'. */
export interface NonceStore {
  issueNonce(): Promise<string>;
  takeNonce(nonce: string): Promise<void>;
}

export interface RiStore extends NonceStore {
  /** What and where, for logs and status: "journal /srv/ri/db", "postgres 10.0.0.5:5432/ri". */
  readonly describe: string;
  /** The RI's keys and certificate; made once (by `enrol`) by whichever process starts first. */
  loadIdentity(enrol: RiEnrol): Promise<RiKeys>;
  device(id: string): Promise<DeviceRow | undefined>;
  /** Registers (or re-registers) a device. */
  putDevice(cert: Certificate, at: string): Promise<void>;
  content(id: string): Promise<ContentRow | undefined>;
  /** Registers a content key; DrmError 'conflict' when another packager or another key holds the id. */
  putContent(id: string, row: ContentRow): Promise<void>;
  domain(id: string): Promise<DomainRow | undefined>;
  createDomain(id: string, row: DomainRow): Promise<void>;
  /** Adds a member unless the domain is full (DrmError 'domain-full'); 'member' when it already was one. */
  joinDomain(domainId: string, deviceId: string): Promise<'joined' | 'member'>;
  /** Removes a member (DrmError 'not-member') and installs the next domain key; resolves with its generation. */
  leaveDomain(domainId: string, deviceId: string, next: { keyPem: string; publicKey: string }): Promise<number>;
  /** Records an issued RO and counts it for its binding and content; durable when it resolves. */
  recordRo(ro: IssuedRo): Promise<void>;
  stats(): Promise<RiStats>;
  close(): Promise<void>;
}
