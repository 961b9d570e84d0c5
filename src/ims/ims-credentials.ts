// Where the IMS password comes from, in order: ims.password (inline), ims.passwordFile, the systemd
// credential `ims-password` ($CREDENTIALS_DIRECTORY, LoadCredential=). A password file others can
// read is refused; one the group can read gets a warning. The password itself is never logged or
// reported: status shows only its source.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImsConfig } from './ims-config.js';

export class ImsConfigError extends Error {
  override name = 'ImsConfigError';
}

export interface ImsSecret {
  password: string;
  /** 'ims.password', 'file /etc/superdist/ims-password', 'systemd credential ims-password'. */
  source: string;
  warnings: string[];
}

export const SYSTEMD_CREDENTIAL_NAME = 'ims-password';

function readSecretFile(file: string, what: string, checkMode: boolean, warnings: string[]): string {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (err) {
    throw new ImsConfigError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (checkMode && mode & 0o007) {
    throw new ImsConfigError(`${what} ${file} is readable by others (mode ${mode.toString(8).padStart(3, '0')}): make it readable only by the service (chmod 600)`);
  }
  if (checkMode && mode & 0o070) warnings.push(`${what} ${file} is readable by its group (mode ${mode.toString(8).padStart(3, '0')}); 600 is safer`);
  const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (text === '') throw new ImsConfigError(`${what} ${file} is empty`);
  return text;
}

export function resolveImsPassword(cfg: Pick<ImsConfig, 'password' | 'passwordFile'>, env: NodeJS.ProcessEnv = process.env): ImsSecret {
  const warnings: string[] = [];
  if (cfg.password !== '') return { password: cfg.password, source: 'ims.password', warnings };
  if (cfg.passwordFile !== '') {
    return { password: readSecretFile(cfg.passwordFile, 'ims.passwordFile', true, warnings), source: `file ${cfg.passwordFile}`, warnings };
  }
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir) {
    const file = join(dir, SYSTEMD_CREDENTIAL_NAME);
    try {
      statSync(file);
      return { password: readSecretFile(file, 'systemd credential', false, warnings), source: `systemd credential ${SYSTEMD_CREDENTIAL_NAME}`, warnings };
    } catch (err) {
      if (err instanceof ImsConfigError && !/no such file/.test(err.message)) throw err;
    }
  }
  throw new ImsConfigError(
    `ims.enabled is true but no IMS password is configured: set ims.passwordFile (a file readable only by the service), ` +
      `or LoadCredential=${SYSTEMD_CREDENTIAL_NAME}:FILE in the systemd unit, or ims.password`,
  );
}
