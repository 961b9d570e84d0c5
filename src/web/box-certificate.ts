// The box's own key and certificate for its HTTPS page, in STATE/web-tls/ (key.pem and cert.pem,
// mode 0600, directory 0700). Made at first start (ECDSA P-256, self-signed, naming the host name,
// NAME.local, localhost, the configured names and every address the page is served on) and made
// again, with a warning, when the certificate is unreadable, garbled, does not match the key, has
// expired or expires within RENEW_BEFORE_DAYS, or no longer names an address the page serves.
// A key or certificate file readable by others is set back to 0600 with a warning; one that cannot
// be (not the service user's) is refused with an error naming the file and the fix.
import { createPrivateKey, createPublicKey, createHash, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/durable-file.js';
import { selfSignedCertificate } from './x509.js';

export const TLS_DIR = 'web-tls';
export const CERT_VALID_DAYS = 397;
export const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;

export interface BoxCertificate {
  keyPem: string;
  certPem: string;
  /** SHA-256 of the certificate (DER), upper-case hex pairs with colons, as browsers show it. */
  fingerprint: string;
  /** base64 SHA-256 of the public key (SPKI), for `--ignore-certificate-errors-spki-list` and pinning. */
  spkiSha256: string;
  notAfter: string;
  selfSigned: true;
  /** What was wrong with the files found (each one replaced or fixed). */
  warnings: string[];
}

export class CertificateFileError extends Error {
  override name = 'CertificateFileError';
}

export interface CertificateOptions {
  /** Host name and other DNS names the page answers to. */
  dnsNames: string[];
  /** IP addresses the page is served on (wildcards are left out). */
  addresses: string[];
  now?: () => number;
}

/** Loads the box's certificate, or makes a new one when there is none usable. */
export function loadOrCreateBoxCertificate(stateDir: string, o: CertificateOptions): BoxCertificate {
  const now = o.now?.() ?? Date.now();
  const dir = join(stateDir, TLS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const warnings: string[] = [];
  tightenMode(dir, 0o700, warnings);
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const names = wantedNames(o);
  const found = readExisting(keyFile, certFile, warnings);
  if (found) {
    const problem = unusable(found.cert, found.key, names, now);
    if (!problem) {
      tightenMode(keyFile, 0o600, warnings);
      tightenMode(certFile, 0o600, warnings);
      return describe(found.keyPem, found.certPem, found.cert, warnings);
    }
    warnings.push(`${certFile}: ${problem}; making a new certificate`);
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certPem = selfSignedCertificate({
    commonName: o.dnsNames[0] ?? 'superdist',
    names,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + CERT_VALID_DAYS * DAY_MS),
    serial: randomBytes(16),
    publicKey: createPublicKey(privateKey),
    signingKey: privateKey,
  });
  // Something that is not a file where a file belongs (it could not be read) goes first.
  for (const f of [keyFile, certFile]) if (existsSync(f) && !statSync(f).isFile()) rmSync(f, { recursive: true, force: true });
  writeFileAtomic(keyFile, keyPem, 0o600);
  writeFileAtomic(certFile, certPem, 0o600);
  return describe(keyPem, certPem, new X509Certificate(certPem), warnings);
}

function wantedNames(o: CertificateOptions): string[] {
  const ips = o.addresses.filter((a) => isIP(a) && a !== '0.0.0.0' && a !== '::');
  return [...new Set([...o.dnsNames.map((n) => n.toLowerCase()), 'localhost', '127.0.0.1', ...ips])];
}

interface Existing {
  keyPem: string;
  certPem: string;
  key: KeyObject;
  cert: X509Certificate;
}

function readExisting(keyFile: string, certFile: string, warnings: string[]): Existing | undefined {
  let keyPem: string;
  let certPem: string;
  try {
    keyPem = readFileSync(keyFile, 'utf8');
    certPem = readFileSync(certFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    warnings.push(`cannot read the web certificate or key in ${keyFile.slice(0, -'/key.pem'.length)} (${code ?? (err as Error).message}); making a new one`);
    return undefined;
  }
  try {
    return { keyPem, certPem, key: createPrivateKey(keyPem), cert: new X509Certificate(certPem) };
  } catch (err) {
    warnings.push(`${certFile} or its key is not a valid PEM certificate/key (${(err as Error).message}); making a new one`);
    return undefined;
  }
}

/** Why the certificate cannot serve (undefined: it can). */
function unusable(cert: X509Certificate, key: KeyObject, names: string[], now: number): string | undefined {
  if (!cert.checkPrivateKey(key)) return 'it does not match key.pem';
  const notAfter = Date.parse(cert.validTo);
  if (!(notAfter > now)) return `it expired on ${new Date(notAfter).toISOString()}`;
  if (notAfter - now < RENEW_BEFORE_DAYS * DAY_MS) return `it expires on ${new Date(notAfter).toISOString()}, within ${RENEW_BEFORE_DAYS} days`;
  if (Date.parse(cert.validFrom) > now + 3600_000) return `it is not valid before ${cert.validFrom}`;
  const missing = names.filter((n) => (isIP(n) ? cert.checkIP(n) === undefined : cert.checkHost(n, { wildcards: false }) === undefined));
  if (missing.length) return `it does not name ${missing.join(', ')}`;
  return undefined;
}

/** Sets a file readable by others back to `mode`; throws CertificateFileError when it cannot. */
function tightenMode(path: string, mode: number, warnings: string[]): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  const extra = st.mode & 0o777 & ~mode;
  if (!extra) return;
  try {
    chmodSync(path, mode);
  } catch (err) {
    throw new CertificateFileError(
      `${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} (others may read the box's web key) and cannot be set to ${mode.toString(8).padStart(4, '0')}: ${(err as Error).message}; run: chown -R superdist: ${path} && chmod ${mode.toString(8)} ${path}`,
    );
  }
  warnings.push(`${path} had mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; set to ${mode.toString(8).padStart(4, '0')}`);
}

function describe(keyPem: string, certPem: string, cert: X509Certificate, warnings: string[]): BoxCertificate {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return {
    keyPem,
    certPem,
    fingerprint: cert.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    notAfter: new Date(cert.validTo).toISOString(),
    selfSigned: true,
    warnings,
  };
}
