// SIP wire codec (RFC 3261 §7, §18.3): start line, header fields with line folding and compact
// names, body by Content-Length. parseSipMessage() takes one datagram; SipStreamDecoder frames a
// TCP byte stream (Content-Length is mandatory there) and recognises RFC 5626 CRLF keep-alives.
// Every size is bounded before anything is kept.
import { canonicalHeaderName, getHeader, type SipHeader, type SipMessage } from './sip-message.js';

export class SipParseError extends Error {
  override name = 'SipParseError';
}

export interface SipParseLimits {
  /** Longest header section (start line + headers), bytes. */
  maxHeaderBytes: number;
  /** Longest body, bytes. */
  maxBodyBytes: number;
}

export const DEFAULT_SIP_PARSE_LIMITS: SipParseLimits = { maxHeaderBytes: 32 * 1024, maxBodyBytes: 64 * 1024 };

/** Index just past the empty line ending the header section, and where that section ends. */
function findHeaderEnd(buf: Buffer, from: number): { headEnd: number; bodyStart: number } | undefined {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    // "\n\n" or "\n\r\n": an empty line (bare LF tolerated).
    if (buf[i + 1] === 0x0a) return { headEnd: i, bodyStart: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { headEnd: i, bodyStart: i + 3 };
  }
  return undefined;
}

/** Leading CRLFs before a start line are ignored (RFC 3261 §7.5). */
function skipLeadingCrlf(buf: Buffer, from = 0): number {
  let i = from;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return i;
}

