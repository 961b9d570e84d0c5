// Parsing of HOST:PORT strings used in config and on the command line.
import type { Contact } from '../protocol/messages.js';

/** Parses `host:port` or `[v6addr]:port`; returns an error text instead of throwing. */
export function parseHostPort(text: string): Contact | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) return `expected HOST:PORT (for example 127.0.0.1:7878), got ${JSON.stringify(text)}`;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `port must be 0..65535, got ${m[2]}`;
  return { host: m[1] as string, port };
}

export function formatContact(c: Contact): string {
  return c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
}
