// The rights issuer's PostgreSQL store (`superdist rights-issuer --db postgres://…`): several RI
// processes share one database and act as one rights issuer (its keys and certificate live in the
// database too). Concurrency is settled by PostgreSQL, never by a read-then-write in JavaScript:
//   - a nonce is burned by one UPDATE … WHERE NOT used … RETURNING, so one signed request is accepted
//     by one process only, and ri_ro.nonce is UNIQUE besides: one request, at most one RO;
//   - an RO row and its (binding, content) counter are one statement (INSERT … ON CONFLICT DO UPDATE
//     SET issued = issued + 1), committed before the answer: no lost increment, nothing answered lost;
//   - domain joins and leaves lock the domain row (SELECT … FOR UPDATE) so the size limit and the
//     key generation hold under races.
// Unreachable database: DbHealth (db-health.ts) answers 503 and retries. See docs/drm.md#database.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { verifyCaCertificate, verifyCertificate, type Certificate } from './certificate.js';
import { DbHealth, describeError, isConnectionError } from './db-health.js';
import { DrmError } from './encoding.js';
import { generateKeyPair, privateKeyFromPem, privateKeyToPem } from './keys.js';
import { migrate } from './ri-pg-schema.js';
import type { ContentRow, DeviceRow, DomainRow, IssuedRo, RiEnrol, RiKeys, RiStats, RiStore } from './ri-store.js';
import type { PlayConstraints } from './rights-object.js';

export interface PgStoreOptions {
  url: string;
  nonceTtlMs: number;
  log: (message: string) => void;
  /** Connections per process (default 10). */
  poolSize?: number;
  /** Start-up: first retry delay, doubling up to maxRetryDelayMs (defaults 250 ms, 5 s). */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** "postgres HOST:PORT/DB" (never the password). */
export function describePgUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres ${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    throw new DrmError('bad-usage', `--db ${JSON.stringify(url.replace(/:[^:@/]*@/, ':***@'))}: not a postgres:// URL`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));

/**
 * Connects and migrates, retrying with backoff while the database cannot be reached (each attempt
 * logged); a database that answers but refuses (bad password, no such database, newer schema)
 * is an error at once.
 */
export async function openPgStore(o: PgStoreOptions): Promise<PgRiStore> {
  const what = describePgUrl(o.url);
  const pool = new pg.Pool({ connectionString: o.url, max: o.poolSize ?? 10, connectionTimeoutMillis: 3000, query_timeout: 15_000, keepAlive: true, application_name: 'superdist-rights-issuer' });
  let health: DbHealth | undefined;
  // An idle connection that breaks (server restarted) must not crash the process.
  pool.on('error', (err) => health?.failed(err));
  for (let attempt = 1; ; attempt++) {
    try {
      const client = await pool.connect();
      try {
        const m = await migrate(client);
        o.log(`rights issuer database ${what}: schema version ${m.version}${m.applied.length ? ` (applied ${m.applied.join(', ')})` : ''}`);
      } finally {
        client.release();
      }
      break;
    } catch (err) {
      if (!isConnectionError(err)) {
        await pool.end().catch(() => undefined);
        if (err instanceof DrmError) throw err;
        throw new DrmError('db-refused', `rights issuer database ${what}: ${describeError(err)}`);
      }
      const delay = Math.min(o.maxRetryDelayMs ?? 5000, (o.minRetryDelayMs ?? 250) * 2 ** Math.min(attempt - 1, 16));
      o.log(`rights issuer database ${what} unreachable at start (attempt ${attempt}): ${describeError(err)}; retrying in ${(delay / 1000).toFixed(2)} s, not serving until it answers`);
      await sleep(delay);
    }
  }
  health = new DbHealth({ what, log: o.log, probe: async () => void (await pool.query('SELECT 1')) });
  return new PgRiStore(pool, health, what, o.nonceTtlMs);
}

type Tx = pg.PoolClient;

export class PgRiStore implements RiStore {
  private issued = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly health: DbHealth,
    readonly describe: string,
    private readonly nonceTtlMs: number,
  ) {}

  /** One statement; connection failures become 'unavailable' (503) and start the retry loop. */
  private async q<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.health.check();
    try {
      return await this.pool.query<R>(sql, args);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** A transaction on one connection; rolled back on any error. */
  private async tx<T>(fn: (c: Tx) => Promise<T>): Promise<T> {
    this.health.check();
    let client: Tx;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.mapError(err);
    }
    let broken: unknown;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const v = await fn(client);
      await client.query('COMMIT');
      return v;
    } catch (err) {
      if (!isConnectionError(err)) await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      else broken = err;
      throw this.mapError(err);
    } finally {
      client.off('error', onError);
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }

