// The operator CA: an Ed25519 key and a self-signed certificate in a directory (ca.key PEM mode
// 0600, ca.cert.json). It issues certificates to devices, packagers and the rights issuer.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from './atomic-file.js';
import { issueCertificate, verifyCaCertificate, type Certificate, type CertSubject } from './certificate.js';
import { DrmError } from './encoding.js';
import { generateKeyPair, privateKeyFromPem, privateKeyToPem, type KeyPair } from './keys.js';

export const CA_VALID_DAYS = 3650;
export const CERT_VALID_DAYS = 825;

export interface OperatorCa {
  cert: Certificate;
  key: KeyPair;
}

export function initCa(dir: string, name: string): OperatorCa {
  const keyFile = join(dir, 'ca.key');
  if (existsSync(keyFile)) throw new DrmError('exists', `${keyFile} already exists: a CA is already initialised in ${dir}`);
  const key = generateKeyPair('ed25519');
  const cert = issueCertificate({ role: 'ca', name, signKey: key.publicKey }, 'self', key.privateKey, CA_VALID_DAYS);
  writeFileAtomic(keyFile, privateKeyToPem(key.privateKey));
  writeJsonAtomic(join(dir, 'ca.cert.json'), cert);
  return { cert, key };
}

export function loadCaCert(dir: string): Certificate {
  const file = join(dir, 'ca.cert.json');
  const v = readJsonFile(file);
  if (v === undefined) throw new DrmError('missing', `no CA certificate at ${file} (run superdist drm ca init --out ${dir})`);
  return verifyCaCertificate(v);
}

export function loadCa(dir: string): OperatorCa {
  const cert = loadCaCert(dir);
  let pem: string;
  try {
    pem = readFileSync(join(dir, 'ca.key'), 'utf8');
  } catch (err) {
    throw new DrmError('missing', `cannot read the CA key ${join(dir, 'ca.key')}: ${(err as Error).message}`);
  }
  const key = privateKeyFromPem(pem, 'ed25519', 'CA key');
  if (key.publicKey !== cert.signKey) throw new DrmError('bad-key', `the CA key in ${dir} does not match ca.cert.json`);
  return { cert, key };
}

export function caIssue(ca: OperatorCa, subject: CertSubject): Certificate {
  return issueCertificate(subject, { id: ca.cert.id, privateKey: ca.key.privateKey }, ca.key.privateKey, CERT_VALID_DAYS);
}
