// Parsers for the header values the user agent reads: comma lists (quote- and bracket-aware),
// name-addr (Contact, From, To, Route, Path, Service-Route, P-Associated-URI), Via, CSeq, and
// authentication challenges (WWW-Authenticate / Proxy-Authenticate, RFC 7616 §3.3 auth-params).
import { getHeaderLines, isListHeader, type SipMessage } from './sip-message.js';

/** Splits a header value at top-level commas (not inside quotes or <...>). */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (inQuotes) {
      cur += ch;
      if (ch === '\\' && i + 1 < value.length) cur += value[++i];
      else if (ch === '"') inQuotes = false;
    } else if (ch === '"') {
      inQuotes = true;
      cur += ch;
    } else if (ch === '<') {
      inAngle = true;
      cur += ch;
    } else if (ch === '>') {
      inAngle = false;
      cur += ch;
    } else if (ch === ',' && !inAngle) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * Every value of a header: list headers are split at commas and all field lines joined
 * (RFC 3261 §7.3.1: `Route: a, b` equals two `Route:` lines).
 */
export function headerValues(msg: SipMessage, name: string): string[] {
  const lines = getHeaderLines(msg, name);
  return isListHeader(name) ? lines.flatMap(splitHeaderList) : lines;
}

/** Splits `a;b=c;d="e;f"` at top-level semicolons. */
function splitParams(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inQuotes) {
      cur += ch;
      if (ch === '\\' && i + 1 < text.length) cur += text[++i];
      else if (ch === '"') inQuotes = false;
    } else if (ch === '"') {
      inQuotes = true;
      cur += ch;
    } else if (ch === ';') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Header parameters `;k=v;flag` → map with lower-case keys; quoted values are unquoted. */
export function parseHeaderParams(text: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  for (const raw of splitParams(text)) {
    const part = raw.trim();
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) params.set(part.toLowerCase(), null);
    else params.set(part.slice(0, eq).trim().toLowerCase(), unquote(part.slice(eq + 1).trim()));
  }
  return params;
}

export interface NameAddr {
  display?: string;
  /** The URI text (without angle brackets). */
  uri: string;
  /** Header parameters (tag, expires, q, ...), not the URI's own. */
  params: Map<string, string | null>;
}

/** Parses `"Display" <uri>;p=v`, `Display <uri>`, `<uri>;p` or an addr-spec `uri;p` (RFC 3261 §20.10). */
export function parseNameAddr(text: string): NameAddr | undefined {
  const t = text.trim();
  if (t === '*') return { uri: '*', params: new Map() };
  const lt = indexOutsideQuotes(t, '<');
  if (lt >= 0) {
    const gt = t.indexOf('>', lt);
    if (gt < 0) return undefined;
    const displayRaw = t.slice(0, lt).trim();
    const rest = t.slice(gt + 1).trim();
    const out: NameAddr = { uri: t.slice(lt + 1, gt).trim(), params: parseHeaderParams(rest.startsWith(';') ? rest.slice(1) : rest) };
    if (displayRaw) out.display = unquote(displayRaw);
    return out.uri ? out : undefined;
  }
  // addr-spec: parameters after the first ';' belong to the header (the URI cannot have any).
  const semi = t.indexOf(';');
  const uri = (semi >= 0 ? t.slice(0, semi) : t).trim();
  if (!uri || /\s/.test(uri)) return undefined;
  return { uri, params: parseHeaderParams(semi >= 0 ? t.slice(semi + 1) : '') };
}

export function formatNameAddr(na: NameAddr): string {
  const display = na.display ? `${quote(na.display)} ` : '';
  let s = `${display}<${na.uri}>`;
  for (const [k, v] of na.params) s += v === null ? `;${k}` : `;${k}=${/^[\w.!%*+`'~-]+$/.test(v) ? v : quote(v)}`;
  return s;
}

function indexOutsideQuotes(text: string, ch: string): number {
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === ch) return i;
  }
  return -1;
}

export interface Via {
  /** 'UDP', 'TCP', 'TLS', 'WS'... upper-case. */
  transport: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;
}

/** Parses one Via value: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`. */
export function parseVia(text: string): Via | undefined {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+(\[[^\]]+\]|[^\s;:]+)(?:\s*:\s*(\d{1,5}))?\s*(?:;(.*))?$/i.exec(text.trim());
  if (!m) return undefined;
  const via: Via = {
    transport: (m[1] as string).toUpperCase(),
    host: (m[2] as string).replace(/^\[|\]$/g, ''),
    params: parseHeaderParams(m[4] ?? ''),
  };
  if (m[3] !== undefined) via.port = Number(m[3]);
  return via;
}

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(text: string): CSeq | undefined {
  const m = /^\s*(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(text);
  if (!m) return undefined;
  const seq = Number(m[1]);
  return seq < 2 ** 31 ? { seq, method: (m[2] as string).toUpperCase() } : undefined;
}

// ---- authentication challenges ------------------------------------------------------------------

export interface Challenge {
  /** Auth scheme as sent ('Digest'). */
  scheme: string;
  /** auth-params with lower-case names; quoted values unquoted. */
  params: Map<string, string>;
}

/**
 * Parses a WWW-Authenticate / Proxy-Authenticate value. SIP sends one challenge per field line,
 * but HTTP-style comma-joined challenges (`Digest a=1, Digest b=2`) are split as well.
 */
export function parseChallenges(value: string): Challenge[] {
  const out: Challenge[] = [];
  let cur: Challenge | undefined;
  let i = 0;
  const s = value;
  const skipWs = () => {
    while (i < s.length && /[\s,]/.test(s[i] as string)) i++;
  };
  while (i < s.length) {
    skipWs();
    const tok = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(s.slice(i));
    if (!tok) break;
    const word = tok[0];
    i += word.length;
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    if (s[i] === '=') {
      i++;
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
      let val = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          val += s[i++];
        }
        i++;
      } else {
        const m = /^[^\s,]*/.exec(s.slice(i));
        val = m ? m[0] : '';
        i += val.length;
      }
      if (!cur) return out; // auth-param before any scheme: malformed
      cur.params.set(word.toLowerCase(), val);
    } else {
      cur = { scheme: word, params: new Map() };
      out.push(cur);
    }
  }
  return out;
}

/** Every challenge in a message's WWW-Authenticate (401) or Proxy-Authenticate (407) fields, in order. */
export function challengesOf(msg: SipMessage, header: 'WWW-Authenticate' | 'Proxy-Authenticate'): Challenge[] {
  return getHeaderLines(msg, header).flatMap(parseChallenges);
}

export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s;
}
