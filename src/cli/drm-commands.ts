// `superdist drm …`: operator CA, device enrolment, packaging, rights acquisition, file playback
// through the DRM agent, and the main node's domain decisions. Wiring only: the logic is in src/drm/.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { controlCall } from '../control/control-client.js';
import { ContainerReader } from '../drm/container.js';
import { answerEnrolRequest, enrolRequest, installEnrolment, loadOrCreateIdentity } from '../drm/device-identity.js';
import { DrmAgent } from '../drm/drm-agent.js';
import { DrmError } from '../drm/encoding.js';
import type { VodPlaying } from '../vod-node.js';
import { writeJsonAtomic } from '../drm/atomic-file.js';
import { initCa, loadCa } from '../drm/operator-ca.js';
import { packageFile } from '../drm/packager.js';
import type { CertRole } from '../drm/certificate.js';
import { EXIT_USAGE, fail } from './common.js';
import { DEFAULT_CONTROL_SOCKET, DEFAULT_STATE_DIR } from '../config/schema.js';

const DEFAULT_CONTROL = process.env.SUPERDIST_CONTROL ?? DEFAULT_CONTROL_SOCKET;

/** Runs a command body; a DrmError becomes `superdist: message` with exit 1 (2 for bad usage). */
async function run(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DrmError) fail(err.message, err.code === 'bad-usage' ? EXIT_USAGE : 1);
    throw err;
  }
}

