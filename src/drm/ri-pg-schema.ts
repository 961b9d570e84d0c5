// The rights issuer's PostgreSQL schema as ordered migration steps. migrate() runs at every start in
// one transaction under a transaction-scoped advisory lock: two RI processes starting together
// apply each step once (the second waits, then finds it applied). A database whose schema is newer
// than this program knows is refused rather than written to. See docs/drm.md#database.
import type { PoolClient } from 'pg';
import { DrmError } from './encoding.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Never edit a released step: add the next one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'identity, devices, contents, domains, nonces, issued rights objects, issue counters',
    sql: `
      CREATE TABLE ri_identity (
        id smallint PRIMARY KEY CHECK (id = 1),
        sign_pem text NOT NULL,
        wrap_pem text NOT NULL,
        cert jsonb NOT NULL,
        ca_cert jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE ri_device (
        device_id text PRIMARY KEY,
        cert jsonb NOT NULL,
        registered_at timestamptz NOT NULL
      );
      CREATE TABLE ri_content (
        content_id text PRIMARY KEY,
        key text NOT NULL,
        constraints jsonb NOT NULL,
        packager text NOT NULL,
        registered_at timestamptz NOT NULL
      );
      CREATE TABLE ri_domain (
        domain_id text PRIMARY KEY,
        owner text NOT NULL,
        name text NOT NULL,
        max_size integer NOT NULL CHECK (max_size >= 1),
        generation integer NOT NULL CHECK (generation >= 1),
        key_pem text NOT NULL,
        public_key text NOT NULL
      );
      CREATE TABLE ri_domain_member (
        domain_id text NOT NULL REFERENCES ri_domain ON DELETE CASCADE,
        device_id text NOT NULL,
        seq bigserial NOT NULL,
        PRIMARY KEY (domain_id, device_id)
      );
      CREATE TABLE ri_nonce (
        nonce text PRIMARY KEY,
        expires_at timestamptz NOT NULL,
        used boolean NOT NULL DEFAULT false
      );
      CREATE INDEX ri_nonce_expiry ON ri_nonce (expires_at);
      CREATE TABLE ri_ro (
        ro_id text PRIMARY KEY,
        nonce text NOT NULL UNIQUE,
        content_id text NOT NULL REFERENCES ri_content,
        binding_kind text NOT NULL CHECK (binding_kind IN ('device', 'domain')),
        binding_id text NOT NULL,
        generation integer CHECK ((binding_kind = 'domain') = (generation IS NOT NULL)),
        issued_at timestamptz NOT NULL
      );
      CREATE TABLE ri_issue_count (
        binding_kind text NOT NULL,
        binding_id text NOT NULL,
        content_id text NOT NULL REFERENCES ri_content,
        issued bigint NOT NULL CHECK (issued >= 1),
        PRIMARY KEY (binding_kind, binding_id, content_id)
      );
    `,
  },
];

/** A fixed key for pg_advisory_xact_lock: "superdist-ri" as bytes. */
const LOCK_KEY = '7310945451239827817';

/** Applies the missing steps; resolves with the schema version now in place and the steps applied. */
export async function migrate(client: PoolClient, steps: readonly Migration[] = MIGRATIONS): Promise<{ version: number; applied: number[] }> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS ri_schema_version (
      version integer PRIMARY KEY,
      description text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const cur = Number((await client.query<{ v: number | null }>('SELECT max(version) AS v FROM ri_schema_version')).rows[0]?.v ?? 0);
    const known = steps.length ? steps[steps.length - 1]!.version : 0;
    if (cur > known) {
      throw new DrmError('schema-too-new', `the rights issuer database has schema version ${cur}; this superdist knows up to ${known}: upgrade superdist before starting it on this database`);
    }
    const applied: number[] = [];
    for (const m of steps) {
      if (m.version <= cur) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO ri_schema_version (version, description) VALUES ($1, $2)', [m.version, m.description]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return { version: Math.max(cur, known), applied };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
