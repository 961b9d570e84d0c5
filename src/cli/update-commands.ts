// `superdist update …`: the operator builds, verifies and publishes signed bundles; a box's owner
// sees and steers its update agent (status, apply, hold). Wiring only: the logic is in src/update/.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { controlCall } from '../control/control-client.js';
import { DEFAULT_CONTROL_SOCKET, DEFAULT_STATE_DIR } from '../config/schema.js';
import { writeFileAtomic } from '../platform/durable-file.js';
import { DrmError } from '../drm/encoding.js';
import { generateKeyPair, privateKeyToPem } from '../drm/keys.js';
import { boxTrustedKeys, buildBundle, loadSigningKey, trustedKeyFrom, verifyBundle } from '../update/bundle.js';
import { bundleTitle, readBundleHeader, UpdateRefusal } from '../update/bundle-format.js';
import { hardwareId } from '../update/hardware.js';
import { formatUpdateStatus, type UpdateStatus } from '../update/update-status.js';
import { VERSION } from '../version.js';
import { collect, EXIT_USAGE, fail } from './common.js';
import { publishFileCommand } from './download-commands.js';

const DEFAULT_CONTROL = process.env.SUPERDIST_CONTROL ?? DEFAULT_CONTROL_SOCKET;

async function run(fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof UpdateRefusal) fail(`refused (${err.code}): ${err.message}`);
    if (err instanceof DrmError) fail(err.message, err.code === 'bad-usage' ? EXIT_USAGE : 1);
    throw err;
  }
}

function keyCommand(): Command {
  return new Command('key')
    .description('make a dedicated update signing key (Ed25519, PKCS#8 PEM, mode 0600); prints its public key for update.trustedKeys')
    .requiredOption('--out <file>', 'the private key file')
    .action((o: { out: string }) =>
      run(() => {
        const k = generateKeyPair('ed25519');
        writeFileAtomic(o.out, privateKeyToPem(k.privateKey));
        process.stderr.write(`update key written to ${o.out}; trust it on boxes with update.trustedKeys:\n`);
        process.stdout.write(`${k.publicKey}\n`);
      }),
    );
}

function buildCommand(): Command {
  return new Command('build')
    .description('operator: make a signed update bundle of a slot image')
    .requiredOption('--image <file>', 'the slot image')
    .requiredOption('--version <semver>', 'firmware version in the image (MAJOR.MINOR.PATCH)')
    .requiredOption('--hardware <id>', 'hardware id the image is for (a box shows its own in `superdist update status`)')
    .requiredOption('--key <file>', 'signing key: the operator CA directory or its ca.key, or a key from `superdist update key`')
    .option('-o, --out <file>', 'bundle file (default: superdist-HARDWARE-VERSION.sdu)')
    .option('--min-version <semver>', 'boxes running an older version refuse it')
    .option('--allow-downgrade', 'boxes running a newer version may install it')
    .action((o: { image: string; version: string; hardware: string; key: string; out?: string; minVersion?: string; allowDowngrade?: boolean }) =>
      run(async () => {
        const out = o.out ?? `superdist-${o.hardware}-${o.version}.sdu`;
        const key = loadSigningKey(o.key);
        const m = await buildBundle({ image: o.image, out, version: o.version, hardware: o.hardware, key, ...(o.minVersion ? { minVersion: o.minVersion } : {}), allowDowngrade: o.allowDowngrade === true });
        process.stderr.write(`bundle ${out}: version ${m.version} for ${m.hardware}, image ${m.imageSize} bytes sha256 ${m.imageSha256}, signed by ${key.publicKey}\n`);
        process.stdout.write(`${out}\n`);
      }),
    );
}

function verifyCommand(): Command {
  return new Command('verify')
    .description("check a bundle as a box would: signature by a trusted key, hardware, version, image hash and size")
    .argument('<bundle>', 'bundle file (.sdu)')
    .option('--trust <key>', 'trusted key: raw public key, key file, ca.cert.json or CA directory (repeatable; default: the state dir\'s operator CA)', collect, [])
    .option('--hardware <id>', "the box's hardware id (default: this machine's)")
    .option('--running <semver>', 'the version the box runs (default: this build)', VERSION)
    .option('--state-dir <dir>', 'a box state directory whose operator CA is trusted', DEFAULT_STATE_DIR)
    .option('--json', 'print the manifest as JSON')
    .action((file: string, o: { trust: string[]; hardware?: string; running: string; stateDir: string; json?: boolean }) =>
      run(async () => {
        const trustedKeys = o.trust.length ? o.trust.map(trustedKeyFrom) : boxTrustedKeys([], o.stateDir);
        const v = await verifyBundle(file, { trustedKeys, hardware: hardwareId(o.hardware ?? ''), runningVersion: o.running });
        const m = v.manifest;
        process.stdout.write(o.json ? `${JSON.stringify({ ...m, signer: v.signer }, null, 2)}\n` : `ok: ${file} version ${m.version} for ${m.hardware}, image ${m.imageSize} bytes, signed by ${v.signer}\n`);
      }),
    );
}

function publishCommand(): Command {
  // `publish file` with the bundle as input and the update channel's title (superdist-update HW VERSION).
  const cmd = publishFileCommand().name('publish').description('operator: seed a bundle as a download content announced on the update channel (superdist-update HARDWARE VERSION)');
  cmd.hook('preAction', (c) => {
    const opts = c.opts() as { input: string; title?: string };
    try {
      const h = readBundleHeader(resolve(opts.input));
      c.setOptionValue('title', bundleTitle(h.manifest));
    } catch (err) {
      fail(`--input ${opts.input}: ${(err as Error).message}`, EXIT_USAGE);
    }
  });
  return cmd;
}

async function call(control: string, method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  try {
    return await controlCall(control, method, params, 10_000);
  } catch (err) {
    return fail((err as Error).message);
  }
}

function boxCommands(): Command[] {
  const ctl = (c: Command) => c.option('--control <path>', 'control API unix socket of the running service', DEFAULT_CONTROL).option('--json', 'machine-readable JSON');
  const show = (r: unknown, json?: boolean): void => void process.stdout.write(json ? `${JSON.stringify(r, null, 2)}\n` : `${formatUpdateStatus(r as UpdateStatus)}\n`);
  const status = ctl(new Command('status').description('the update agent: running version and slot, phase, the bundle found, last result')).action((o: { control: string; json?: boolean }) =>
    run(async () => show(await call(o.control, 'update.status'), o.json)),
  );
  const apply = ctl(new Command('apply').description('install the bundle found now (lifts a hold)')).action((o: { control: string; json?: boolean }) =>
    run(async () => show(await call(o.control, 'update.apply'), o.json)),
  );
  const hold = ctl(new Command('hold').description('hold updates: none is installed until `update hold --release` or `update apply`'))
    .option('--release', 'release the hold')
    .action((o: { control: string; json?: boolean; release?: boolean }) => run(async () => show(await call(o.control, 'update.hold', { hold: o.release !== true }), o.json)));
  return [status, apply, hold];
}

export function updateCommand(): Command {
  const u = new Command('update').description('firmware updates: signed A/B bundles (operator: key, build, verify, publish; box: status, apply, hold)');
  for (const c of [keyCommand(), buildCommand(), verifyCommand(), publishCommand(), ...boxCommands()]) u.addCommand(c.exitOverride().showHelpAfterError());
  return u;
}