async function call(control: string, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  try {
    return await controlCall(control, method, params, 30_000);
  } catch (err) {
    return fail((err as Error).message);
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`, EXIT_USAGE);
  }
}

function role(v: string): CertRole {
  if (v !== 'device' && v !== 'packager') fail(`--role ${v}: expected device or packager`, EXIT_USAGE);
  return v as CertRole;
}

function int(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) fail(`${flag} ${v}: expected a whole number >= 0`, EXIT_USAGE);
  return n;
}

const out = (v: unknown, json: boolean | undefined, text: string) => process.stdout.write(json ? `${JSON.stringify(v, null, 2)}\n` : `${text}\n`);

function caCommand(): Command {
  return new Command('ca').description('the operator CA').addCommand(
    new Command('init')
      .description('create the operator CA: an Ed25519 key (ca.key) and a self-signed certificate (ca.cert.json)')
      .requiredOption('--out <dir>', 'directory for ca.key and ca.cert.json')
      .option('--name <name>', 'CA name', 'superdist operator CA')
      .action((o: { out: string; name: string }) =>
        run(() => {
          const ca = initCa(o.out, o.name);
          process.stdout.write(`CA ${ca.cert.id} created in ${o.out}\n`);
        }),
      ),
  );
}

function enrollCommands(): Command[] {
  const enroll = new Command('enroll')
    .description('give this device (state dir) a certificate: from the CA directory, or from an enrol-answer file')
    .option('--ca <dir>', 'operator CA directory (holds ca.key)')
    .option('--answer <file>', 'answer file from drm enroll-answer (offline enrolment)')
    .option('--role <role>', 'device or packager (a source / packager)', 'device')
    .option('--name <name>', 'name in the certificate', '')
    .option('--state-dir <dir>', 'the device state directory', DEFAULT_STATE_DIR)
    .action((o: { ca?: string; answer?: string; role: string; name: string; stateDir: string }) =>
      run(() => {
        if (!o.ca === !o.answer) fail('give exactly one of --ca DIR or --answer FILE', EXIT_USAGE);
        const id = loadOrCreateIdentity(o.stateDir);
        const answer = o.ca ? answerEnrolRequest(loadCa(o.ca), enrolRequest(id, role(o.role), o.name || `${o.role}`)) : readJson(o.answer!);
        const done = installEnrolment(id, answer);
        process.stdout.write(`enrolled ${done.cert.id} (${done.cert.role}) under CA ${done.ca.id}\n`);
      }),
    );
  const request = new Command('enroll-request')
    .description('write an enrolment request (public keys, signed by this device) for a CA that this device cannot see')
    .requiredOption('--out <file>', 'request file to carry to the CA holder')
    .option('--role <role>', 'device or packager', 'device')
    .option('--name <name>', 'name in the certificate', '')
    .option('--state-dir <dir>', 'the device state directory', DEFAULT_STATE_DIR)
    .action((o: { out: string; role: string; name: string; stateDir: string }) =>
      run(() => {
        writeJsonAtomic(o.out, enrolRequest(loadOrCreateIdentity(o.stateDir), role(o.role), o.name || o.role));
        process.stdout.write(`enrolment request written to ${o.out}\n`);
      }),
    );
  const answer = new Command('enroll-answer')
    .description('CA side: check an enrolment request and write the answer (certificate + CA certificate)')
    .requiredOption('--ca <dir>', 'operator CA directory')
    .requiredOption('--request <file>', 'request from drm enroll-request')
    .requiredOption('--out <file>', 'answer file for drm enroll --answer')
    .action((o: { ca: string; request: string; out: string }) =>
      run(() => {
        const a = answerEnrolRequest(loadCa(o.ca), readJson(o.request));
        writeJsonAtomic(o.out, a);
        process.stdout.write(`issued ${a.cert.id} (${a.cert.role}); answer written to ${o.out}\n`);
      }),
    );
  return [enroll, request, answer];
}

function packageCommand(): Command {
  return new Command('package')
    .description('encrypt a file into a .sdc container and register its content key with the rights issuer')
    .requiredOption('--in <file>', 'input file (MPEG-TS keeps a decodable preview)')
    .requiredOption('--out <file>', 'output container (.sdc)')
    .requiredOption('--rights-issuer <url>', 'rights issuer, http://HOST:PORT')
    .option('--preview <seconds>', 'leave the first SECONDS clear (via the mean bitrate)', '0')
    .option('--preview-bytes <n>', 'leave the first N bytes clear (rounded up to whole chunks)')
    .option('--count <n>', 'plays each rights object allows')
    .option('--interval <seconds>', 'validity from the first play')
    .option('--not-before <iso>', 'not playable before')
    .option('--not-after <iso>', 'not playable after')
    .option('--state-dir <dir>', 'the packager state directory (enrolled with --role packager)', DEFAULT_STATE_DIR)
    .action((o: { in: string; out: string; rightsIssuer: string; preview: string; previewBytes?: string; count?: string; interval?: string; notBefore?: string; notAfter?: string; stateDir: string }) =>
      run(async () => {
        const constraints = { count: int(o.count, '--count'), intervalS: int(o.interval, '--interval'), notBefore: o.notBefore, notAfter: o.notAfter };
        const previewBytes = int(o.previewBytes, '--preview-bytes');
        const h = await packageFile({ input: o.in, output: o.out, rightsIssuer: o.rightsIssuer, previewS: int(o.preview, '--preview') ?? 0, ...(previewBytes !== undefined ? { previewBytes } : {}), constraints, identity: loadOrCreateIdentity(o.stateDir) });
        process.stderr.write(`packaged ${h.name}: ${h.plainBytes} bytes in ${Math.ceil(h.plainBytes / h.chunkBytes)} chunks, ${h.previewChunks} clear (preview); key registered with ${h.rightsIssuer}\n`);
        process.stdout.write(`${h.contentId}\n`);
      }),
    );
}

function acquireCommand(): Command {
  return new Command('acquire')
    .description('get a rights object for a content (an id, or a .sdc file) from the rights issuer or the DRM proxy')
    .argument('<content>', 'content id (sdc-…, live-…) or a .sdc file')
    .option('--rights-issuer <url>', 'rights issuer or DRM proxy (default: drm.rightsIssuer, the container header, or the main node)')
    .option('--domain [id]', 'a rights object bound to the domain this device joined')
    .option('--state-dir <dir>', 'run the DRM agent on this state directory instead of asking the running service')
    .option('--control <path>', 'control API unix socket of the running service', DEFAULT_CONTROL)
    .option('--json', 'machine-readable JSON')
    .action((content: string, o: { rightsIssuer?: string; domain?: string | boolean; stateDir?: string; control: string; json?: boolean }) =>
      run(async () => {
        let contentId = content;
        let url = o.rightsIssuer;
        let headerUrl: string | undefined;
        if (content.endsWith('.sdc')) {
          const r = ContainerReader.open(content);
          contentId = r.header.contentId;
          headerUrl = r.header.rightsIssuer;
          r.close();
        }
        let res: { roId: string; rights?: unknown };
        if (o.stateDir) {
          url ??= headerUrl;
          if (!url) fail('give --rights-issuer URL', EXIT_USAGE);
          const agent = new DrmAgent(o.stateDir);
          const domainId = o.domain === undefined ? undefined : typeof o.domain === 'string' ? o.domain : agent.domains()[0]?.domainId;
          if (o.domain !== undefined && !domainId) fail('this device holds no domain key: join a domain first');
          const ro = await agent.acquire(url, contentId, domainId ? { domainId } : {});
          res = { roId: ro.id, rights: agent.rights(contentId) };
        } else {
          res = (await call(o.control, 'drm.acquire', { contentId, ...(url ? { rightsIssuer: url } : {}), ...(headerUrl ? { fallbackRightsIssuer: headerUrl } : {}), ...(o.domain !== undefined ? { domain: o.domain } : {}) })) as typeof res;
        }
        out(res, o.json, `rights object ${res.roId} installed for ${contentId}`);
      }),
    );
}

function playCommand(): Command {
  return new Command('play')
    .description("play a .sdc file on a running box's TV through its DRM agent (the whole file with rights, the preview without); clear bytes go only to the player")
    .argument('<file>', '.sdc container')
    .option('--control <path>', 'control API unix socket of the box whose TV plays it', DEFAULT_CONTROL)
    .option('--out <file|->', 'no longer supported: a clear copy of a protected file is an unlimited, unaccounted play')
    .option('--json', 'print the result as JSON')
    .action((file: string, o: { control: string; out?: string; json?: boolean }) =>
      run(async () => {
        if (o.out !== undefined) fail(`drm play no longer writes clear bytes to a file or stdout (a clear copy would be an unlimited, unaccounted play); it plays ${file} on the TV of the box at --control`, EXIT_USAGE);
        const r = ContainerReader.open(file); // a readable container, or a clear error before the box is asked
        r.close();
        const { playing: p } = (await call(o.control, 'play', { file: resolve(file) })) as { playing: VodPlaying };
        const d = p.protected;
        const rights = d?.rights;
        const line = !d ? `playing ${p.name} (not protected)` : rights?.state === 'allowed' ? `playing ${d.contentId} on the TV (rights object ${rights.roId})` : `preview only for ${d.contentId}: ${rights && 'reason' in rights ? rights.reason : '?'}; ${d.previewChunks} of ${d.chunks} chunks (${p.sizeBytes} bytes) play`;
        out(p, o.json, line);
      }),
    );
}

function domainCommands(): Command[] {
  const ctl = (c: Command) => c.option('--control <path>', 'control API unix socket', DEFAULT_CONTROL).option('--json', 'machine-readable JSON');
  const pending = ctl(new Command('pending').description('main node: join requests waiting for the owner')).action((o: { control: string; json?: boolean }) =>
    run(async () => {
      const r = (await call(o.control, 'drm.pending')) as { id: string; deviceId: string; name: string; requestedAt: string }[];
      out(r, o.json, r.length ? r.map((p) => `${p.id}  ${p.deviceId}  ${p.name}  ${p.requestedAt}`).join('\n') : 'no pending join requests');
    }),
  );
  const approve = ctl(new Command('approve').description('main node: let a device join the domain').argument('<id>')).action((id: string, o: { control: string; json?: boolean }) =>
    run(async () => {
      const r = (await call(o.control, 'drm.approve', { id })) as { deviceId: string; domainId: string };
      out(r, o.json, `approved ${id}: ${r.deviceId} joined ${r.domainId}`);
    }),
  );
  const deny = ctl(new Command('deny').description('main node: refuse a join request').argument('<id>')).action((id: string, o: { control: string; json?: boolean }) =>
    run(async () => {
      const r = (await call(o.control, 'drm.deny', { id })) as { deviceId: string };
      out(r, o.json, `denied ${id} (${r.deviceId})`);
    }),
  );
  const join = ctl(new Command('join').description("local node: ask the main node to join its domain (the owner approves)"))
    .option('--proxy <url>', 'the main node DRM proxy (default: the discovered main node)')
    .action((o: { control: string; json?: boolean; proxy?: string }) =>
      run(async () => {
        const r = (await call(o.control, 'drm.join', o.proxy ? { proxy: o.proxy } : {})) as { id: string; domainId: string };
        out(r, o.json, `join request ${r.id} for domain ${r.domainId} is waiting for the owner's approval`);
      }),
    );
  const leave = ctl(new Command('leave').description('leave the domain this device joined (the RI rotates the domain key)'))
    .option('--domain <id>', 'domain id (default: the one this device holds)')
    .action((o: { control: string; json?: boolean; domain?: string }) =>
      run(async () => {
        const r = (await call(o.control, 'drm.leave', o.domain ? { domainId: o.domain } : {})) as { left: string };
        out(r, o.json, `left domain ${r.left}`);
      }),
    );
  const status = ctl(new Command('status').description('DRM agent: device id, rights objects, domains')).action((o: { control: string; json?: boolean }) =>
    run(async () => {
      const r = await call(o.control, 'drm.status');
      out(r, true, '');
    }),
  );
  return [pending, approve, deny, join, leave, status];
}

function infoCommand(): Command {
  return new Command('info')
    .description('print the header of a .sdc container')
    .argument('<file>')
    .action((file: string) =>
      run(() => {
        const r = ContainerReader.open(file);
        process.stdout.write(`${JSON.stringify(r.header, null, 2)}\n`);
        r.close();
      }),
    );
}

export function drmCommand(): Command {
  const drm = new Command('drm').description('superdistribution rights: CA, enrolment, packaging, rights objects, domains');
  for (const c of [caCommand(), ...enrollCommands(), packageCommand(), infoCommand(), acquireCommand(), playCommand(), ...domainCommands()]) drm.addCommand(c.exitOverride().showHelpAfterError());
  return drm;
}

