// The configuration reference (docs/configuration.md), generated from the zod schema: every key as a
// dotted path, its default, its unit, how to set it (environment variable, dedicated flag) and its
// meaning. Meanings are the schema's own descriptions (`.describe()`); units are the schema's `unit`
// metadata or, by the naming rule every field follows, the key's suffix. `scripts/gen-config-reference.ts`
// writes the file; test/unit/config-reference.test.ts fails when it is stale.
import { z } from 'zod';
import { configSchema } from './schema.js';

/** One leaf of the schema (a value, not an object of further keys). */
export interface ConfigKey {
  /** Dotted path, e.g. `live.prebufferMs`. */
  path: string;
  /** The default, as the schema yields it for an empty input. */
  defaultValue: unknown;
  /** `ms`, `s`, `bytes`, `bit/s`, `%`, `chunks`, or '' (a count, a name, a switch). */
  unit: string;
  /** What values it takes: `number`, `string`, `true \| false`, an enum's values, `list of …`. */
  type: string;
  /** The schema's description; '' when it has none (a test fails on that). */
  meaning: string;
  /** The environment variable that sets it. */
  env: string;
  /** Dedicated command-line flags that set it (besides `--set PATH=VALUE`). */
  flags: string[];
}

/** An object of the schema: a section of the reference. */
export interface ConfigSection {
  path: string;
  meaning: string;
  keys: ConfigKey[];
}

/**
 * Dedicated flags that write a config key (src/cli/service-commands.ts, live-commands.ts,
 * download-commands.ts, common.ts); every key is also settable with `--set PATH=VALUE`.
 */
export const CONFIG_FLAGS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'node.id': ['--id'],
  'node.name': ['--name'],
  'node.role': ['--role'],
  listen: ['--listen'],
  advertise: ['--advertise'],
  tracker: ['--tracker'],
  control: ['--control'],
  stateDir: ['--state-dir'],
  logLevel: ['--log-level'],
  join: ['--join'],
  watch: ['--watch'],
  record: ['--record'],
  'player.kind': ['--player'],
  'segment.address': ['--segment'],
  'segment.uplinkInterface': ['--uplink'],
  'web.listen': ['--web'],
  'live.chunkMs': ['--chunk-ms'],
  'download.pieceBytes': ['--piece-bytes'],
  'source.channel': ['--channel'],
  'source.input': ['--input'],
  'source.loop': ['--loop'],
  'drm.rightsIssuer': ['--rights-issuer'],
  'drm.protect': ['--protect'],
  'drm.previewS': ['--preview'],
  'drm.previewEveryS': ['--preview-every'],
  'drm.count': ['--count'],
  'drm.intervalS': ['--interval'],
  'drm.notAfter': ['--not-after'],
});

type AnySchema = z.core.$ZodType;
type Def = { type: string; [k: string]: unknown };
const defOf = (s: AnySchema): Def => s._zod.def as unknown as Def;

/** Metadata found on a schema or any wrapper inside it (default, prefault, optional, pipe input). */
function metaOf(schema: AnySchema): { description?: string; unit?: string } {
  const found: { description?: string; unit?: string } = {};
  let cur: AnySchema | undefined = schema;
  while (cur) {
    const meta = z.globalRegistry.get(cur) as { description?: string; unit?: string } | undefined;
    if (meta?.description !== undefined && found.description === undefined) found.description = meta.description;
    if (meta?.unit !== undefined && found.unit === undefined) found.unit = meta.unit;
    cur = innerOf(cur);
  }
  return found;
}

/** The schema a wrapper wraps, or undefined for a leaf or an object. */
function innerOf(schema: AnySchema): AnySchema | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'catch':
      return def.innerType as AnySchema;
    case 'pipe': {
      // z.preprocess(fn, schema) is a pipe from a transform: the schema is the output side.
      const input = def.in as AnySchema;
      return defOf(input).type === 'transform' ? (def.out as AnySchema) : input;
    }
    default:
      return undefined;
  }
}

/** The innermost non-wrapper schema. */
function core(schema: AnySchema): AnySchema {
  let cur = schema;
  for (let next = innerOf(cur); next; next = innerOf(cur)) cur = next;
  return cur;
}

function typeOf(schema: AnySchema): string {
  const s = core(schema);
  const def = defOf(s);
  switch (def.type) {
    case 'enum':
      return Object.values(def.entries as Record<string, string>).join(' \\| ');
    case 'literal':
      return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
    case 'boolean':
      return 'true \\| false';
    case 'array':
      return `list of ${typeOf(def.element as AnySchema)}`;
    case 'union':
      return (def.options as AnySchema[]).map(typeOf).filter((t, i, all) => all.indexOf(t) === i).join(' \\| ');
    default:
      return def.type;
  }
}

/** The unit: the schema's `unit` metadata, else the key's suffix (every field carries its unit in its name). */
function unitOf(key: string, meta: { unit?: string }): string {
  if (meta.unit !== undefined) return meta.unit;
  if (/Ms$/.test(key)) return 'ms';
  if (/[a-z0-9]S$/.test(key)) return 's';
  if (/Bytes$/.test(key)) return 'bytes';
  if (/Bps$/.test(key)) return 'bit/s';
  if (/Pct$/.test(key)) return '%';
  if (/Chunks/.test(key)) return 'chunks';
  return '';
}

