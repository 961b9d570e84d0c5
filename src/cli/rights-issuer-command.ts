// `superdist rights-issuer`: the operator's rights issuer over HTTP with its journal database.
import { Command } from 'commander';
import { parseHostPort } from '../config/address.js';
import { DrmError } from '../drm/encoding.js';
import { RightsIssuer } from '../drm/rights-issuer.js';
import { startRiServer } from '../drm/ri-server.js';
import { EXIT_OK, EXIT_USAGE, fail } from './common.js';

export function rightsIssuerCommand(): Command {
  return new Command('rights-issuer')
    .description('run the rights issuer: device registration, content keys, rights objects, domains (HTTP JSON)')
    .requiredOption('--listen <host:port>', 'HTTP address')
    .requiredOption('--db <dir>', 'database directory (journal + snapshot, the RI key and certificate)')
    .option('--ca <dir>', 'operator CA directory: needed on the first start to issue the RI certificate')
    .option('--domain-max <n>', 'largest domain size allowed', '8')
    .option('--name <name>', 'RI name in its certificate', 'rights issuer')
    .action(async (o: { listen: string; db: string; ca?: string; domainMax: string; name: string }) => {
      const hp = parseHostPort(o.listen);
      if (typeof hp === 'string') fail(`--listen ${o.listen}: ${hp}`, EXIT_USAGE);
      const max = Number(o.domainMax);
      if (!Number.isInteger(max) || max < 1) fail(`--domain-max ${o.domainMax}: expected a whole number >= 1`, EXIT_USAGE);
      let ri: RightsIssuer;
      try {
        ri = new RightsIssuer({ dbDir: o.db, ...(o.ca ? { caDir: o.ca } : {}), name: o.name, domainMaxSize: max, onWarning: (m) => process.stderr.write(`superdist: ${m}\n`) });
      } catch (err) {
        if (err instanceof DrmError) fail(err.message, EXIT_USAGE);
        throw err;
      }
      const srv = await startRiServer(ri, hp.host, hp.port, (e) => process.stderr.write(`superdist: rights issuer error: ${e.stack ?? e.message}\n`)).catch((err: NodeJS.ErrnoException) =>
        fail(err.code === 'EADDRINUSE' ? `address ${o.listen} is already in use` : err.message),
      );
      process.stdout.write(`rights issuer ${ri.cert.id} listening on http://${hp.host}:${srv.port}\n`);
      const stop = () => {
        void srv.close().then(async () => {
          await ri.close();
          process.exit(EXIT_OK);
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