const TOKEN_RE = /^[!%'*+.^_`~0-9A-Za-z-]+$/;

/** Parses the header section text (start line + fields) into a message without body. */
export function parseHead(text: string): SipMessage {
  const lines = text.split(/\r?\n/);
  const start = (lines.shift() ?? '').trim();
  const headers: SipHeader[] = [];
  for (const line of lines) {
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') {
      // Folded continuation (RFC 3261 §7.3.1): joins the previous field with one space.
      const prev = headers[headers.length - 1];
      if (!prev) throw new SipParseError(`header continuation line before any header: ${JSON.stringify(line.slice(0, 60))}`);
      prev.value = `${prev.value} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`malformed header line (no name/colon): ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim();
    if (!TOKEN_RE.test(name)) throw new SipParseError(`malformed header name ${JSON.stringify(name.slice(0, 60))}`);
    headers.push({ name: canonicalHeaderName(name), value: line.slice(colon + 1).trim() });
  }
  const resp = /^SIP\/2\.0\s+(\d{3})(?:\s+(.*))?$/i.exec(start);
  if (resp) {
    return { kind: 'response', status: Number(resp[1]), reason: (resp[2] ?? '').trim(), headers, body: Buffer.alloc(0) };
  }
  const req = /^([!%'*+.^_`~0-9A-Za-z-]+)\s+(\S+)\s+SIP\/2\.0$/i.exec(start);
  if (req) {
    return { kind: 'request', method: (req[1] as string).toUpperCase(), uri: req[2] as string, headers, body: Buffer.alloc(0) };
  }
  throw new SipParseError(`not a SIP/2.0 start line: ${JSON.stringify(start.slice(0, 80))}`);
}

function contentLengthOf(msg: SipMessage): number | undefined {
  const v = getHeader(msg, 'Content-Length');
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v.trim())) throw new SipParseError(`bad Content-Length ${JSON.stringify(v)}`);
  return Number(v.trim());
}

/** Checks the fields every request/response needs to be matched to a transaction. */
function checkMandatory(msg: SipMessage): void {
  for (const name of ['Via', 'Call-ID', 'CSeq', 'From', 'To']) {
    if (getHeader(msg, name) === undefined) throw new SipParseError(`${msg.kind} without mandatory ${name} header`);
  }
}

/**
 * Parses one complete message (a UDP datagram). Without Content-Length the body is the rest of the
 * datagram; with it, the body is cut to that length, and a shorter datagram is an error.
 */
export function parseSipMessage(data: Buffer | string, limits: SipParseLimits = DEFAULT_SIP_PARSE_LIMITS): SipMessage {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const from = skipLeadingCrlf(buf);
  const end = findHeaderEnd(buf, from);
  const headBytes = (end ? end.headEnd : buf.length) - from;
  if (headBytes > limits.maxHeaderBytes) throw new SipParseError(`header section of ${headBytes} bytes exceeds ${limits.maxHeaderBytes}`);
  const msg = parseHead(buf.subarray(from, end ? end.headEnd : buf.length).toString('utf8'));
  checkMandatory(msg);
  const rest = end ? buf.subarray(end.bodyStart) : Buffer.alloc(0);
  const len = contentLengthOf(msg);
  if (len !== undefined && len > rest.length) throw new SipParseError(`body shorter than Content-Length (${rest.length} < ${len})`);
  const bodyLen = len ?? rest.length;
  if (bodyLen > limits.maxBodyBytes) throw new SipParseError(`body of ${bodyLen} bytes exceeds ${limits.maxBodyBytes}`);
  msg.body = Buffer.from(rest.subarray(0, bodyLen));
  return msg;
}

export interface StreamItem {
  message?: SipMessage;
  /** A CRLF CRLF keep-alive ping (RFC 5626 §3.5.1): answer with a single CRLF. */
  ping?: true;
}

/** Frames SIP messages out of a TCP byte stream. push() throws SipParseError on unrecoverable input. */
export class SipStreamDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly limits: SipParseLimits = DEFAULT_SIP_PARSE_LIMITS) {}

  push(chunk: Buffer): StreamItem[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: StreamItem[] = [];
    for (;;) {
      // Keep-alives: a double CRLF between messages is a ping; a single one (a pong) is dropped.
      let i = 0;
      while (this.buf.length - i >= 2 && this.buf[i] === 0x0d && this.buf[i + 1] === 0x0a) {
        if (this.buf.length - i === 3 && this.buf[i + 2] === 0x0d) break; // a ping split across reads
        if (this.buf[i + 2] === 0x0d && this.buf[i + 3] === 0x0a) {
          out.push({ ping: true });
          i += 4;
        } else i += 2;
      }
      if (i > 0) this.buf = this.buf.subarray(i);
      if (this.buf.length === 0 || (this.buf[0] === 0x0d && this.buf.length <= 3)) return out;
      const end = findHeaderEnd(this.buf, 0);
      if (!end) {
        if (this.buf.length > this.limits.maxHeaderBytes) {
          throw new SipParseError(`no end of headers within ${this.limits.maxHeaderBytes} bytes`);
        }
        return out;
      }
      if (end.headEnd > this.limits.maxHeaderBytes) throw new SipParseError(`header section exceeds ${this.limits.maxHeaderBytes} bytes`);
      const msg = parseHead(this.buf.subarray(0, end.headEnd).toString('utf8'));
      checkMandatory(msg);
      const len = contentLengthOf(msg);
      if (len === undefined) throw new SipParseError(`${msg.kind} over a stream without Content-Length`);
      if (len > this.limits.maxBodyBytes) throw new SipParseError(`body of ${len} bytes exceeds ${this.limits.maxBodyBytes}`);
      if (this.buf.length < end.bodyStart + len) return out;
      msg.body = Buffer.from(this.buf.subarray(end.bodyStart, end.bodyStart + len));
      this.buf = this.buf.subarray(end.bodyStart + len);
      out.push({ message: msg });
    }
  }

  /** Bytes held waiting for the rest of a message. */
  get pending(): number {
    return this.buf.length;
  }
}

/** Serializes a message with a correct Content-Length (any given one is replaced). */
export function serializeSipMessage(msg: SipMessage): Buffer {
  const start = msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  const lines = [start];
  for (const h of msg.headers) {
    if (h.name.toLowerCase() === 'content-length') continue;
    if (/[\r\n]/.test(h.value)) throw new Error(`header ${h.name} value contains a line break`);
    lines.push(`${h.name}: ${h.value}`);
  }
  lines.push(`Content-Length: ${msg.body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8');
  return msg.body.length ? Buffer.concat([head, msg.body]) : head;
}
