// The owner approves a domain join request on the main node's web page, from a phone on the segment,
// and the device can then play the protected channel. Network namespaces (root only; skipped otherwise):
//   uplink ns: bridge br0 10.77.1.1/24 — rights issuer, central tracker, protected live source
//   main1:     up0 10.77.1.11 (default route) + seg0 10.77.9.1 on bridge `seg` (hub ns); the web page
//              on its automatic addresses (segment and LAN, port 8080)
//   local1:    seg0 10.77.9.11, no uplink: asks to join the main node's domain
//   phone:     seg0 10.77.9.50: headless Chromium runs here (a phone on the bar's hotspot)
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { controlCall } from '../../src/control/control-client.js';
import { buildDomainLab, drmOf, MAIN_SEGMENT, QUIET, rightsOf, startProtectedUplink, UPLINK } from '../support/drm-domain-lab.js';
import { makeTestStream } from '../support/media.js';
import { NetnsLab, netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { BUNDLE, killAll, status, tempDir, waitFor, type Proc } from '../support/processes.js';

const PAGE = `http://${MAIN_SEGMENT}:8080/`;
const PASSWORD = 'main node owner 7';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
const lab = new NetnsLab();
const procs: Proc[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await killAll(procs);
  await lab.cleanup();
});

describe.skipIf(!netnsAvailable())('domain join approved on the web page (network namespaces)', () => {
  it('a viewer cannot approve; the owner approves on the page and the device then plays in clear', async () => {
    removeStaleLabs();
    const dir = tempDir('sd-webdom-');
    const input = makeTestStream({ seconds: 120, bitrateKbps: 500, path: join(dir, 'in.ts') });
    buildDomainLab(lab, [{ ns: 'local1', ip: '10.77.9.11', dev: 'l1' }, { ns: 'phone', ip: '10.77.9.50', dev: 'p1' }]);
    const { url, channelId } = await startProtectedUplink(lab, dir, procs, { input, nodes: ['main1', 'local1'], previewS: 2, previewEveryS: 15 });
    const set = spawnSync(process.execPath, [BUNDLE, 'web', 'set-password', '--state-dir', join(dir, 'main1'), '--password-stdin'], { input: PASSWORD, encoding: 'utf8' });
    expect(set.status, set.stderr).toBe(0);
    // The web page on the automatic addresses: loopback, the segment, the uplink's private LAN.
    const main = lab.start('main1', 'main1', dir, ['node', '--role', 'main', '--tracker', `${UPLINK}:7000`, '--segment', MAIN_SEGMENT, '--listen', '0.0.0.0:7878', '--player', 'none', '--set', `drm.rightsIssuer="${url}"`, '--set', 'web.enabled=true', '--name', 'Bar box', ...QUIET]);
    const urls = await waitFor('main1 web page', 15_000, async () => (await status(main))?.web?.urls, (u) => u.length >= 3);
    expect(urls).toEqual(['http://127.0.0.1:8080/', 'http://10.77.9.1:8080/', 'http://10.77.1.11:8080/']);
    await waitFor('main1 to become the local tracker', 15_000, () => status(main), (s) => s.segment?.tracker === 'leader');
    const local = lab.start('local1', 'local1', dir, ['node', '--role', 'local', '--watch', 'paid', '--listen', '0.0.0.0:7878', '--player', 'none', '--name', 'kitchen tv', ...QUIET]);
    await waitFor('local1 knows the proxy', 30_000, async () => (await drmOf(local))?.rightsIssuer === `http://${MAIN_SEGMENT}:7881`);
    const joinId = ((await controlCall(local.control, 'drm.join', {}, 20_000)) as { id: string }).id;

    // Chromium on the phone's namespace (a wrapper runs /usr/bin/chromium under ip netns exec).
    const wrapper = join(dir, 'chromium-in-phone-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.ns('phone')} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({ executablePath: wrapper, args: CHROMIUM_ARGS });

    // A viewer: no join requests on the page, and the API refuses the approval.
    const viewer = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await viewer.goto(PAGE);
    await expect.poll(() => viewer.locator('#box-name').textContent(), { timeout: 15_000 }).toBe('Bar box');
    expect(await viewer.locator('#owner-card').isVisible()).toBe(false);
    const refused = await viewer.evaluate(async (id) => {
      const s = (await (await fetch('/api/session')).json()) as { csrf: string };
      const r = await fetch('/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }, body: JSON.stringify({ method: 'drm.approve', params: { id } }) });
      return r.status;
    }, joinId);
    expect(refused).toBe(403);
    expect((await drmOf(local))?.join?.state).toBe('pending');

    // The owner logs in on the phone, sees the request by the device's name and approves it.
    const owner = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await owner.goto(PAGE);
    await owner.locator('#login-open').click();
    await owner.locator('#login-password').fill(PASSWORD);
    await owner.locator('#login-form button[type="submit"]').click();
    await expect.poll(() => owner.locator('#role-badge').textContent(), { timeout: 15_000 }).toBe('owner');
    // Peers on the segment: the local node, apart from the uplink peers.
    await expect.poll(() => owner.locator('#peers').innerText(), { timeout: 10_000 }).toMatch(/10\.77\.9\.11:\d+\s*segment/);
    const request = owner.locator(`#pending li[data-request="${joinId}"]`);
    await request.waitFor({ timeout: 15_000 });
    expect(await request.innerText()).toContain('kitchen tv');
    if (process.env.WEB_SCREENSHOTS === '1') await owner.screenshot({ path: new URL('../../bench-results/web-phone-owner-approve.png', import.meta.url).pathname, fullPage: true });
    await request.locator('button.approve').click();
    await waitFor('local1 approved', 15_000, async () => (await drmOf(local))?.join?.state === 'approved');
    await expect.poll(() => owner.locator(`#pending li[data-request="${joinId}"]`).count(), { timeout: 10_000 }).toBe(0);

    // The device can then play: a domain rights object through the proxy, chunks decrypted.
    const acq = spawnSync(process.execPath, [BUNDLE, 'drm', 'acquire', channelId, '--domain', '--control', local.control, '--json'], { encoding: 'utf8', timeout: 30_000 });
    expect(acq.status, acq.stderr).toBe(0);
    const rights = await waitFor('local1 decrypting', 40_000, async () => {
      const r = await rightsOf(local, channelId);
      return r;
    }, (r) => r.state === 'allowed' && r.decryptedChunks >= 5);
    console.log(`web approval: local1 rights ${rights.state}, ${rights.decryptedChunks} chunks decrypted`);
  }, 240_000);
});
