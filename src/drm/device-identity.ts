// A device's DRM identity in its state directory (STATE/drm/): Ed25519 signing key (sign.key),
// X25519 wrapping key (wrap.key), both PKCS#8 PEM mode 0600 and created on first use; the
// certificate the CA issued (cert.json) and the CA's certificate (ca.cert.json) once enrolled.
// Enrolment: directly with the CA directory, or offline as a request file (signed by the device
// key: proof of possession) answered by the CA holder with the certificate and the CA certificate.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from './atomic-file.js';
import { parseCertificate, verifyCaCertificate, verifyCertificate, type Certificate, type CertRole } from './certificate.js';
import { asObject, DrmError } from './encoding.js';
import { generateKeyPair, privateKeyFromPem, privateKeyToPem, signJson, verifyJson, type KeyPair, type KeyKind } from './keys.js';
import { caIssue, type OperatorCa } from './operator-ca.js';

export interface DeviceIdentity {
  dir: string;
  sign: KeyPair;
  wrap: KeyPair;
  cert: Certificate | undefined;
  ca: Certificate | undefined;
}

export interface EnrolledIdentity extends DeviceIdentity {
  cert: Certificate;
  ca: Certificate;
}

export function drmDir(stateDir: string): string {
  return join(stateDir, 'drm');
}

function loadOrCreateKey(file: string, kind: KeyKind): KeyPair {
  let pem: string | undefined;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DrmError('io', `cannot read ${file}: ${(err as Error).message}`);
  }
  if (pem !== undefined) return privateKeyFromPem(pem, kind, file);
  const k = generateKeyPair(kind);
  writeFileAtomic(file, privateKeyToPem(k.privateKey));
  return k;
}

/** Loads the identity, creating the two key pairs on first use. */
export function loadOrCreateIdentity(stateDir: string): DeviceIdentity {
  const dir = drmDir(stateDir);
  const sign = loadOrCreateKey(join(dir, 'sign.key'), 'ed25519');
  const wrap = loadOrCreateKey(join(dir, 'wrap.key'), 'x25519');
  const caRaw = readJsonFile(join(dir, 'ca.cert.json'));
  const certRaw = readJsonFile(join(dir, 'cert.json'));
  const ca = caRaw === undefined ? undefined : verifyCaCertificate(caRaw);
  const cert = certRaw === undefined ? undefined : parseCertificate(certRaw, join(dir, 'cert.json'));
  if (cert && cert.signKey !== sign.publicKey) throw new DrmError('bad-key', `${join(dir, 'cert.json')} belongs to another key than ${join(dir, 'sign.key')}`);
  return { dir, sign, wrap, cert, ca };
}

export function requireEnrolled(id: DeviceIdentity): EnrolledIdentity {
  if (!id.cert || !id.ca) throw new DrmError('not-enrolled', `this device has no DRM certificate yet (run superdist drm enroll --ca DIR --state-dir ${join(id.dir, '..')})`);
  return id as EnrolledIdentity;
}

export interface EnrolRequest {
  v: 1;
  role: CertRole;
  name: string;
  signKey: string;
  wrapKey: string;
  sig: string;
}

export function enrolRequest(id: DeviceIdentity, role: CertRole, name: string): EnrolRequest {
  if (role === 'ca') throw new DrmError('bad-usage', 'a device cannot enrol as a CA');
  const body = { v: 1 as const, role, name, signKey: id.sign.publicKey, wrapKey: id.wrap.publicKey };
  return { ...body, sig: signJson('enrol-request', body, id.sign.privateKey) };
}

/** The CA side: checks the proof of possession and issues the certificate. */
export function answerEnrolRequest(ca: OperatorCa, reqIn: unknown): { cert: Certificate; caCert: Certificate } {
  const req = asObject(reqIn, 'enrolment request') as unknown as EnrolRequest;
  if (req.v !== 1 || typeof req.signKey !== 'string' || typeof req.wrapKey !== 'string' || typeof req.name !== 'string') {
    throw new DrmError('bad-format', 'enrolment request: expected {v: 1, role, name, signKey, wrapKey, sig}');
  }
  if (!['device', 'packager', 'ri'].includes(req.role)) throw new DrmError('bad-format', `enrolment request: role ${JSON.stringify(req.role)} cannot be issued`);
  const { sig, ...body } = req;
  if (!verifyJson('enrol-request', body, sig, req.signKey)) throw new DrmError('bad-signature', 'enrolment request: its signature does not verify with its own key (altered request)');
  return { cert: caIssue(ca, { role: req.role, name: req.name, signKey: req.signKey, wrapKey: req.wrapKey }), caCert: ca.cert };
}

/** Installs an answer (certificate + CA certificate) after checking it belongs to this device. */
export function installEnrolment(id: DeviceIdentity, answerIn: unknown): EnrolledIdentity {
  const a = asObject(answerIn, 'enrolment answer');
  const caCert = verifyCaCertificate(a.caCert);
  const cert = verifyCertificate(a.cert, caCert);
  if (cert.signKey !== id.sign.publicKey || cert.wrapKey !== id.wrap.publicKey) {
    throw new DrmError('bad-certificate', `certificate ${cert.id} was issued for other keys than this device's (${id.dir})`);
  }
  writeJsonAtomic(join(id.dir, 'ca.cert.json'), caCert);
  writeJsonAtomic(join(id.dir, 'cert.json'), cert);
  return { ...id, cert, ca: caCert };
}
