// SIP URIs (RFC 3261 §19.1): sip:user:password@host:port;params?headers. Parsing returns undefined
// on anything malformed instead of throwing; formatting is the exact inverse for what we build.

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  password?: string;
  /** Host name, IPv4 literal, or IPv6 literal without brackets. */
  host: string;
  port?: number;
  /** URI parameters in order; keys lower-cased, null for a flag parameter (';lr'). */
  params: Map<string, string | null>;
  /** The raw '?headers' part without the '?', when present. */
  headers?: string;
}

/** Parses `sip:`/`sips:` URIs; other schemes (tel:, urn:) return undefined. */
export function parseSipUri(text: string): SipUri | undefined {
  const m = /^(sips?):(.+)$/i.exec(text.trim());
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase() as 'sip' | 'sips';
  let rest = m[2] as string;
  let headers: string | undefined;
  const q = rest.indexOf('?');
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let userinfo: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const semi = rest.indexOf(';');
  const hostport = semi >= 0 ? rest.slice(0, semi) : rest;
  const paramText = semi >= 0 ? rest.slice(semi + 1) : '';
  const hp = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(hostport);
  if (!hp) return undefined;
  const rawHost = hp[1] as string;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const port = hp[2] !== undefined ? Number(hp[2]) : undefined;
  if (port !== undefined && port > 65535) return undefined;
  const uri: SipUri = { scheme, host, params: parseParams(paramText) };
  if (port !== undefined) uri.port = port;
  if (headers !== undefined) uri.headers = headers;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    uri.user = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    if (colon >= 0) uri.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  return uri;
}

function parseParams(text: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  for (const part of text.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) params.set(part.trim().toLowerCase(), null);
    else params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return params;
}

/** Characters allowed unescaped in the user part (RFC 3261 unreserved + user-unreserved). */
const USER_SAFE = /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/;

function escapeUser(user: string): string {
  let out = '';
  for (const ch of user) {
    if (USER_SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function formatSipUri(uri: SipUri): string {
  let s = `${uri.scheme}:`;
  if (uri.user !== undefined) {
    s += escapeUser(uri.user);
    if (uri.password !== undefined) s += `:${escapeUser(uri.password)}`;
    s += '@';
  }
  s += uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  if (uri.port !== undefined) s += `:${uri.port}`;
  for (const [k, v] of uri.params) s += v === null ? `;${k}` : `;${k}=${v}`;
  if (uri.headers !== undefined) s += `?${uri.headers}`;
  return s;
}

/** The address-of-record form: scheme, user and host (no port, params or headers), lower-cased host. */
export function aorOf(uri: SipUri): string {
  const user = uri.user !== undefined ? `${escapeUser(uri.user)}@` : '';
  return `${uri.scheme}:${user}${uri.host.toLowerCase()}`;
}

/**
 * Whether two URIs designate the same contact for our purposes (RFC 3261 §19.1.4 simplified):
 * user, host, port (default 5060/5061) and transport parameter compare equal.
 */
export function sameContactUri(a: SipUri, b: SipUri): boolean {
  const defPort = (u: SipUri) => u.port ?? (u.scheme === 'sips' ? 5061 : 5060);
  const transport = (u: SipUri) => (u.params.get('transport') ?? 'udp').toLowerCase();
  return (
    a.scheme === b.scheme &&
    (a.user ?? '') === (b.user ?? '') &&
    a.host.toLowerCase() === b.host.toLowerCase() &&
    defPort(a) === defPort(b) &&
    transport(a) === transport(b)
  );
}
