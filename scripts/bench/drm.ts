// DRM figures: rights-object acquisition latency (direct to the rights issuer, and through a main
// node's DRM proxy), and decryption throughput on one core against stream rates.
//
//   node esbuild.config.mjs && npx tsx scripts/bench/drm.ts [--n 200]
//
// The rights issuer runs as its own process (the bundle, loopback HTTP, journal fsynced per RO);
// the proxy (domain manager + relay) and the device's DRM agent run in this process. An acquisition
// is what `superdist drm acquire` does: GET /v1/info (RI certificate, checked against the CA),
// GET /v1/nonce, POST /v1/ro (signed), then the agent verifies the RO, unwraps the key and stores
// it atomically (fsync). Decryption: AES-128-CTR of 1-second chunks (content-cipher.ts) and the
// live gate (live-gate.ts) on one core, as MB/s and as a multiple of a stream's byte rate.
// Writes bench-results/drm.json and bench-results/drm.svg.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerEnrolRequest, enrolRequest, installEnrolment, loadOrCreateIdentity, requireEnrolled } from '../../src/drm/device-identity.js';
import { DrmAgent } from '../../src/drm/drm-agent.js';
import { DomainManager } from '../../src/drm/domain-manager.js';
import { startDrmProxy } from '../../src/drm/drm-proxy.js';
import { callJson } from '../../src/drm/json-http.js';
import { cryptChunk } from '../../src/drm/content-cipher.js';
import { LiveGate } from '../../src/drm/live-gate.js';
import { protectChunk } from '../../src/drm/live-protect.js';
import { initCa, loadCa } from '../../src/drm/operator-ca.js';
import { packageFile } from '../../src/drm/packager.js';
import { signRequest } from '../../src/drm/signed-request.js';
import { barChart } from './lib/plot.js';
import { machineInfo, printTable, writePlot, writeResult } from './lib/report.js';

const BUNDLE = new URL('../../dist/superdist.cjs', import.meta.url).pathname;
const argN = process.argv.indexOf('--n');
const N = argN > 0 ? Number(process.argv[argN + 1]) : 200;
const STREAMS_KBPS = [1000, 4000, 8000];

const tmp = () => mkdtempSync(join(tmpdir(), 'sd-bench-drm-'));

function enrolDir(caDir: string, role: 'device' | 'packager', name: string): string {
  const dir = tmp();
  const id = loadOrCreateIdentity(dir);
  installEnrolment(id, answerEnrolRequest(loadCa(caDir), enrolRequest(id, role, name)));
  return dir;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function latency(name: string, n: number, once: () => Promise<unknown>): Promise<{ path: string; n: number; meanMs: number; p50Ms: number; p95Ms: number; p99Ms: number }> {
  for (let i = 0; i < 10; i++) await once();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await once();
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const r = (v: number) => Math.round(v * 100) / 100;
  return { path: name, n, meanMs: r(xs.reduce((a, b) => a + b, 0) / n), p50Ms: r(pct(xs, 50)), p95Ms: r(pct(xs, 95)), p99Ms: r(pct(xs, 99)) };
}

function throughput(name: string, bytesPerOp: number, op: () => void): { op: string; mbPerSec: number } {
  const end0 = Date.now() + 300;
  while (Date.now() < end0) op();
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t = process.hrtime.bigint();
    const end = Date.now() + 300;
    while (Date.now() < end) {
      op();
      n++;
    }
    runs.push((n * bytesPerOp) / (Number(process.hrtime.bigint() - t) / 1e9) / 1e6);
  }
  runs.sort((a, b) => a - b);
  return { op: name, mbPerSec: Math.round(runs[2]! * 10) / 10 };
}

