// The `ims` section of the configuration: how the box reaches the operator's IMS core (registrar /
// P-CSCF, domain, credentials, transport), the superdist service identity, ticket lifetimes, and
// the SIP timers. Every field has a default; with `enabled` the registrar, domain and user are
// required. The password is best given as a file readable only by the service (passwordFile) or as
// the systemd credential `ims-password` (LoadCredential=), not inline.
import { z } from 'zod';
import { parseHostPort } from '../config/address.js';

export const IMS_TRANSPORTS = ['udp', 'tcp'] as const;

/** A string field that also takes numbers (environment values are JSON-parsed: USER=1234). */
const text = (re: RegExp, what: string) =>
  z
    .union([z.string(), z.number().transform(String)])
    .pipe(z.string().regex(re, what));

const ms = (min: number, max: number) => z.number({ error: 'expected a number' }).int('expected a whole number').min(min).max(max);

export const imsConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('IMS mode: register with the core; nodes fetch a ticket, the tracker admits ticket holders only.'),
    registrar: z
      .string()
      .default('')
      .superRefine((v, ctx) => {
        if (v === '') return;
        const r = parseHostPort(v);
        if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
        else if (r.port === 0) ctx.addIssue({ code: 'custom', message: 'port must not be 0' });
      })
      .describe('Outbound proxy / registrar (P-CSCF) HOST:PORT.'),
    domain: text(/^[A-Za-z0-9.-]{0,253}$/, 'expected a domain name (letters, digits, . -)').default('').describe('Home domain: realm of the registration and host part of our identities.'),
    user: text(/^[A-Za-z0-9._~!$&'()*+=-]{0,64}$/, 'expected a SIP user name').default('').describe('User part of our public identity sip:USER@DOMAIN (the tracker registers as serviceUser).'),
    authUser: text(/^[A-Za-z0-9._~!$&'()*+=@-]{0,128}$/, 'expected a user name').default('').describe("Authentication user name (IMS private identity); '' = user."),
    password: z.union([z.string(), z.number().transform(String)]).default('').describe('Inline password (avoid: prefer passwordFile or the systemd credential).'),
    passwordFile: z.string().default('').describe('File holding the password; must not be readable by others.'),
    transport: z.enum(IMS_TRANSPORTS).default('udp').describe('SIP transport to the registrar: udp or tcp.'),
    localAddress: z.string().max(255).default('').describe("Local address for SIP ('' = chosen for the route to the registrar)."),
    localPort: ms(0, 65535).default(0).describe('Local SIP port (0 = ephemeral).'),
    expiresS: ms(10, 604_800).default(600).describe('Requested registration lifetime (s).'),
    serviceUser: text(/^[A-Za-z0-9._~!$&'()*+=-]{1,64}$/, 'expected a SIP user name').default('superdist').describe('User part of the superdist service URI sip:SERVICEUSER@DOMAIN.'),
    ticketLifetimeS: ms(10, 7 * 86_400).default(3600).describe('Tracker: lifetime of the tickets it issues (s).'),
    ticketRenewBeforeS: ms(1, 86_400).default(300).describe('Node: renew the ticket this long before it expires (s; at most half its lifetime).'),
    ticketTimeoutMs: ms(100, 600_000).default(10_000).describe('Node: wait this long for the ticket MESSAGE once the service accepted the request.'),
    ticketKeyFile: z.string().default('').describe("Tracker: its ticket signing key (PKCS#8 PEM); '' = STATEDIR/ims-ticket-key.pem."),
    bindingCheckS: ms(0, 86_400).default(300).describe('Query the registrar for our binding this often, to re-register after a core restart (s; 0 = never).'),
    retryMinMs: ms(10, 3_600_000).default(1000).describe('Backoff between failed registrations / ticket requests: first wait (ms).'),
    retryMaxMs: ms(10, 3_600_000).default(60_000).describe('Backoff between failed registrations / ticket requests: longest wait (ms).'),
    t1Ms: ms(10, 60_000).default(500).describe('RFC 3261 timer T1: round-trip estimate, first retransmission interval over UDP (ms).'),
    t2Ms: ms(10, 120_000).default(4000).describe('RFC 3261 timer T2: longest retransmission interval of a non-INVITE request (ms).'),
    t4Ms: ms(0, 120_000).default(5000).describe('RFC 3261 timer T4: longest time a message stays in the network; timer K (ms).'),
    transactionTimeoutMs: ms(100, 600_000).default(32_000).describe('Non-INVITE transaction timeout, timer F (64 × T1 by the RFC) (ms).'),
    unregisterTimeoutMs: ms(0, 60_000).default(2000).describe('Longest wait for the de-registration answer on shutdown (ms).'),
    startWaitMs: ms(0, 600_000).default(10_000).describe('start() waits this long for registration (and, on nodes, the first ticket) before returning (ms).'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled) {
      for (const key of ['registrar', 'domain', 'user'] as const) {
        if (c[key] === '') ctx.addIssue({ code: 'custom', path: [key], message: 'required when ims.enabled is true' });
      }
    }
    if (c.retryMinMs > c.retryMaxMs) ctx.addIssue({ code: 'custom', path: ['retryMinMs'], message: `must not exceed ims.retryMaxMs (${c.retryMaxMs})` });
    if (c.t1Ms > c.t2Ms) ctx.addIssue({ code: 'custom', path: ['t1Ms'], message: `must not exceed ims.t2Ms (${c.t2Ms})` });
  })
  .prefault({});

export type ImsConfig = z.infer<typeof imsConfigSchema>;
export type ImsConfigInput = z.input<typeof imsConfigSchema>;

/** Every default (IMS off). */
export const DEFAULT_IMS_CONFIG: ImsConfig = imsConfigSchema.parse({});

/** sip:USER@DOMAIN */
export function imsIdentity(c: Pick<ImsConfig, 'user' | 'domain'>): string {
  return `sip:${c.user}@${c.domain}`;
}

export function imsServiceUri(c: Pick<ImsConfig, 'serviceUser' | 'domain'>): string {
  return `sip:${c.serviceUser}@${c.domain}`;
}
