// HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 2617, RFC 7616, RFC 8760): choosing a
// challenge among several, computing the response for MD5 / SHA-256 / SHA-512-256 (and their -sess
// variants), qop=auth (or none, RFC 2069 compatibility), and building the Authorization value.
// AKAv1-MD5 (IMS AKA, needs a SIM/ISIM) is recognised but not supported: the next challenge is used.
import { createHash, randomBytes } from 'node:crypto';
import { quote, type Challenge } from './sip-headers.js';

export const SUPPORTED_DIGEST_ALGORITHMS = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] as const;
export type DigestAlgorithm = (typeof SUPPORTED_DIGEST_ALGORITHMS)[number];

const HASH_OF: Record<string, string> = { 'MD5': 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: DigestAlgorithm;
  /** qop options offered; empty = the server sent no qop (RFC 2069 mode). */
  qop: string[];
  stale: boolean;
  /** userhash=true (RFC 7616 §3.4.4). */
  userhash: boolean;
}

export interface DigestCredentials {
  /** Authentication user name (IMS private identity). */
  username: string;
  password: string;
}

function normaliseAlgorithm(raw: string | undefined): DigestAlgorithm | undefined {
  const a = (raw ?? 'MD5').trim().toUpperCase();
  return SUPPORTED_DIGEST_ALGORITHMS.find((x) => x.toUpperCase() === a);
}

/** A Digest challenge we can answer, or undefined (other scheme, AKA, unknown algorithm, no qop=auth). */
export function toDigestChallenge(ch: Challenge): DigestChallenge | undefined {
  if (ch.scheme.toLowerCase() !== 'digest') return undefined;
  const realm = ch.params.get('realm');
  const nonce = ch.params.get('nonce');
  const algorithm = normaliseAlgorithm(ch.params.get('algorithm'));
  if (realm === undefined || nonce === undefined || !algorithm) return undefined;
  const qopRaw = ch.params.get('qop');
  const qop = qopRaw === undefined ? [] : qopRaw.split(',').map((q) => q.trim().toLowerCase()).filter(Boolean);
  // With qop offered we need 'auth' (auth-int would need the body hash: not offered by real cores for REGISTER).
  if (qop.length && !qop.includes('auth')) return undefined;
  const out: DigestChallenge = {
    realm,
    nonce,
    algorithm,
    qop,
    stale: (ch.params.get('stale') ?? '').toLowerCase() === 'true',
    userhash: (ch.params.get('userhash') ?? '').toLowerCase() === 'true',
  };
  const opaque = ch.params.get('opaque');
  if (opaque !== undefined) out.opaque = opaque;
  return out;
}

/**
 * The challenge to answer: the first one we support, in the order the server sent them (RFC 7616
 * §3.7: servers list challenges by preference), optionally restricted to a realm.
 */
export function selectChallenge(challenges: Challenge[], realm?: string): DigestChallenge | undefined {
  for (const c of challenges) {
    const d = toDigestChallenge(c);
    if (d && (realm === undefined || d.realm === realm)) return d;
  }
  return undefined;
}

/** Auth schemes/algorithms present in a list, for error messages ('Digest AKAv1-MD5, Digest MD5'). */
export function describeChallenges(challenges: Challenge[]): string {
  return challenges.map((c) => `${c.scheme} ${c.params.get('algorithm') ?? 'MD5'}`).join(', ') || 'none';
}

function h(algorithm: DigestAlgorithm, data: string): string {
  const base = algorithm.replace(/-sess$/i, '');
  const name = HASH_OF[base];
  if (!name) throw new Error(`unsupported digest algorithm ${algorithm}`);
  return createHash(name).update(data, 'utf8').digest('hex');
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  /** digest-uri: the Request-URI in SIP. */
  uri: string;
  nonce: string;
  /** Required with qop. */
  cnonce?: string;
  /** 8 hex digits, e.g. '00000001'. Required with qop. */
  nc?: string;
  /** 'auth' or undefined (no qop). */
  qop?: 'auth';
}

/** The request-digest (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 for MD5; RFC 2069 when qop is absent). */
export function computeDigestResponse(i: DigestInput): string {
  let ha1 = h(i.algorithm, `${i.username}:${i.realm}:${i.password}`);
  if (/-sess$/i.test(i.algorithm)) {
    if (i.cnonce === undefined) throw new Error('-sess algorithms need a cnonce');
    ha1 = h(i.algorithm, `${ha1}:${i.nonce}:${i.cnonce}`);
  }
  const ha2 = h(i.algorithm, `${i.method}:${i.uri}`);
  if (i.qop) {
    if (i.cnonce === undefined || i.nc === undefined) throw new Error('qop=auth needs cnonce and nc');
    return h(i.algorithm, `${ha1}:${i.nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}`);
  }
  return h(i.algorithm, `${ha1}:${i.nonce}:${ha2}`);
}

export function newCnonce(): string {
  return randomBytes(12).toString('hex');
}

export function formatNonceCount(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

export interface AuthorizationRequest {
  method: string;
  uri: string;
  /** Nonce count for this nonce (1 for the first use). */
  nc: number;
  cnonce?: string;
}

/** The Authorization / Proxy-Authorization value answering `ch` (RFC 7616 §3.4). */
export function buildAuthorization(ch: DigestChallenge, creds: DigestCredentials, req: AuthorizationRequest): string {
  const qop = ch.qop.includes('auth') ? 'auth' : undefined;
  const cnonce = qop || /-sess$/i.test(ch.algorithm) ? (req.cnonce ?? newCnonce()) : undefined;
  const nc = formatNonceCount(req.nc);
  const response = computeDigestResponse({
    algorithm: ch.algorithm,
    username: creds.username,
    realm: ch.realm,
    password: creds.password,
    method: req.method,
    uri: req.uri,
    nonce: ch.nonce,
    ...(cnonce !== undefined ? { cnonce } : {}),
    ...(qop ? { qop, nc } : {}),
  });
  const username = ch.userhash ? h(ch.algorithm, `${creds.username}:${ch.realm}`) : creds.username;
  const parts = [
    `username=${quote(username)}`,
    `realm=${quote(ch.realm)}`,
    `nonce=${quote(ch.nonce)}`,
    `uri=${quote(req.uri)}`,
    `response=${quote(response)}`,
    `algorithm=${ch.algorithm}`,
  ];
  if (cnonce !== undefined) parts.push(`cnonce=${quote(cnonce)}`);
  if (ch.opaque !== undefined) parts.push(`opaque=${quote(ch.opaque)}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`);
  if (ch.userhash) parts.push('userhash=true');
  return `Digest ${parts.join(', ')}`;
}
