// Rights issuer + DRM agent in one process over real HTTP on loopback: registration, packaging,
// acquisition, constraints with durable counters, refusals (test 6), domains through the proxy,
// and the RI's database surviving a restart.
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerReader } from '../../src/drm/container.js';
import { answerEnrolRequest, enrolRequest, installEnrolment, loadOrCreateIdentity, requireEnrolled } from '../../src/drm/device-identity.js';
import { DrmAgent } from '../../src/drm/drm-agent.js';
import { DomainManager } from '../../src/drm/domain-manager.js';
import { startDrmProxy } from '../../src/drm/drm-proxy.js';
import { callJson } from '../../src/drm/json-http.js';
import { ProtectedByteSource } from '../../src/drm/protected-source.js';
import { FileByteSource } from '../../src/player/byte-source.js';
import { issueCertificate } from '../../src/drm/certificate.js';
import { initCa, type OperatorCa } from '../../src/drm/operator-ca.js';
import { packageFile } from '../../src/drm/packager.js';
import { RiClient } from '../../src/drm/ri-client.js';
import { RightsIssuer } from '../../src/drm/rights-issuer.js';
import { startRiServer } from '../../src/drm/ri-server.js';
import { signRequest } from '../../src/drm/signed-request.js';
import { signJson } from '../../src/drm/keys.js';

const closers: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

const tmp = () => mkdtempSync(join(tmpdir(), 'sd-ri-'));

/** What the DRM agent lets a player read of a .sdc (in memory, as the box's stream server serves it). */
async function playContainer(agent: DrmAgent, file: string, now: () => number = Date.now) {
  const signal = new AbortController().signal;
  const src = await ProtectedByteSource.open(FileByteSource.open(file, 'video/mp2t'), agent, file, signal, now);
  const parts: Buffer[] = [];
  let off = 0;
  try {
    while (off < src.sizeBytes) {
      const b = await src.read(off, 1 << 20, signal);
      parts.push(Buffer.from(b));
      off += b.length;
    }
  } catch (err) {
    if (src.rights.state !== 'stopped') throw err;
  }
  const bytes = Buffer.concat(parts);
  return { rights: src.rights, bytes, bytesOut: bytes.length, chunks: src.chunks, chunksOut: Math.ceil(off / src.header.chunkBytes) };
}

function enrol(ca: OperatorCa, role: 'device' | 'packager', name: string): string {
  const dir = tmp();
  installEnrolment(loadOrCreateIdentity(dir), answerEnrolRequest(ca, enrolRequest(loadOrCreateIdentity(dir), role, name)));
  return dir;
}

async function startRi(dbDir: string, caDir?: string, domainMaxSize = 8) {
  const ri = new RightsIssuer({ dbDir, ...(caDir ? { caDir } : {}), domainMaxSize });
  const srv = await startRiServer(ri, '127.0.0.1', 0);
  return { ri, url: `http://127.0.0.1:${srv.port}`, close: async () => { await srv.close(); await ri.close(); } };
}

async function setup(constraints: Record<string, unknown>) {
  const caDir = tmp();
  const ca = initCa(caDir, 'op');
  const db = tmp();
  const ri = await startRi(db, caDir);
  closers.push(ri.close);
  const pkg = enrol(ca, 'packager', 'studio');
  const input = join(tmp(), 'movie.ts');
  const plain = randomBytes(400_000);
  writeFileSync(input, plain);
  const out = `${input}.sdc`;
  const h = await packageFile({ input, output: out, rightsIssuer: ri.url, previewS: 1, previewBytes: 100_000, constraints, identity: loadOrCreateIdentity(pkg) });
  return { ca, caDir, db, ri, out, plain, contentId: h.contentId };
}

