// The embedded rights-issuer store (the default): the state in memory, made durable by the
// JSON-lines journal of journal-db.ts (fsynced before each answer), the RI's keys and certificate as
// files in DB/identity, nonces in memory (a restart forgets them). One process per directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from './atomic-file.js';
import type { Certificate } from './certificate.js';
import { verifyCaCertificate, verifyCertificate } from './certificate.js';
import { loadOrCreateIdentity } from './device-identity.js';
import { DrmError } from './encoding.js';
import { JournalDb } from './journal-db.js';
import { applyRiRecord, emptyRiState, type RiRecord, type RiState } from './ri-state.js';
import type { ContentRow, DeviceRow, DomainRow, IssuedRo, RiEnrol, RiKeys, RiStats, RiStore } from './ri-store.js';
import { NonceBook } from './signed-request.js';

export class JournalRiStore implements RiStore {
  readonly describe: string;
  private readonly db: JournalDb<RiState, RiRecord>;
  private readonly nonces: NonceBook;

  constructor(
    private readonly dbDir: string,
    nonceTtlMs: number,
    onWarning?: (m: string) => void,
  ) {
    this.describe = `journal ${join(dbDir, 'db')}`;
    this.nonces = new NonceBook(nonceTtlMs);
    this.db = new JournalDb<RiState, RiRecord>({ dir: join(dbDir, 'db'), empty: emptyRiState, apply: applyRiRecord, ...(onWarning ? { onWarning } : {}) });
  }

  /** Synchronous: the journal RI is made in a constructor (rights-issuer.ts). */
  loadIdentitySync(enrol: RiEnrol): RiKeys {
    const id = loadOrCreateIdentity(join(this.dbDir, 'identity'));
    const caFile = join(id.dir, 'ca.cert.json');
    const certFile = join(id.dir, 'cert.json');
    if (!existsSync(certFile)) {
      const made = enrol(id.sign, id.wrap);
      writeJsonAtomic(caFile, made.ca);
      writeJsonAtomic(certFile, made.cert);
    }
    const ca = verifyCaCertificate(readJsonFile(caFile));
    return { sign: id.sign, wrap: id.wrap, ca, cert: verifyCertificate(readJsonFile(certFile), ca, { roles: ['ri'] }) };
  }

  loadIdentity(enrol: RiEnrol): Promise<RiKeys> {
    return Promise.resolve(this.loadIdentitySync(enrol));
  }

  issueNonce(): Promise<string> {
    return Promise.resolve(this.nonces.issue());
  }

  takeNonce(nonce: string): Promise<void> {
    this.nonces.take(nonce);
    return Promise.resolve();
  }

  device(id: string): Promise<DeviceRow | undefined> {
    return Promise.resolve(this.db.state.devices[id]);
  }

  putDevice(cert: Certificate, at: string): Promise<void> {
    this.db.append({ t: 'device', cert, at });
    return Promise.resolve();
  }

  content(id: string): Promise<ContentRow | undefined> {
    return Promise.resolve(this.db.state.contents[id]);
  }

  putContent(id: string, row: ContentRow): Promise<void> {
    const old = this.db.state.contents[id];
    if (old && old.packager !== row.packager) throw new DrmError('conflict', `content ${id} is registered by another packager (${old.packager})`);
    if (old && old.key !== row.key) throw new DrmError('conflict', `content ${id} is already registered with another key`);
    this.db.append({ t: 'content', contentId: id, key: row.key, constraints: row.constraints, packager: row.packager, at: row.registeredAt });
    return Promise.resolve();
  }

  domain(id: string): Promise<DomainRow | undefined> {
    return Promise.resolve(this.db.state.domains[id]);
  }

  createDomain(id: string, row: DomainRow): Promise<void> {
    this.db.append({ t: 'domain', id, row });
    return Promise.resolve();
  }

  joinDomain(domainId: string, deviceId: string): Promise<'joined' | 'member'> {
    const d = this.db.state.domains[domainId];
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    if (d.members.includes(deviceId)) return Promise.resolve('member');
    if (d.members.length >= d.maxSize) throw new DrmError('domain-full', `domain ${domainId} is full (${d.members.length} of ${d.maxSize} devices)`);
    this.db.append({ t: 'member', domainId, deviceId, join: true });
    return Promise.resolve('joined');
  }

  leaveDomain(domainId: string, deviceId: string, next: { keyPem: string; publicKey: string }): Promise<number> {
    const d = this.db.state.domains[domainId];
    if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
    if (!d.members.includes(deviceId)) throw new DrmError('not-member', `device ${deviceId} is not a member of domain ${domainId}`);
    const generation = d.generation + 1;
    this.db.append({ t: 'member', domainId, deviceId, join: false, generation, keyPem: next.keyPem, publicKey: next.publicKey });
    return Promise.resolve(generation);
  }

  recordRo(ro: IssuedRo): Promise<void> {
    this.db.append({ t: 'ro', roId: ro.roId, contentId: ro.contentId, to: ro.binding.id, at: ro.at });
    return Promise.resolve();
  }

  stats(): Promise<RiStats> {
    const s = this.db.state;
    return Promise.resolve({ devices: Object.keys(s.devices).length, contents: Object.keys(s.contents).length, domains: Object.keys(s.domains).length, rosIssued: s.rosIssued });
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
