// The rights issuer's PostgreSQL store against a real throwaway PostgreSQL (test/support/postgres.ts):
// two RIs on one database are one issuer (same certificate, shared nonces, a request accepted once),
// migrations apply once when two processes start together and a newer schema is refused, domain
// size holds under concurrent joins, and an outage answers 503 naming the database, retries and
// serves again when the database is back, also when it is down at start.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrmAgent } from '../../src/drm/drm-agent.js';
import { callJson } from '../../src/drm/json-http.js';
import { initCa, type OperatorCa } from '../../src/drm/operator-ca.js';
import { RiClient } from '../../src/drm/ri-client.js';
import { migrate } from '../../src/drm/ri-pg-schema.js';
import { openPgStore } from '../../src/drm/ri-pg-store.js';
import { startRiServer } from '../../src/drm/ri-server.js';
import { NONCE_TTL_MS, RightsIssuer } from '../../src/drm/rights-issuer.js';
import { canRunPostgres, startPostgres, type PgCluster } from '../support/postgres.js';
import { acquireMany, enrolIdentity, registerContent, registerDevices, signedJoin } from '../support/ri-load.js';
import { waitFor } from '../support/wait-for.js';

let pgc: PgCluster;
let ca: OperatorCa;
let caDir: string;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (!canRunPostgres()) return;
  pgc = await startPostgres();
  caDir = mkdtempSync(join(tmpdir(), 'sd-ri-ca-'));
  ca = initCa(caDir, 'op');
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await pgc?.destroy();
});

async function startPgRi(url: string, withCa: boolean, log: string[] = []) {
  const store = await openPgStore({ url, nonceTtlMs: NONCE_TTL_MS, log: (m) => log.push(m), poolSize: 4, minRetryDelayMs: 50, maxRetryDelayMs: 300 });
  const ri = await RightsIssuer.open({ store, ...(withCa ? { caDir } : {}) });
  const srv = await startRiServer(ri, '127.0.0.1', 0);
  const close = async () => {
    await srv.close();
    await ri.close();
  };
  closers.push(close);
  return { ri, url: `http://127.0.0.1:${srv.port}`, log, close };
}

