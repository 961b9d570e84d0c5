// SIP message model (RFC 3261 §7): a request or a response, an ordered list of header fields with
// canonical names (compact forms expanded), and a body of bytes. Pure data plus small accessors;
// parsing lives in sip-parser.ts, serialization in sip-serializer.ts, header values in sip-headers.ts.

export interface SipHeader {
  /** Canonical name ('Call-ID', 'WWW-Authenticate', 'P-Associated-URI'...). */
  name: string;
  value: string;
}

interface SipBase {
  headers: SipHeader[];
  body: Buffer;
}

export interface SipRequest extends SipBase {
  kind: 'request';
  method: string;
  /** Request-URI as text. */
  uri: string;
}

export interface SipResponse extends SipBase {
  kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Compact forms (RFC 3261 §7.3.3 and the registry of later RFCs). */
const COMPACT: Record<string, string> = {
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity',
};

/** Names whose canonical spelling is not plain Title-Case. */
const SPECIAL: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'p-associated-uri': 'P-Associated-URI',
  'p-asserted-identity': 'P-Asserted-Identity',
  'p-preferred-identity': 'P-Preferred-Identity',
  'p-access-network-info': 'P-Access-Network-Info',
  'p-visited-network-id': 'P-Visited-Network-ID',
  'p-charging-vector': 'P-Charging-Vector',
  'p-called-party-id': 'P-Called-Party-ID',
  'security-client': 'Security-Client',
};

/** Header fields that RFC 3261 §7.3.1 allows as comma-separated lists (plus IMS extensions). */
const LIST_HEADERS = new Set([
  'via', 'contact', 'route', 'record-route', 'path', 'service-route', 'p-associated-uri',
  'p-asserted-identity', 'allow', 'supported', 'require', 'proxy-require', 'unsupported',
  'accept', 'accept-encoding', 'accept-language', 'allow-events', 'warning', 'content-encoding',
]);

/** The canonical spelling of a header name (expanding compact forms). */
export function canonicalHeaderName(name: string): string {
  const lower = name.trim().toLowerCase();
  const compact = COMPACT[lower];
  if (compact) return compact;
  const special = SPECIAL[lower];
  if (special) return special;
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(canonicalHeaderName(name).toLowerCase());
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** First value of a header field, or undefined. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const want = canonicalHeaderName(name);
  return msg.headers.find((h) => same(h.name, want))?.value;
}

/** Every field line's value for a name, in order (no list splitting). */
export function getHeaderLines(msg: SipMessage, name: string): string[] {
  const want = canonicalHeaderName(name);
  return msg.headers.filter((h) => same(h.name, want)).map((h) => h.value);
}

export function hasHeader(msg: SipMessage, name: string): boolean {
  return getHeader(msg, name) !== undefined;
}

/** Replaces every field of this name with one value (appended at the end when absent). */
export function setHeader(msg: SipMessage, name: string, value: string): void {
  const want = canonicalHeaderName(name);
  const i = msg.headers.findIndex((h) => same(h.name, want));
  removeHeader(msg, want);
  const entry = { name: want, value };
  if (i < 0 || i > msg.headers.length) msg.headers.push(entry);
  else msg.headers.splice(i, 0, entry);
}

export function addHeader(msg: SipMessage, name: string, value: string): void {
  msg.headers.push({ name: canonicalHeaderName(name), value });
}

/** Inserts a field before all others of its name (a proxy's Via, a Route set...). */
export function prependHeader(msg: SipMessage, name: string, value: string): void {
  const want = canonicalHeaderName(name);
  const i = msg.headers.findIndex((h) => same(h.name, want));
  msg.headers.splice(i < 0 ? msg.headers.length : i, 0, { name: want, value });
}

export function removeHeader(msg: SipMessage, name: string): void {
  const want = canonicalHeaderName(name);
  msg.headers = msg.headers.filter((h) => !same(h.name, want));
}

/** Short human description for logs and errors: 'REGISTER sip:x' or '401 Unauthorized'. */
export function describeMessage(msg: SipMessage): string {
  return msg.kind === 'request' ? `${msg.method} ${msg.uri}` : `${msg.status} ${msg.reason}`;
}

/**
 * A response to `req` (RFC 3261 §8.2.6.2): its Via lines, From, Call-ID and CSeq copied, To as
 * given (the caller adds the tag), then `headers`.
 */
export function responseFor(req: SipRequest, status: number, reason: string, to: string, headers: SipHeader[] = [], body: Buffer = Buffer.alloc(0)): SipResponse {
  return {
    kind: 'response',
    status,
    reason,
    headers: [
      ...getHeaderLines(req, 'Via').map((value) => ({ name: 'Via', value })),
      { name: 'From', value: getHeader(req, 'From') ?? '' },
      { name: 'To', value: to },
      { name: 'Call-ID', value: getHeader(req, 'Call-ID') ?? '' },
      { name: 'CSeq', value: getHeader(req, 'CSeq') ?? '' },
      ...headers,
    ],
    body,
  };
}
