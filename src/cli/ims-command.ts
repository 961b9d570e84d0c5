// `superdist ims register` and `superdist ims ticket`: one-shot IMS checks from the command line
// (installers, operators). Wiring only: the SIP work is in src/ims.
import { Command } from 'commander';
import { imsConfigSchema, imsServiceUri, type ImsConfig } from '../ims/ims-config.js';
import { ImsConfigError, resolveImsPassword } from '../ims/ims-credentials.js';
import { ImsUserAgent } from '../ims/ims-user-agent.js';
import { SipRegistrationError, type RegistrationInfo } from '../ims/sip-registration.js';
import { systemSipClock } from '../ims/sip-timers.js';
import { TicketClient } from '../ims/ticket-client.js';
import { VERSION } from '../version.js';
import { EXIT_FAILURE, EXIT_USAGE, fail } from './common.js';

interface ImsFlags {
  registrar: string;
  domain: string;
  user: string;
  authUser?: string;
  password?: string;
  passwordFile?: string;
  transport?: string;
  expires?: string;
  timeout?: string;
  json?: boolean;
  keep?: boolean;
  peerId?: string;
  serviceUser?: string;
}

function accessOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--registrar <host:port>', 'registrar / outbound proxy (P-CSCF)')
    .requiredOption('--domain <domain>', 'home domain (realm)')
    .requiredOption('--user <user>', 'user part of the public identity sip:USER@DOMAIN')
    .option('--auth-user <name>', 'authentication user name (IMS private identity), default: --user')
    .option('--password <password>', 'password (prefer --password-file or env SUPERDIST_IMS__PASSWORD)')
    .option('--password-file <file>', 'file holding the password (must not be readable by others)')
    .option('--transport <udp|tcp>', 'SIP transport', 'udp')
    .option('--expires <seconds>', 'registration lifetime to ask for', '600')
    .option('--timeout <ms>', 'transaction timeout (RFC 3261 timer F)', '32000')
    .option('--json', 'machine-readable JSON on stdout')
    .exitOverride()
    .showHelpAfterError();
}

function usage(message: string): never {
  return fail(message, EXIT_USAGE);
}

function configOf(o: ImsFlags): { cfg: ImsConfig; password: string } {
  const num = (v: string | undefined, what: string) => {
    const n = Number(v);
    return Number.isFinite(n) ? n : usage(`${what}: expected a number, got ${JSON.stringify(v)}`);
  };
  const parsed = imsConfigSchema.safeParse({
    enabled: true,
    registrar: o.registrar,
    domain: o.domain,
    user: o.user,
    authUser: o.authUser ?? '',
    password: o.password ?? process.env.SUPERDIST_IMS__PASSWORD ?? '',
    passwordFile: o.passwordFile ?? '',
    transport: o.transport,
    expiresS: num(o.expires, '--expires'),
    transactionTimeoutMs: num(o.timeout, '--timeout'),
    ...(o.serviceUser ? { serviceUser: o.serviceUser } : {}),
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || 'ims'}: ${i.message}`);
    return usage(`invalid IMS options:\n${lines.join('\n')}`);
  }
  try {
    return { cfg: parsed.data, password: resolveImsPassword(parsed.data).password };
  } catch (err) {
    if (err instanceof ImsConfigError) return usage(err.message.replace(/ims\.passwordFile/g, '--password-file').replace(/ims\.enabled is true but no/, 'no'));
    throw err;
  }
}

function describeRegistration(info: RegistrationInfo, cfg: ImsConfig): string {
  const lines = [
    `registered ${info.aor} at ${cfg.registrar} (${cfg.transport.toUpperCase()})`,
    `  contact:         ${info.contact} (expires in ${info.expiresS} s)`,
  ];
  if (info.serviceRoute.length) lines.push(`  service route:   ${info.serviceRoute.join(', ')}`);
  if (info.associatedUris.length) lines.push(`  associated URIs: ${info.associatedUris.join(', ')}`);
  if (info.path.length) lines.push(`  path:            ${info.path.join(', ')}`);
  return lines.join('\n');
}

async function registerAction(o: ImsFlags): Promise<void> {
  const { cfg, password } = configOf(o);
  const ua = new ImsUserAgent({ cfg, password, clock: systemSipClock(), userAgent: `superdist/${VERSION}` });
  let info: RegistrationInfo;
  try {
    info = await ua.registration.registerOnce();
  } catch (err) {
    await ua.endpoint.close();
    const kind = err instanceof SipRegistrationError ? err.kind : 'error';
    return fail(`IMS registration failed (${kind}): ${(err as Error).message}`, EXIT_FAILURE);
  }
  if (o.keep) await ua.endpoint.close();
  else await ua.close();
  if (o.json) process.stdout.write(`${JSON.stringify({ registered: true, kept: Boolean(o.keep), ...info }, null, 2)}\n`);
  else process.stdout.write(`${describeRegistration(info, cfg)}\n${o.keep ? 'binding kept' : 'de-registered (use --keep to leave the binding)'}\n`);
}

async function ticketAction(o: ImsFlags): Promise<void> {
  const { cfg, password } = configOf(o);
  if (!o.peerId || !/^[0-9a-zA-Z._-]{1,64}$/.test(o.peerId)) usage('--peer-id: expected up to 64 letters, digits, . _ -');
  const clock = systemSipClock();
  let client: TicketClient | undefined;
  const ua = new ImsUserAgent({
    cfg,
    password,
    clock,
    userAgent: `superdist/${VERSION}`,
    onRequest: (req, respond) => {
      if (!client?.handleDelivery(req, respond)) respond(415, 'Unsupported Media Type');
    },
  });
  client = new TicketClient({
    endpoint: ua.endpoint,
    clock,
    aor: ua.aor,
    serviceUri: imsServiceUri(cfg),
    routeSet: () => ua.registration.current?.serviceRoute ?? [],
    peerId: o.peerId as string,
    deliveryTimeoutMs: cfg.ticketTimeoutMs,
    renewBeforeMs: 0,
    retryMinMs: cfg.retryMinMs,
    retryMaxMs: cfg.retryMaxMs,
  });
  try {
    await ua.registration.registerOnce();
    const t = await client.request();
    await ua.close();
    const out = { ...t.claims, ticket: Buffer.from(t.bytes).toString('base64') };
    if (o.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else {
      process.stdout.write(
        `ticket for peer ${t.claims.peerId} (${t.claims.sip}): tracker ${t.claims.tracker}, key ${t.claims.kid}, ` +
          `expires ${new Date(t.claims.exp).toISOString()}\n${out.ticket}\n`,
      );
    }
  } catch (err) {
    client.stop();
    await ua.close();
    return fail(`IMS ticket request failed: ${(err as Error).message}`, EXIT_FAILURE);
  }
}

export function imsCommand(): Command {
  const ims = new Command('ims').description("IMS access: register with the operator's SIP core, fetch a tracker ticket");
  ims.addCommand(
    accessOptions(new Command('register'))
      .description('register once with digest authentication and report the outcome (exit 0 on 200 OK)')
      .option('--keep', 'leave the binding in place (default: de-register before exiting)')
      .action(registerAction),
  );
  ims.addCommand(
    accessOptions(new Command('ticket'))
      .description('register, ask the superdist service for a tracker ticket, print it, de-register')
      .requiredOption('--peer-id <id>', 'P2P identity the ticket is for')
      .option('--service-user <user>', 'user part of the service URI sip:USER@DOMAIN', 'superdist')
      .action(ticketAction),
  );
  return ims;
}