describe('rights issuer and DRM agent', () => {
  it('without rights: preview only with the reason; after acquiring: the whole file; count of 2 holds across restarts', async () => {
    const s = await setup({ count: 2 });
    const devDir = enrol(s.ca, 'device', 'tv');
    const play = async (dir: string) => {
      const r = await playContainer(new DrmAgent(dir), s.out);
      return { r, bytes: r.bytes };
    };
    const p0 = await play(devDir);
    expect(p0.r.rights).toEqual({ state: 'preview-only', reason: `no rights object for content ${s.contentId}` });
    const previewChunks = ContainerReader.open(s.out).header.previewChunks;
    expect(p0.bytes.equals(s.plain.subarray(0, previewChunks * 188 * 1024))).toBe(true);

    await new DrmAgent(devDir).acquire(s.ri.url, s.contentId);
    // Each play is a fresh agent on the same state dir: a process restart.
    const p1 = await play(devDir);
    expect(p1.r.rights.state).toBe('allowed');
    expect(p1.bytes.equals(s.plain)).toBe(true);
    expect((await play(devDir)).bytes.equals(s.plain)).toBe(true);
    const p3 = await play(devDir);
    expect(p3.r.rights).toMatchObject({ state: 'preview-only', reason: expect.stringMatching(/all 2 plays used/) });
    expect(p3.bytes.length).toBe(previewChunks * 188 * 1024);
  });

  it('an expired rights object stops playback mid-stream', async () => {
    const s = await setup({ intervalS: 5 });
    const devDir = enrol(s.ca, 'device', 'tv');
    const agent = new DrmAgent(devDir);
    await agent.acquire(s.ri.url, s.contentId);
    let t = Date.now();
    // The clock jumps 3 s per chunk read: the 5 s interval ends during the third encrypted chunk.
    const r = await playContainer(agent, s.out, () => (t += 3000));
    expect(r.rights).toMatchObject({ state: 'stopped', reason: expect.stringMatching(/5 s interval from the first play ended/) });
    expect(r.chunksOut).toBeLessThan(r.chunks);
    expect(agent.rights(s.contentId, t)).toMatchObject({ state: 'preview-only' });
  });

  it('refuses a tampered RO, a forged certificate, another device\'s RO and a replayed registration', async () => {
    const s = await setup({});
    const a = enrol(s.ca, 'device', 'a');
    const b = enrol(s.ca, 'device', 'b');
    const agentA = new DrmAgent(a);
    const idA = requireEnrolled(loadOrCreateIdentity(a));
    const client = new RiClient(s.ri.url, idA);
    // Replayed registration: the same signed request twice.
    const reg = await client.signed('/v1/register', {});
    await callJson(s.ri.url, '/v1/register', reg);
    await expect(callJson(s.ri.url, '/v1/register', reg)).rejects.toThrow('replayed request: its nonce was already used');

    const got = await client.acquire(s.contentId);
    const tampered = { ...got.ro, permission: { play: { count: 1000 } } };
    expect(() => agentA.install(tampered, got.ri)).toThrow(/signature does not verify \(tampered rights object\)/);
    expect(() => new DrmAgent(b).install(got.ro, got.ri)).toThrow(`is bound to device ${idA.cert.id}; this device is ${requireEnrolled(loadOrCreateIdentity(b)).cert.id}`);
    expect(agentA.install(got.ro, got.ri).id).toBe(got.ro.id);

    // Forged certificate: made by a rogue CA under the operator CA's id.
    const rogue = initCa(tmp(), 'rogue');
    const idB = loadOrCreateIdentity(b);
    const forged = issueCertificate({ role: 'device', name: 'b', signKey: idB.sign.publicKey, wrapKey: idB.wrap.publicKey }, { id: s.ca.cert.id, privateKey: rogue.key.privateKey }, rogue.key.privateKey, 10);
    const { nonce } = await callJson<{ nonce: string }>(s.ri.url, '/v1/nonce');
    await expect(callJson(s.ri.url, '/v1/register', signRequest('/v1/register', nonce, {}, forged, idB.sign.privateKey))).rejects.toThrow(/signature does not verify against the operator CA .*forged or altered/);
    // An RO signed by a key that is not the RI's.
    const { sig: _s, ...body } = got.ro;
    const resigned = { ...body, sig: signJson('rights-object', body, rogue.key.privateKey) };
    expect(() => agentA.install(resigned, got.ri)).toThrow(/tampered rights object/);
    // A device certificate presented as the RI's.
    expect(() => agentA.install(got.ro, idA.cert)).toThrow(/has role device; expected ri/);
    // A packager request from a device is refused.
    await expect(new RiClient(s.ri.url, idA).registerContent(`sdc-${'0'.repeat(32)}`, randomBytes(16), {})).rejects.toThrow(/has role device; expected packager/);
  });

  it('the database survives a restart of the rights issuer', async () => {
    const s = await setup({ count: 5 });
    const dev = enrol(s.ca, 'device', 'tv');
    await new DrmAgent(dev).acquire(s.ri.url, s.contentId);
    await s.ri.close();
    closers.splice(closers.indexOf(s.ri.close), 1);
    const again = await startRi(s.db);
    closers.push(again.close);
    expect(await again.ri.stats()).toEqual({ devices: 1, contents: 1, domains: 0, rosIssued: 1 });
    // The device is still registered and the content key still known: a second RO for it.
    const id = requireEnrolled(loadOrCreateIdentity(dev));
    const ro = await new RiClient(again.url, id).acquire(s.contentId);
    expect(ro.ro.contentId).toBe(s.contentId);
  });

  it('domains: joins wait for the owner; approved members get domain ROs through the proxy; denied and extra devices do not', async () => {
    const s = await setup({});
    const ri2 = await startRi(tmp(), s.caDir, 2);
    closers.push(ri2.close);
    const main = loadOrCreateIdentity(enrol(s.ca, 'device', 'main'));
    // The content is registered at ri2 as well (a second packaging for this test's domain cap).
    const pkg = loadOrCreateIdentity(enrol(s.ca, 'packager', 'studio'));
    const input = join(tmp(), 'm.ts');
    writeFileSync(input, randomBytes(50_000));
    const h = await packageFile({ input, output: `${input}.sdc`, rightsIssuer: ri2.url, previewS: 0, constraints: {}, identity: pkg });
    const manager = new DomainManager({ identity: main, upstream: () => ri2.url, maxSize: 2, name: 'home' });
    const proxy = await startDrmProxy({ host: '127.0.0.1', port: 0, upstream: () => ri2.url, manager });
    closers.push(proxy.close);
    const proxyUrl = `http://${proxy.stats().address}`;

    const ask = async (dir: string) => {
      const id = requireEnrolled(loadOrCreateIdentity(dir));
      const { domainId } = await callJson<{ domainId: string }>(proxyUrl, '/proxy/domain');
      const { nonce } = await callJson<{ nonce: string }>(proxyUrl, '/v1/nonce');
      const r = await callJson<{ id: string }>(proxyUrl, '/proxy/join', { request: signRequest('/v1/domain/join-request', nonce, { domainId }, id.cert, id.sign.privateKey), name: id.cert.name });
      return { joinId: r.id, domainId };
    };
    const devs = [enrol(s.ca, 'device', 'l1'), enrol(s.ca, 'device', 'l2'), enrol(s.ca, 'device', 'l3'), enrol(s.ca, 'device', 'l4')];
    const reqs = [];
    for (const d of devs) reqs.push(await ask(d));
    expect(manager.pending().map((p) => p.name)).toEqual(['l1', 'l2', 'l3', 'l4']);
    expect(Object.keys(manager.pending()[0]!).sort()).toEqual(['deviceId', 'id', 'name', 'requestedAt']);

    await manager.approve(reqs[0]!.joinId);
    await manager.approve(reqs[1]!.joinId);
    await expect(manager.approve(reqs[2]!.joinId)).rejects.toThrow(/is full \(2 of 2 devices\)/);
    manager.deny(reqs[3]!.joinId);
    expect(await callJson(proxyUrl, `/proxy/join/${reqs[3]!.joinId}`)).toMatchObject({ state: 'denied' });

    const approved = await callJson<{ state: string; grant: unknown; ri: unknown }>(proxyUrl, `/proxy/join/${reqs[0]!.joinId}`);
    const l1 = new DrmAgent(devs[0]!);
    l1.installDomainKey(approved.grant, approved.ri);
    await l1.acquire(proxyUrl, h.contentId, { domainId: reqs[0]!.domainId });
    expect(l1.rights(h.contentId).state).toBe('allowed');
    const r = await playContainer(l1, `${input}.sdc`);
    expect(r.bytesOut).toBe(50_000);

    // The denied device is no member: the RI refuses a domain RO, and it cannot use l1's.
    const l4 = new DrmAgent(devs[3]!);
    await expect(l4.acquire(proxyUrl, h.contentId, { domainId: reqs[3]!.domainId })).rejects.toThrow(/is not an approved member of this main node's domain/);
    await expect(l4.acquire(proxyUrl, h.contentId)).rejects.toThrow(/is not an approved member/);
    await expect(l4.acquire(ri2.url, h.contentId, { domainId: reqs[3]!.domainId })).rejects.toThrow(/is not a member of domain/);
    const ro = JSON.parse(readFileSync(join(devs[0]!, 'drm', 'ros', `${l1.status().rightsObjects.map((x) => (x as { id: string }).id)[0]}.json`), 'utf8'));
    expect(() => l4.install(ro.ro, ro.ri)).toThrow(/bound to domain .* which this device .* has not joined/);
    expect(proxy.stats().relayed).toBeGreaterThan(3);

    // l1 leaves: the RI rotates the domain key; l2 (still a member) gets the new generation and
    // plays a new domain RO; l1 holds no domain key any more and the RI refuses it one.
    await l1.leaveDomain(proxyUrl, reqs[0]!.domainId);
    expect(l1.domains()).toEqual([]);
    expect(l1.rights(h.contentId)).toMatchObject({ state: 'preview-only', reason: expect.stringMatching(/needs key generation 1 of domain dom-.*this device holds none/) });
    const l2 = new DrmAgent(devs[1]!);
    const g2 = await callJson<{ grant: unknown; ri: unknown }>(proxyUrl, `/proxy/join/${reqs[1]!.joinId}`);
    l2.installDomainKey(g2.grant, g2.ri);
    const ro2 = await l2.acquire(proxyUrl, h.contentId, { domainId: reqs[0]!.domainId });
    expect(ro2.binding).toMatchObject({ kind: 'domain', generation: 2 });
    expect(l2.domains()).toEqual([{ domainId: reqs[0]!.domainId, generation: 2 }]);
    expect(l2.rights(h.contentId).state).toBe('allowed');
    await expect(l1.acquire(ri2.url, h.contentId, { domainId: reqs[0]!.domainId })).rejects.toThrow(/is not a member of domain/);
  });
});