describe.skipIf(!canRunPostgres())('rights issuer on PostgreSQL (needs root to run PostgreSQL as its own user: skipped otherwise)', () => {
  it('two processes on one database are one issuer: same certificate, shared nonces, each request accepted once, domain size under races', async () => {
    const db = `${pgc.url.replace(/\/postgres$/, '')}/ri_a`;
    pgc.psql('CREATE DATABASE ri_a');
    // Both start together on an empty database: the schema is applied once, one identity made.
    const [a, b] = await Promise.all([startPgRi(db, true), startPgRi(db, true)]);
    expect(a.ri.cert.id).toBe(b.ri.cert.id);
    const direct = new pg.Client({ connectionString: db });
    direct.on('error', () => undefined);
    await direct.connect();
    expect((await direct.query('SELECT version FROM ri_schema_version ORDER BY version')).rows).toEqual([{ version: 1 }]);
    expect([...a.log, ...b.log].filter((l) => /applied 1/.test(l))).toHaveLength(1);
    // A third process without --ca loads the stored identity.
    const c = await startPgRi(db, false);
    expect(c.ri.cert.id).toBe(a.ri.cert.id);

    const packager = enrolIdentity(ca, 'packager', 'studio');
    const contentId = await registerContent(a.url, packager, { count: 3 });
    await expect(new RiClient(b.url, packager).registerContent(contentId, Buffer.alloc(16, 7), {})).rejects.toThrow(`content ${contentId} is already registered with another key`);
    const devices = [enrolIdentity(ca, 'device', 'tv1'), enrolIdentity(ca, 'device', 'tv2')];
    await registerDevices([b.url, a.url], devices);

    // Nonce from A, request to B; the same signed request replayed at A and at B is refused.
    const { nonce } = await callJson<{ nonce: string }>(a.url, '/v1/nonce');
    const { signRequest } = await import('../../src/drm/signed-request.js');
    const req = signRequest('/v1/ro', nonce, { contentId }, devices[0]!.cert, devices[0]!.sign.privateKey);
    const first = await callJson<{ ro: { id: string }; ri: unknown }>(b.url, '/v1/ro', req);
    for (const u of [a.url, b.url]) await expect(callJson(u, '/v1/ro', req)).rejects.toThrow('replayed request: its nonce was already used');
    // The RO works on the device (checked against the CA, unwraps).
    const agentDir = mkdtempSync(join(tmpdir(), 'sd-ri-agent-'));
    const { installEnrolment, loadOrCreateIdentity, enrolRequest, answerEnrolRequest } = await import('../../src/drm/device-identity.js');
    const agentId = installEnrolment(loadOrCreateIdentity(agentDir), answerEnrolRequest(ca, enrolRequest(loadOrCreateIdentity(agentDir), 'device', 'agent')));
    const agent = new DrmAgent(agentDir);
    const ro = await agent.acquire(a.url, contentId);
    expect(ro.binding).toEqual({ kind: 'device', id: agentId.cert.id });
    expect(agent.rights(contentId)).toMatchObject({ state: 'allowed', remaining: 3 });

    // 200 acquisitions, the same nonce never used twice, counters equal to the rows.
    const run = await acquireMany({ urls: () => [a.url, b.url, c.url], devices, contentId, total: 200, inFlight: 20 });
    expect(run.failures).toEqual([]);
    expect(new Set(run.answers.map((x) => x.roId)).size).toBe(200);
    const counts = (await direct.query<{ binding_id: string; issued: string; rows: string }>(
      `SELECT c.binding_id, c.issued, (SELECT count(*) FROM ri_ro r WHERE r.binding_id = c.binding_id AND r.content_id = c.content_id) AS rows
         FROM ri_issue_count c WHERE c.content_id = $1`, [contentId])).rows;
    const byDev = Object.fromEntries(counts.map((r) => [r.binding_id, Number(r.issued)]));
    expect(byDev).toEqual({ [devices[0]!.cert.id]: 101, [devices[1]!.cert.id]: 100, [agentId.cert.id]: 1 });
    for (const r of counts) expect(r.issued).toBe(r.rows);
    expect(first.ro.id).toMatch(/^ro-/);
    expect(await a.ri.stats()).toEqual({ devices: 3, contents: 1, domains: 0, rosIssued: 202 });

    // A domain of one: two owner-approved joins race through A and B; exactly one gets in.
    const owner = devices[0]!;
    const { domainId } = await new RiClient(a.url, owner).createDomain('home', 1);
    const m1 = enrolIdentity(ca, 'device', 'm1');
    const m2 = enrolIdentity(ca, 'device', 'm2');
    const nonces = await Promise.all([a, a, b, b].map((x) => callJson<{ nonce: string }>(x.url, '/v1/nonce')));
    const joins = await Promise.allSettled([
      callJson(a.url, '/v1/domain/join', signedJoin(owner, m1, domainId, nonces[0]!.nonce, nonces[1]!.nonce)),
      callJson(b.url, '/v1/domain/join', signedJoin(owner, m2, domainId, nonces[2]!.nonce, nonces[3]!.nonce)),
    ]);
    expect(joins.filter((j) => j.status === 'fulfilled')).toHaveLength(1);
    const refused = joins.find((j) => j.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason)).toMatch(`domain ${domainId} is full (1 of 1 devices)`);
    const member = joins[0]!.status === 'fulfilled' ? m1 : m2;
    const left = await new RiClient(b.url, member).leaveDomain(domainId);
    expect(left).toMatchObject({ left: member.cert.id, generation: 2 });
    await direct.end();
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('a newer schema is refused; migrations are idempotent', async () => {
    pgc.psql('CREATE DATABASE ri_b');
    const client = new pg.Client({ connectionString: `${pgc.url.replace(/\/postgres$/, '')}/ri_b` });
    await client.connect();
    try {
      const pool = { query: client.query.bind(client) } as unknown as pg.PoolClient;
      expect(await migrate(pool)).toEqual({ version: 1, applied: [1] });
      expect(await migrate(pool)).toEqual({ version: 1, applied: [] });
      await client.query(`INSERT INTO ri_schema_version (version, description) VALUES (2, 'from a newer superdist')`);
      await expect(migrate(pool)).rejects.toThrow('the rights issuer database has schema version 2; this superdist knows up to 1: upgrade superdist before starting it on this database');
    } finally {
      await client.end();
    }
  });

  it('database down mid-run: 503 naming the database, retries, serves again; down at start: waits and retries', async () => {
    pgc.psql('CREATE DATABASE ri_c');
    const db = `${pgc.url.replace(/\/postgres$/, '')}/ri_c`;
    const ri = await startPgRi(db, true);
    const packager = enrolIdentity(ca, 'packager', 'studio');
    const contentId = await registerContent(ri.url, packager, { count: 2 });
    const dev = enrolIdentity(ca, 'device', 'tv');
    await registerDevices([ri.url], [dev]);
    expect((await acquireMany({ urls: () => [ri.url], devices: [dev], contentId, total: 5, inFlight: 5 })).answers).toHaveLength(5);

    await pgc.stop();
    const t0 = Date.now();
    const during = await acquireMany({ urls: () => [ri.url], devices: [dev], contentId, total: 10, inFlight: 2 });
    expect(during.answers).toEqual([]);
    expect(during.failures.length).toBe(10);
    for (const f of during.failures) expect(f).toMatch(/the rights issuer's database \(postgres 127\.0\.0\.1:\d+\/ri_c\) is unreachable \(.+\).*try again shortly/);
    // Refused at once, not after a connect timeout each.
    expect(Date.now() - t0).toBeLessThan(5000);
    const res = await fetch(`${ri.url}/v1/nonce`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'unavailable' });
    await waitFor('a retry logged', 5000, () => ri.log.some((l) => /still unreachable \(attempt \d+\)/.test(l)));
    expect(ri.log.find((l) => /unreachable: /.test(l))).toMatch(new RegExp(`rights issuer database postgres 127\\.0\\.0\\.1:${pgc.port}/ri_c unreachable: .*answering 503 and retrying`));

    await pgc.start();
    await waitFor('serving again', 15_000, async () => (await acquireMany({ urls: () => [ri.url], devices: [dev], contentId, total: 1, inFlight: 1 })).answers.length === 1);
    expect(ri.log.some((l) => /reachable again after [\d.]+ s; serving/.test(l))).toBe(true);
    expect((await ri.ri.stats()).rosIssued).toBe(6);

    // Down at start: openPgStore logs each attempt and resolves once the database answers.
    await pgc.stop();
    const log: string[] = [];
    const opening = openPgStore({ url: db, nonceTtlMs: NONCE_TTL_MS, log: (m) => log.push(m), minRetryDelayMs: 50, maxRetryDelayMs: 200 });
    await waitFor('start attempts logged', 10_000, () => log.filter((l) => /unreachable at start \(attempt \d+\).*retrying in [\d.]+ s, not serving until it answers/.test(l)).length >= 2);
    await pgc.start();
    const store = await opening;
    closers.push(() => store.close());
    expect((await store.stats()).rosIssued).toBe(6);
  });
});