/** `live.prebufferMs` → `SUPERDIST_LIVE__PREBUFFER_MS` (the inverse of load.ts's envKeyToPath). */
export function envVarOf(path: string): string {
  return `SUPERDIST_${path
    .split('.')
    .map((seg) => seg.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('__')}`;
}

function valueAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const seg of path) cur = (cur as Record<string, unknown>)[seg];
  return cur;
}

/** Every section and leaf key of the configuration schema, in schema order. */
export function configSections(schema: AnySchema = configSchema): ConfigSection[] {
  const defaults = (schema as z.ZodType).parse({});
  const sections: ConfigSection[] = [];
  const walk = (node: AnySchema, path: string[]): void => {
    const obj = core(node);
    const section: ConfigSection = { path: path.join('.'), meaning: path.length ? (metaOf(node).description ?? '') : '', keys: [] };
    sections.push(section);
    const nested: [AnySchema, string[]][] = [];
    for (const [key, child] of Object.entries(defOf(obj).shape as Record<string, AnySchema>)) {
      const childPath = [...path, key];
      if (defOf(core(child)).type === 'object') {
        nested.push([child, childPath]);
        continue;
      }
      const meta = metaOf(child);
      const dotted = childPath.join('.');
      section.keys.push({
        path: dotted,
        defaultValue: valueAt(defaults, childPath),
        unit: unitOf(key, meta),
        type: typeOf(child),
        meaning: meta.description ?? '',
        env: envVarOf(dotted),
        flags: [...(CONFIG_FLAGS[dotted] ?? [])],
      });
    }
    for (const [child, childPath] of nested) walk(child, childPath);
  };
  walk(schema, []);
  return sections.filter((s) => s.keys.length > 0 || s.path !== '');
}

/** Every leaf key, flattened. */
export function configKeys(schema: AnySchema = configSchema): ConfigKey[] {
  return configSections(schema).flatMap((s) => s.keys);
}

const KIB = 1024;
/** A default as written in the reference, with a readable size or duration beside large numbers. */
function showDefault(value: unknown, unit: string): string {
  const raw = `\`${JSON.stringify(value)}\``;
  if (typeof value !== 'number' || value === 0) return raw;
  if (unit === 'bytes' && value >= KIB && value % KIB === 0) {
    const mib = value / (KIB * KIB);
    return `${raw} (${Number.isInteger(mib) ? `${mib} MiB` : `${value / KIB} KiB`})`;
  }
  if (unit === 'ms' && value >= 60_000 && value % 1000 === 0) return `${raw} (${value / 60_000} min)`;
  if (unit === 'ms' && value >= 1000) return `${raw} (${value / 1000} s)`;
  if (unit === 'bit/s' && value >= 1_000_000) return `${raw} (${value / 1_000_000} Mbit/s)`;
  return raw;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const PREAMBLE = `# Configuration reference

<!-- Generated by \`npx tsx scripts/gen-config-reference.ts\` from the zod schema (src/config/schema.ts
and the sections it includes). Do not edit by hand: test/unit/config-reference.test.ts fails when
this file differs from what the schema generates. -->

One typed schema (\`src/config/schema.ts\`, zod) with a default for every key. Layers, lowest first:

1. defaults (below);
2. a JSON file: \`--config FILE\` or env \`SUPERDIST_CONFIG\`;
3. environment variables \`SUPERDIST_<PATH>\`: \`__\` separates levels, \`_\` starts a capital —
   \`SUPERDIST_ENGINE__MIN_PARTNERS=6\` sets \`engine.minPartners\`; values are JSON when they parse;
4. dedicated flags (\`--tracker\`, \`--listen\`, …; the *flag* column);
5. \`--set engine.minPartners=6\` (repeatable; any key below).

A bad value stops the program with exit code 2 and a message naming the key, the value, where it
came from and what was expected, e.g.

\`\`\`
superdist: invalid configuration:
  engine.minPartners: value "lots" from environment SUPERDIST_ENGINE__MIN_PARTNERS: expected a number
\`\`\`

\`superdist daemon --config FILE --check\` validates a file without starting anything. Units: \`ms\`
milliseconds, \`s\` seconds, \`bit/s\` bits per second, \`%\` percent; a key without a unit is a count, a
name or a switch. Numeric tunables of \`engine\`, \`net\`, \`live\` and \`download\` are whole numbers
≥ 0 (switches there are 0/1).
`;

/** The whole of docs/configuration.md. */
export function renderConfigReference(schema: AnySchema = configSchema): string {
  const out: string[] = [PREAMBLE];
  for (const section of configSections(schema)) {
    out.push(`## ${section.path ? `\`${section.path}\`` : 'Top level'}\n`);
    if (section.meaning) out.push(`${section.meaning}\n`);
    if (section.keys.length === 0) continue;
    out.push('| key | default | unit | type | environment / flag | meaning |');
    out.push('|---|---|---|---|---|---|');
    for (const k of section.keys) {
      const how = [`\`${k.env}\``, ...k.flags.map((f) => `\`${f}\``)].join('<br>');
      out.push(`| \`${k.path}\` | ${cell(showDefault(k.defaultValue, k.unit))} | ${k.unit} | ${k.type} | ${how} | ${cell(k.meaning)} |`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
