// The `ims` config section and where the password comes from (inline, file with permission
// checks, systemd credential), plus ImsService's behaviour when IMS is off or misconfigured.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMS_CONFIG, imsConfigSchema } from '../../src/ims/ims-config.js';
import { ImsConfigError, resolveImsPassword } from '../../src/ims/ims-credentials.js';
import { ImsService } from '../../src/ims/ims-service.js';

const issues = (input: unknown) => {
  const r = imsConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('imsConfigSchema', () => {
  it('defaults to IMS off with RFC 3261 timers', () => {
    expect(imsConfigSchema.parse(undefined)).toEqual(DEFAULT_IMS_CONFIG);
    expect(DEFAULT_IMS_CONFIG).toMatchObject({
      enabled: false, transport: 'udp', expiresS: 600, serviceUser: 'superdist', t1Ms: 500, t2Ms: 4000, t4Ms: 5000, transactionTimeoutMs: 32_000,
    });
  });

  it('requires registrar, domain and user when enabled, and names bad values', () => {
    expect(issues({ enabled: true })).toEqual([
      'registrar: required when ims.enabled is true',
      'domain: required when ims.enabled is true',
      'user: required when ims.enabled is true',
    ]);
    expect(issues({ registrar: 'nohost' })[0]).toMatch(/^registrar: expected HOST:PORT/);
    expect(issues({ transport: 'sctp' })[0]).toMatch(/^transport:/);
    expect(issues({ retryMinMs: 5000, retryMaxMs: 1000 })).toEqual(['retryMinMs: must not exceed ims.retryMaxMs (1000)']);
    expect(issues({ bogus: 1 })[0]).toMatch(/bogus/);
  });

  it('takes numbers where environment values were JSON-parsed (user 1234, password 5678)', () => {
    const c = imsConfigSchema.parse({ enabled: true, registrar: 'core:5060', domain: 'ims.test', user: 1234, password: 5678 });
    expect(c.user).toBe('1234');
    expect(c.password).toBe('5678');
  });
});

describe('resolveImsPassword', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sd-ims-cred-'));

  it('prefers ims.password, then the file, then the systemd credential', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 's3cret\n', { mode: 0o600 });
    expect(resolveImsPassword({ password: 'inline', passwordFile: file })).toMatchObject({ password: 'inline', source: 'ims.password' });
    expect(resolveImsPassword({ password: '', passwordFile: file })).toMatchObject({ password: 's3cret', source: `file ${file}`, warnings: [] });
    const creds = join(dir, 'creds');
    mkdirSync(creds);
    writeFileSync(join(creds, 'ims-password'), 'from-systemd', { mode: 0o400 });
    expect(resolveImsPassword({ password: '', passwordFile: '' }, { CREDENTIALS_DIRECTORY: creds })).toMatchObject({
      password: 'from-systemd', source: 'systemd credential ims-password',
    });
  });

  it('refuses a password file others can read, warns for group-readable, explains a missing password', () => {
    const open = join(dir, 'open');
    writeFileSync(open, 'x');
    chmodSync(open, 0o644);
    expect(() => resolveImsPassword({ password: '', passwordFile: open })).toThrow(/readable by others \(mode 644\): make it readable only by the service/);
    const group = join(dir, 'group');
    writeFileSync(group, 'x');
    chmodSync(group, 0o640);
    expect(resolveImsPassword({ password: '', passwordFile: group }).warnings[0]).toMatch(/readable by its group/);
    expect(() => resolveImsPassword({ password: '', passwordFile: join(dir, 'none') })).toThrow(/no such file/);
    expect(() => resolveImsPassword({ password: '', passwordFile: '' }, {})).toThrow(ImsConfigError);
    expect(() => resolveImsPassword({ password: '', passwordFile: '' }, {})).toThrow(/LoadCredential=ims-password/);
  });
});

describe('ImsService without a working configuration', () => {
  it('does nothing when disabled and reports it', async () => {
    const svc = new ImsService(DEFAULT_IMS_CONFIG, { role: 'node', peerId: 'p', stateDir: tmpdir() });
    await svc.start();
    expect(svc.status().registration.state).toBe('disabled');
    expect(svc.ticketFor('c')).toHaveLength(0);
    expect(svc.trackerContact()).toBeUndefined();
    await svc.stop();
  });

  it('fails start() with a clear configuration error when no password is available', async () => {
    const cfg = imsConfigSchema.parse({ enabled: true, registrar: '127.0.0.1:5060', domain: 'ims.test', user: 'a' });
    const svc = new ImsService(cfg, { role: 'node', peerId: 'p', stateDir: tmpdir(), env: {} });
    await expect(svc.start()).rejects.toThrow(ImsConfigError);
  });

  it('gives the tracker an admission function before start(), keeping its key in the state dir', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'sd-ims-state-'));
    const cfg = imsConfigSchema.parse({ enabled: true, registrar: '127.0.0.1:5060', domain: 'ims.test', user: 'superdist' });
    const svc = new ImsService(cfg, { role: 'tracker', peerId: 't', stateDir, trackerContact: { host: '127.0.0.1', port: 7878 } });
    const admit = svc.createTicketAdmission();
    const reason = admit(
      { type: 'TrackerJoin', peerId: 'p', contentId: 'c', contact: { host: 'h', port: 1 }, kind: 'live', title: '', allowRedirect: true, ticket: new Uint8Array(0) },
      { peerId: 'p', contact: { host: 'h', port: 1 } },
    );
    expect(reason).toMatch(/IMS ticket required/);
    expect(svc.status().admission).toEqual({ admitted: 0, refused: 1, lastRefusal: `p: ${reason}` });
    const node = new ImsService(cfg, { role: 'node', peerId: 'p', stateDir });
    expect(() => node.createTicketAdmission()).toThrow(/only the tracker role/);
  });
});

describe('formatImsStatusLine', () => {
  it('summarises registration, ticket and admission in one line', async () => {
    const { formatImsStatusLine } = await import('../../src/ims/ims-service.js');
    expect(formatImsStatusLine(new ImsService(DEFAULT_IMS_CONFIG, { role: 'node', peerId: 'p', stateDir: tmpdir() }).status())).toBe('ims: off');
    const line = formatImsStatusLine({
      enabled: true, role: 'node', identity: 'sip:a@d', registrar: '10.0.0.5:5060', transport: 'udp',
      registration: { state: 'registered', expiresInS: 590, registrations: 1, failures: 0, bindingsLost: 0 },
      ticket: { state: 'held', peerId: 'p', tracker: '10.0.0.9:7878', expiresInS: 3595, obtained: 1, failures: 0 },
    });
    expect(line).toBe('ims: registered sip:a@d via 10.0.0.5:5060/udp (binding 590 s), ticket held (tracker 10.0.0.9:7878, expires in 3595 s)');
  });
});
