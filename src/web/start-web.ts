// Starts the web remote for a running service when the configuration asks for it: web.enabled
// (`auto` = on under the daemon), addresses from web.listen or the interface roles; HTTPS with the
// box's own certificate when web.https asks for it (`auto` = under the daemon too).
import { networkInterfaces, hostname as osHostname } from 'node:os';
import type { Config } from '../config/schema.js';
import { parseHostPort } from '../config/address.js';
import type { ControlHandler } from '../control/control-server.js';
import { detectInterfaceRoles } from '../platform/interface-roles.js';
import type { Logger } from '../platform/logger.js';
import type { PhoneFileSource } from './hls-file-routes.js';
import type { PhoneMediaSource } from './hls-routes.js';
import { chooseWebAddresses } from './web-addresses.js';
import { loadOrCreateBoxCertificate, type BoxCertificate } from './box-certificate.js';
import { WebServer } from './web-server.js';

/** The certificate names the host name, NAME.local, web.hostNames and the served addresses (every local one for a wildcard). */
function boxCertificate(cfg: Config, addresses: Array<{ host: string }>): BoxCertificate {
  const h = osHostname().toLowerCase();
  const wildcard = addresses.some((a) => a.host === '0.0.0.0' || a.host === '::');
  const local = wildcard ? Object.values(networkInterfaces()).flatMap((l) => (l ?? []).filter((a) => !/^fe80:/i.test(a.address)).map((a) => a.address)) : [];
  return loadOrCreateBoxCertificate(cfg.stateDir, { dnsNames: [h, `${h}.local`, ...cfg.web.hostNames], addresses: [...addresses.map((a) => a.host), ...local] });
}

export function webEnabled(cfg: Config, byDefault: boolean): boolean {
  return cfg.web.enabled === 'auto' ? byDefault : cfg.web.enabled;
}

/** The running web server, or undefined when the page is off. Never throws for a busy address. */
export async function startWeb(
  cfg: Config,
  handlers: Record<string, ControlHandler>,
  log: Logger,
  byDefault: boolean,
  phones: { media?: PhoneMediaSource; files?: PhoneFileSource; phoneSlots?: () => number } = {},
): Promise<WebServer | undefined> {
  if (!webEnabled(cfg, byDefault)) return undefined;
  let addresses: Array<{ host: string; port: number }>;
  if (cfg.web.listen.length) {
    addresses = cfg.web.listen.map((l) => parseHostPort(l) as { host: string; port: number }); // validated by the schema
  } else {
    const { roles, interfaces } = await detectInterfaceRoles({ uplink: cfg.segment.uplinkInterface, segment: cfg.segment.interface });
    const chosen = chooseWebAddresses(interfaces, roles, cfg.web.port, cfg.web.onUplink);
    log.debug({ component: 'web', chosen }, 'web addresses');
    addresses = chosen;
  }
  let tls: BoxCertificate | undefined;
  if (cfg.web.https === 'auto' ? byDefault : cfg.web.https) {
    try {
      tls = boxCertificate(cfg, addresses);
    } catch (err) {
      // Never fall back to plain HTTP: the owner's password would travel in clear.
      log.error({ component: 'web' }, `the web page is not served: ${(err as Error).message}`);
      return undefined;
    }
    for (const w of tls.warnings) log.warn({ component: 'web' }, `web certificate: ${w}`);
    log.info({ component: 'web', fingerprint: tls.fingerprint, notAfter: tls.notAfter }, `web certificate SHA-256 ${tls.fingerprint} (compare it with the browser's on a first visit)`);
  }
  const web = new WebServer({
    config: cfg.web,
    addresses,
    handlers,
    stateDir: cfg.stateDir,
    log,
    ...phones,
    ...(tls ? { tls, plainHttp: cfg.web.plainHttp, tlsWarnings: tls.warnings, recheckTls: () => boxCertificate(cfg, addresses) } : {}),
  });
  await web.listen();
  return web;
}
