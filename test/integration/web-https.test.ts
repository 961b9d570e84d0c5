// The owner's console over HTTPS, on a box whose page a guest's phone reaches over the hotspot.
// Network namespaces (root only; skipped otherwise):
//   box:   b0 10.78.0.1/24, the node with its page on 10.78.0.1:8443 (HTTPS, plain HTTP redirects)
//   phone: p0 10.78.0.50/24, headless Chromium trusting exactly the key `status` names
// tcpdump -A on b0 records everything between them: neither the owner's password nor a session
// cookie may appear in it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsLab, netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { BUNDLE, killAll, startProc, status, tempDir, waitFor, type Proc } from '../support/processes.js';

const BOX = '10.78.0.1';
const HTTPS_PAGE = `https://${BOX}:8443/`;
const HTTP_PAGE = `http://${BOX}:8443/`;
const PASSWORD = 'bar owner secret 42';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
const tcpdumpAvailable = spawnSync('tcpdump', ['--version']).status === 0;
const lab = new NetnsLab();
const procs: Proc[] = [];
let browser: Browser | undefined;
let capture: ChildProcess | undefined;
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  capture?.kill('SIGKILL');
  await killAll(procs);
  await lab.cleanup();
});

/** Runs a Node script in the phone's namespace; returns its stdout. */
function inPhone(script: string): string {
  const r = spawnSync('ip', ['netns', 'exec', lab.ns('phone'), process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`script in the phone namespace failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe.skipIf(!netnsAvailable() || !tcpdumpAvailable)("the owner's console over HTTPS (network namespaces, tcpdump)", () => {
  it('the owner logs in over HTTPS (fingerprint from status) and changes a setting; plain HTTP only redirects; no password or cookie in clear', async () => {
    removeStaleLabs();
    const dir = tempDir('sd-https-');
    lab.addNamespace('box');
    lab.addNamespace('phone');
    lab.link({ ns: 'box', dev: 'b0', cidr: `${BOX}/24` }, { ns: 'phone', dev: 'p0' });
    expect(spawnSync('ip', ['-n', lab.ns('phone'), 'addr', 'add', '10.78.0.50/24', 'dev', 'p0']).status).toBe(0);

    const set = spawnSync(process.execPath, [BUNDLE, 'web', 'set-password', '--state-dir', join(dir, 'box'), '--password-stdin'], { input: PASSWORD, encoding: 'utf8' });
    expect(set.status, set.stderr).toBe(0);
    const box = lab.start('box', 'box', dir, ['node', '--listen', `${BOX}:7878`, '--player', 'none', '--name', 'Bar box', '--log-level', 'warn', '--set', 'web.enabled=true', '--set', 'web.https=true', '--set', `web.listen=["${BOX}:8443"]`]);
    procs.push(box);
    const s = await waitFor('the box serving its page', 15_000, () => status(box), (x) => (x.web?.urls.length ?? 0) > 0);
    expect(s.web?.urls).toEqual([HTTPS_PAGE]);
    const https = s.web?.https;
    expect(https?.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    // What `superdist status` prints is what the browser is shown on the wire.
    const text = spawnSync(process.execPath, [BUNDLE, 'status', '--control', box.control], { encoding: 'utf8' });
    expect(text.stdout).toContain(`web: ${HTTPS_PAGE}`);
    expect(text.stdout).toContain(`web certificate: SHA-256 ${https!.fingerprint}  (self-signed`);
    const presented = inPhone(`const s=require('tls').connect({host:'${BOX}',port:8443,rejectUnauthorized:false},()=>{console.log(s.getPeerCertificate().fingerprint256);s.end()})`);
    expect(presented).toBe(https!.fingerprint);

    capture = spawn('ip', ['netns', 'exec', lab.ns('box'), 'tcpdump', '-i', 'b0', '-A', '-n', '-l', '-s', '0', 'tcp port 8443'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let wire = '';
    let tcpdumpErr = '';
    capture.stdout!.on('data', (d: Buffer) => (wire += d.toString('latin1')));
    capture.stderr!.on('data', (d: Buffer) => (tcpdumpErr += d.toString()));
    await waitFor('tcpdump listening', 10_000, () => tcpdumpErr.includes('listening on b0'));

    // Chromium in the phone's namespace, trusting only the key whose hash status gave.
    const wrapper = join(dir, 'chromium-in-phone-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.ns('phone')} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({ executablePath: wrapper, args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${https!.spkiSha256}`] });
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();

    // The guest-typed http:// address lands on the HTTPS page.
    await page.goto(HTTP_PAGE);
    expect(page.url()).toBe(HTTPS_PAGE);
    await expect
      .poll(() => page.locator('#box-name').textContent(), { timeout: 15_000 })
      .toBe('Bar box')
      .catch(async (err: Error) => {
        throw new Error(`${err.message}; the page's notice: ${await page.locator('#notice').textContent()}`);
      });

    // The owner logs in and lets viewers switch the TV.
    await page.locator('#login-open').click();
    await page.locator('#login-password').fill(PASSWORD);
    await page.locator('#login-form button[type="submit"]').click();
    await expect.poll(() => page.locator('#role-badge').textContent(), { timeout: 15_000 }).toBe('owner');
    expect((await status(box))?.web?.viewersMaySwitch).toBe(false);
    await page.locator('#set-switch').check();
    await waitFor('the setting to change', 10_000, async () => (await status(box))?.web?.viewersMaySwitch === true);
    const cookie = (await ctx.cookies()).find((c) => c.name === 'sd_session');
    expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });

    // Over plain HTTP the browser does not send the owner's cookie (the box would end a session
    // it saw in clear): the redirect brings it back to HTTPS still logged in.
    const again = await ctx.newPage();
    await again.goto(`${HTTP_PAGE}api/session`);
    expect(again.url()).toBe(`${HTTPS_PAGE}api/session`);
    expect(JSON.parse(await again.locator('body').innerText())).toMatchObject({ role: 'owner' });

    // A login sent over plain HTTP anyway (a script, not the page) is refused before the password is looked at.
    const refused = JSON.parse(
      inPhone(
        `fetch('${HTTP_PAGE}api/login',{method:'POST',headers:{'Content-Type':'application/json',Origin:'${HTTP_PAGE.slice(0, -1)}'},body:JSON.stringify({password:'decoy-not-the-password'})}).then(async r=>console.log(JSON.stringify({status:r.status,body:await r.json()})))`,
      ),
    ) as { status: number; body: { error: string } };
    expect(refused).toEqual({ status: 403, body: { error: `plain HTTP is refused: use ${HTTPS_PAGE}` } });

    capture.kill('SIGINT');
    await new Promise((r) => capture!.once('exit', r));
    // The capture saw the plain HTTP exchanges (so it was listening) ...
    expect(wire).toContain('GET / HTTP/1.1');
    expect(wire).toContain('HTTP/1.1 308 Permanent Redirect');
    expect(wire).toContain('decoy-not-the-password');
    // ... and never the password, a session cookie, or the owner's session token.
    expect(wire).not.toContain(PASSWORD);
    expect(wire).not.toContain('sd_session');
    expect(wire).not.toContain(cookie!.value);
    console.log(`https: ${wire.length} bytes of capture, fingerprint ${https!.fingerprint.slice(0, 23)}...`);
  }, 180_000);
});

describe("the TV's idle screen names the HTTPS page", () => {
  it('shows the https URL and the certificate fingerprint that status gives', async () => {
    const dir = tempDir('sd-https-tv-');
    const tv = startProc('tv', dir, [
      'node', '--listen', '127.0.0.1:0', '--log-level', 'warn', '--name', 'Bar box',
      '--set', 'player.idleScreen=true', '--set', 'player.output="headless"', '--set', `player.ipcSocket="${join(dir, 'mpv.sock')}"`,
      '--set', 'web.enabled=true', '--set', 'web.https=true', '--set', 'web.listen=["127.0.0.1:0"]',
    ]);
    procs.push(tv);
    const s = await waitFor('the idle screen', 20_000, () => status(tv), (x) => x.tv?.idle?.shown === true);
    const url = s.web?.urls[0];
    const fingerprint = s.web?.https?.fingerprint;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(s.tv?.idle?.lines.slice(-3)).toEqual([`Web page: ${url}`, `Certificate SHA-256: ${fingerprint!.slice(0, 47)}`, fingerprint!.slice(48)]);
  }, 60_000);
});
