// Loads the configuration from, in rising priority: defaults, a JSON file, SUPERDIST_* environment
// variables and command-line flags. Any invalid value is reported with its field, value, source and
// what was expected; callers exit with code 2.
import { readFileSync } from 'node:fs';
import { configSchema, type Config } from './schema.js';
import { defaultStateDir, systemStateDirProbe, type StateDirProbe } from './state-dir.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Plain = Record<string, unknown>;
export interface ConfigLayers {
  /** Path of a JSON config file, if any. */
  file?: string;
  /** Environment (only SUPERDIST_* variables are read). */
  env?: NodeJS.ProcessEnv;
  /** Values from dedicated flags, as a partial config object. */
  flags?: Plain;
  /** Generic overrides `dotted.path=value` (from repeated --set). */
  sets?: string[];
  /** Decides the state directory when no layer sets one (default: this process's uid and files). */
  stateDirProbe?: StateDirProbe;
}

const ENV_PREFIX = 'SUPERDIST_';
/** Environment variables that are not configuration. */
const ENV_IGNORED = new Set(['SUPERDIST_CONFIG']);

/** SUPERDIST_ENGINE__MIN_PARTNERS → ['engine', 'minPartners']. */
export function envKeyToPath(key: string): string[] {
  return key
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((seg) => seg.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
}

/** A value from text: JSON when it parses (numbers, booleans, arrays), the raw string otherwise. */
function parseScalar(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function setPath(target: Plain, path: string[], value: unknown): void {
  let obj = target;
  for (const seg of path.slice(0, -1)) {
    const next = obj[seg];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) obj[seg] = {};
    obj = obj[seg] as Plain;
  }
  obj[path[path.length - 1] as string] = value;
}

function getPath(obj: unknown, path: PropertyKey[]): unknown {
  let cur = obj;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** Deep merge of plain objects (arrays and scalars replace); records where each leaf came from. */
function merge(base: Plain, layer: Plain, source: string, sources: Map<string, string>, prefix = ''): void {
  for (const [k, v] of Object.entries(layer)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const cur = base[k];
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) base[k] = {};
      merge(base[k] as Plain, v as Plain, source, sources, key);
    } else if (v !== undefined) {
      base[k] = v;
      sources.set(key, source);
    }
  }
}

function readFileLayer(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file}: expected a JSON object at the top level`);
  }
  return parsed as Plain;
}

/** Builds the merged raw input (before validation) and where each value came from. */
export function mergeLayers(layers: ConfigLayers): { input: Plain; sources: Map<string, string> } {
  const input: Plain = {};
  const sources = new Map<string, string>();
  if (layers.file) merge(input, readFileLayer(layers.file), `config file ${layers.file}`, sources);
  for (const [key, value] of Object.entries(layers.env ?? {})) {
    if (!key.startsWith(ENV_PREFIX) || ENV_IGNORED.has(key) || value === undefined) continue;
    const layer: Plain = {};
    setPath(layer, envKeyToPath(key), parseScalar(value));
    merge(input, layer, `environment ${key}`, sources);
  }
  if (layers.flags) merge(input, layers.flags, 'command line', sources);
  for (const set of layers.sets ?? []) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${JSON.stringify(set)}: expected PATH=VALUE, e.g. engine.minPartners=6`);
    const layer: Plain = {};
    setPath(layer, set.slice(0, eq).split('.'), parseScalar(set.slice(eq + 1)));
    merge(input, layer, `--set ${set.slice(0, eq)}`, sources);
  }
  return { input, sources };
}

/** Loads and validates; throws ConfigError naming every bad field, its value and what was expected. */
export function loadConfig(layers: ConfigLayers = {}): Config {
  const { input, sources } = mergeLayers(layers);
  const result = configSchema.safeParse(input);
  if (result.success) {
    // No layer names a state directory: the schema's default, unless this user may not write there.
    if (!sources.has('stateDir')) result.data.stateDir = defaultStateDir(result.data.stateDir, layers.stateDirProbe ?? systemStateDirProbe(layers.env ?? process.env)).dir;
    return result.data;
  }
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const value = getPath(input, issue.path);
    const source = sources.get(path);
    const shown = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : `value ${JSON.stringify(value)}`;
    return `  ${path || '(top level)'}: ${shown}${source ? ` from ${source}` : ''}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