  private mapError(err: unknown): unknown {
    if (err instanceof DrmError) return err;
    if (isConnectionError(err)) {
      this.health.failed(err);
      return new DrmError('unavailable', `the rights issuer's database (${this.describe}) is unreachable (${describeError(err)}); retrying in the background: try again shortly`);
    }
    if ((err as { code?: string }).code === '23505' && /ri_ro_nonce/.test(String((err as { constraint?: string }).constraint))) {
      return new DrmError('replay', 'replayed request: its nonce was already used');
    }
    return err;
  }

  async loadIdentity(enrol: RiEnrol): Promise<RiKeys> {
    const read = async () => (await this.q<{ sign_pem: string; wrap_pem: string; cert: unknown; ca_cert: unknown }>('SELECT sign_pem, wrap_pem, cert, ca_cert FROM ri_identity WHERE id = 1')).rows[0];
    let row = await read();
    if (!row) {
      const sign = generateKeyPair('ed25519');
      const wrap = generateKeyPair('x25519');
      const made = enrol(sign, wrap);
      // Two processes starting on an empty database: the first insert wins, both use it.
      await this.q('INSERT INTO ri_identity (id, sign_pem, wrap_pem, cert, ca_cert) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [
        privateKeyToPem(sign.privateKey), privateKeyToPem(wrap.privateKey), JSON.stringify(made.cert), JSON.stringify(made.ca),
      ]);
      row = await read();
      if (!row) throw new DrmError('db-refused', `rights issuer database ${this.describe}: the identity row did not persist`);
    }
    const sign = privateKeyFromPem(row.sign_pem, 'ed25519', `${this.describe} ri_identity.sign_pem`);
    const wrap = privateKeyFromPem(row.wrap_pem, 'x25519', `${this.describe} ri_identity.wrap_pem`);
    const ca = verifyCaCertificate(row.ca_cert);
    const cert = verifyCertificate(row.cert, ca, { roles: ['ri'] });
    if (cert.signKey !== sign.publicKey) throw new DrmError('bad-key', `${this.describe}: the stored RI certificate belongs to another key than the stored signing key`);
    return { sign, wrap, ca, cert };
  }

  /**
   * Nonce writes commit without waiting for the WAL flush: losing one in a crash is harmless (an
   * issued nonce lost: the device asks again; a burn lost: no RO was answered for it, since the RO's
   * synchronous commit flushes the WAL written before it, burn included).
   */
  private async lazyCommit(sql: string, args: unknown[]): Promise<pg.QueryResult> {
    return this.tx(async (c) => {
      await c.query('SET LOCAL synchronous_commit = off');
      return c.query(sql, args);
    });
  }

  async issueNonce(): Promise<string> {
    const nonce = randomBytes(16).toString('base64url');
    await this.lazyCommit(`INSERT INTO ri_nonce (nonce, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')`, [nonce, this.nonceTtlMs]);
    // Expired nonces (used or not) go now and then; replays of them are refused as unknown.
    if (++this.issued % 500 === 0) await this.q('DELETE FROM ri_nonce WHERE expires_at < now()');
    return nonce;
  }

  async takeNonce(nonce: string): Promise<void> {
    const r = await this.lazyCommit('UPDATE ri_nonce SET used = true WHERE nonce = $1 AND NOT used AND expires_at > now() RETURNING 1', [nonce]);
    if (r.rowCount === 1) return;
    const seen = await this.q<{ used: boolean }>('SELECT used FROM ri_nonce WHERE nonce = $1 AND expires_at > now()', [nonce]);
    if (seen.rows[0]?.used) throw new DrmError('replay', 'replayed request: its nonce was already used');
    throw new DrmError('bad-nonce', 'unknown or expired nonce: ask GET /v1/nonce for a fresh one');
  }

  async device(id: string): Promise<DeviceRow | undefined> {
    const r = (await this.q<{ cert: Certificate; registered_at: Date }>('SELECT cert, registered_at FROM ri_device WHERE device_id = $1', [id])).rows[0];
    return r && { cert: r.cert, registeredAt: iso(r.registered_at) };
  }

  async putDevice(cert: Certificate, at: string): Promise<void> {
    await this.q('INSERT INTO ri_device (device_id, cert, registered_at) VALUES ($1, $2, $3) ON CONFLICT (device_id) DO UPDATE SET cert = EXCLUDED.cert, registered_at = EXCLUDED.registered_at', [cert.id, JSON.stringify(cert), at]);
  }

  async content(id: string): Promise<ContentRow | undefined> {
    const r = (await this.q<{ key: string; constraints: PlayConstraints; packager: string; registered_at: Date }>('SELECT key, constraints, packager, registered_at FROM ri_content WHERE content_id = $1', [id])).rows[0];
    return r && { key: r.key, constraints: r.constraints, packager: r.packager, registeredAt: iso(r.registered_at) };
  }

  async putContent(id: string, row: ContentRow): Promise<void> {
    const r = await this.q(
      `INSERT INTO ri_content (content_id, key, constraints, packager, registered_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (content_id) DO UPDATE SET constraints = EXCLUDED.constraints, registered_at = EXCLUDED.registered_at
       WHERE ri_content.packager = EXCLUDED.packager AND ri_content.key = EXCLUDED.key RETURNING 1`,
      [id, row.key, JSON.stringify(row.constraints), row.packager, row.registeredAt],
    );
    if (r.rowCount === 1) return;
    const old = await this.content(id);
    if (old && old.packager !== row.packager) throw new DrmError('conflict', `content ${id} is registered by another packager (${old.packager})`);
    throw new DrmError('conflict', `content ${id} is already registered with another key`);
  }

  async domain(id: string): Promise<DomainRow | undefined> {
    const r = (
      await this.q<{ owner: string; name: string; max_size: number; generation: number; key_pem: string; public_key: string; members: string[] }>(
        `SELECT owner, name, max_size, generation, key_pem, public_key,
                coalesce((SELECT array_agg(device_id ORDER BY seq) FROM ri_domain_member m WHERE m.domain_id = d.domain_id), '{}') AS members
           FROM ri_domain d WHERE domain_id = $1`,
        [id],
      )
    ).rows[0];
    return r && { owner: r.owner, name: r.name, maxSize: r.max_size, generation: r.generation, keyPem: r.key_pem, publicKey: r.public_key, members: r.members };
  }

  async createDomain(id: string, row: DomainRow): Promise<void> {
    await this.tx(async (c) => {
      await c.query('INSERT INTO ri_domain (domain_id, owner, name, max_size, generation, key_pem, public_key) VALUES ($1, $2, $3, $4, $5, $6, $7)', [id, row.owner, row.name, row.maxSize, row.generation, row.keyPem, row.publicKey]);
      for (const m of row.members) await c.query('INSERT INTO ri_domain_member (domain_id, device_id) VALUES ($1, $2)', [id, m]);
    });
  }

  joinDomain(domainId: string, deviceId: string): Promise<'joined' | 'member'> {
    return this.tx(async (c) => {
      const d = (await c.query<{ max_size: number }>('SELECT max_size FROM ri_domain WHERE domain_id = $1 FOR UPDATE', [domainId])).rows[0];
      if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
      const m = (await c.query<{ n: number; member: boolean | null }>('SELECT count(*)::int AS n, bool_or(device_id = $2) AS member FROM ri_domain_member WHERE domain_id = $1', [domainId, deviceId])).rows[0]!;
      if (m.member) return 'member';
      if (m.n >= d.max_size) throw new DrmError('domain-full', `domain ${domainId} is full (${m.n} of ${d.max_size} devices)`);
      await c.query('INSERT INTO ri_domain_member (domain_id, device_id) VALUES ($1, $2)', [domainId, deviceId]);
      return 'joined';
    });
  }

  leaveDomain(domainId: string, deviceId: string, next: { keyPem: string; publicKey: string }): Promise<number> {
    return this.tx(async (c) => {
      const d = (await c.query('SELECT generation FROM ri_domain WHERE domain_id = $1 FOR UPDATE', [domainId])).rows[0];
      if (!d) throw new DrmError('unknown-domain', `no domain ${domainId}`);
      const gone = await c.query('DELETE FROM ri_domain_member WHERE domain_id = $1 AND device_id = $2', [domainId, deviceId]);
      if (gone.rowCount !== 1) throw new DrmError('not-member', `device ${deviceId} is not a member of domain ${domainId}`);
      const r = await c.query<{ generation: number }>('UPDATE ri_domain SET generation = generation + 1, key_pem = $2, public_key = $3 WHERE domain_id = $1 RETURNING generation', [domainId, next.keyPem, next.publicKey]);
      return r.rows[0]!.generation;
    });
  }

  async recordRo(ro: IssuedRo): Promise<void> {
    // One statement, so one implicit transaction: the RO row and its counter commit together.
    await this.q(
      `WITH ro AS (
         INSERT INTO ri_ro (ro_id, nonce, content_id, binding_kind, binding_id, generation, issued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING binding_kind, binding_id, content_id)
       INSERT INTO ri_issue_count (binding_kind, binding_id, content_id, issued)
       SELECT binding_kind, binding_id, content_id, 1 FROM ro
       ON CONFLICT (binding_kind, binding_id, content_id) DO UPDATE SET issued = ri_issue_count.issued + 1`,
      [ro.roId, ro.nonce, ro.contentId, ro.binding.kind, ro.binding.id, ro.binding.kind === 'domain' ? ro.binding.generation : null, ro.at],
    );
  }

  async stats(): Promise<RiStats> {
    const r = (
      await this.q<RiStats>(
        `SELECT (SELECT count(*) FROM ri_device)::int AS devices, (SELECT count(*) FROM ri_content)::int AS contents,
                (SELECT count(*) FROM ri_domain)::int AS domains, (SELECT count(*) FROM ri_ro)::int AS "rosIssued"`,
      )
    ).rows[0]!;
    return r;
  }

  async close(): Promise<void> {
    this.health.close();
    await this.pool.end();
  }
}