async function main(): Promise<void> {
  const caDir = tmp();
  initCa(caDir, 'bench CA');
  const ri = spawn(process.execPath, [BUNDLE, 'rights-issuer', '--listen', '127.0.0.1:0', '--db', tmp(), '--ca', caDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    ri.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    ri.once('exit', (c) => reject(new Error(`rights issuer exited (${c})`)));
  });
  try {
    const input = join(tmp(), 'c.bin');
    writeFileSync(input, randomBytes(100_000));
    const h = await packageFile({ input, output: `${input}.sdc`, rightsIssuer: url, previewS: 0, constraints: {}, identity: loadOrCreateIdentity(enrolDir(caDir, 'packager', 'p')) });
    const main = loadOrCreateIdentity(enrolDir(caDir, 'device', 'main'));
    const manager = new DomainManager({ identity: main, upstream: () => url, maxSize: 8, name: 'bench' });
    const proxy = await startDrmProxy({ host: '127.0.0.1', port: 0, upstream: () => url, manager });
    const proxyUrl = `http://${proxy.stats().address}`;
    const devDir = enrolDir(caDir, 'device', 'tv');
    const localDir = enrolDir(caDir, 'device', 'local');
    // local joins the domain through the proxy (owner approves at once).
    const lid = requireEnrolled(loadOrCreateIdentity(localDir));
    const { domainId } = await callJson<{ domainId: string }>(proxyUrl, '/proxy/domain');
    const { nonce } = await callJson<{ nonce: string }>(proxyUrl, '/v1/nonce');
    const j = await callJson<{ id: string }>(proxyUrl, '/proxy/join', { request: signRequest('/v1/domain/join-request', nonce, { domainId }, lid.cert, lid.sign.privateKey) });
    await manager.approve(j.id);
    const out = await callJson<{ grant: unknown; ri: unknown }>(proxyUrl, `/proxy/join/${j.id}`);
    const dev = new DrmAgent(devDir);
    const local = new DrmAgent(localDir);
    local.installDomainKey(out.grant, out.ri);

    const lat = [
      await latency('direct, device RO', N, () => dev.acquire(url, h.contentId)),
      await latency('via main-node proxy, domain RO', N, () => local.acquire(proxyUrl, h.contentId, { domainId })),
    ];
    await proxy.close();

    const chunkFor = (kbps: number) => randomBytes((kbps * 1000) / 8); // one second of stream
    const key = randomBytes(16);
    const tput = [
      throughput('AES-128-CTR, 1 s chunks of 4 Mbit/s (500 kB)', 500_000, ((c) => () => cryptChunk(key, 7, c))(chunkFor(4000))),
      throughput('AES-128-CTR, 1 s chunks of 1 Mbit/s (125 kB)', 125_000, ((c) => () => cryptChunk(key, 7, c))(chunkFor(1000))),
      throughput('live gate (check + decrypt), 500 kB chunks', 500_000, (() => {
        // The gate under a real grant (a device RO of the packaged content): constraint check + decrypt.
        const gate = new LiveGate(dev, h.contentId);
        const contentKey = dev.startPlay(h.contentId).key;
        const chunk = protectChunk(contentKey, 3, chunkFor(4000));
        return () => gate.filter(3, chunk);
      })()),
    ];
    const rows = tput.map((t) => ({ ...t, ...Object.fromEntries(STREAMS_KBPS.map((k) => [`× ${k / 1000} Mbit/s`, Math.round((t.mbPerSec * 1e6) / ((k * 1000) / 8))])) }));
    console.log(`\nRO acquisition latency (${N} each; RI as its own process on loopback, journal fsync per RO):`);
    printTable(lat);
    console.log('\nDecryption on one core (median of 5 × 300 ms) and as a multiple of the stream byte rate:');
    printTable(rows);
    const machine = machineInfo();
    const json = writeResult('drm', { machine, n: N, latency: lat, decryption: rows });
    const svg = writePlot(
      'drm',
      barChart({
        title: `DRM: RO acquisition p50 (ms) and decryption (MB/s, one core) — node ${machine.node}`,
        unit: '',
        log: true,
        bars: [...lat.map((l) => ({ label: `RO ${l.path} p50 ms`, value: l.p50Ms })), ...tput.map((t) => ({ label: `${t.op} MB/s`, value: t.mbPerSec }))],
      }),
    );
    console.log(`\nwrote ${json}\nwrote ${svg}`);
  } finally {
    ri.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
