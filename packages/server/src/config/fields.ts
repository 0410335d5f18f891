import type { TSchema } from 'typebox';
import { ConfigSchema } from './schema.js';

/** How a setting given as text (environment variable, flag) is turned into its value. */
export type FieldKind = 'string' | 'integer' | 'number' | 'boolean' | 'json';

/** One leaf setting of the configuration, with every name it goes by. */
export interface ConfigField {
  /** Dotted path in the config object: `auth.jwtSecret`. */
  readonly path: string;
  readonly keys: readonly string[];
  /** `HELIOGRAPH_AUTH_JWT_SECRET` */
  readonly env: string;
  /** `--auth.jwt-secret` */
  readonly flag: string;
  readonly kind: FieldKind;
  readonly schema: TSchema;
  /** Whether the field must end up with a value (every required field has a default). */
  readonly required: boolean;
  /** Secrets can also be read from a file, and their values never appear in messages. */
  readonly secret: boolean;
}

/** One row of the settings table, for `--help` and docs/configuration.md. */
export interface ConfigRow {
  path: string;
  env: string;
  flag: string;
  type: string;
  /** The default as it would be written in an environment variable; undefined when unset. */
  default: string | undefined;
  description: string;
  secret: boolean;
}

/** The JSON Schema keywords the walk reads; TypeBox schemas are plain JSON Schema objects. */
interface SchemaShape {
  type?: string;
  properties?: Record<string, TSchema>;
  required?: readonly string[];
  anyOf?: readonly SchemaShape[];
  const?: unknown;
  default?: unknown;
  description?: string;
  secret?: boolean;
}

/** The flag and the variable naming the JSON config file. */
export const CONFIG_FLAG = '--config';
export const CONFIG_ENV = 'HELIOGRAPH_CONFIG';
const ENV_PREFIX = 'HELIOGRAPH_';
const BOOLEAN_WORDS = new Set(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']);

function shape(schema: TSchema): SchemaShape {
  return schema;
}

function isGroup(schema: TSchema): boolean {
  const s = shape(schema);
  return s.type === 'object' && s.properties !== undefined && Object.keys(s.properties).length > 0;
}

function upperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function kebab(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function kindOf(schema: TSchema): FieldKind {
  const s = shape(schema);
  if (s.type === 'string' || s.type === 'integer' || s.type === 'number' || s.type === 'boolean') {
    return s.type;
  }
  // An enum of string literals (`log.level`) is still written as plain text.
  if (s.anyOf?.every((branch) => branch.type === 'string')) {
    return 'string';
  }
  return 'json';
}

function walk(schema: TSchema, keys: readonly string[], required: boolean, out: ConfigField[]): void {
  if (isGroup(schema)) {
    const s = shape(schema);
    for (const [key, child] of Object.entries(s.properties ?? {})) {
      walk(child, [...keys, key], s.required?.includes(key) ?? false, out);
    }
    return;
  }
  out.push(
    Object.freeze({
      path: keys.join('.'),
      keys: Object.freeze([...keys]),
      env: ENV_PREFIX + keys.map(upperSnake).join('_'),
      flag: `--${keys.map(kebab).join('.')}`,
      kind: kindOf(schema),
      schema,
      required,
      secret: shape(schema).secret === true,
    }),
  );
}

/** Every leaf setting of `ConfigSchema`, in schema order, found by walking the schema once. */
export const CONFIG_FIELDS: readonly ConfigField[] = (() => {
  const out: ConfigField[] = [];
  walk(ConfigSchema, [], true, out);
  return Object.freeze(out);
})();

/** Dotted paths of the objects that group settings (`auth`, `limits`…). */
export const CONFIG_GROUPS: ReadonlySet<string> = new Set(CONFIG_FIELDS.flatMap((f) => f.keys.slice(0, -1).map((_, i) => f.keys.slice(0, i + 1).join('.'))));

/** The environment variable that names a file holding a secret's value. */
export function fileEnv(field: ConfigField): string {
  return `${field.env}_FILE`;
}

/** The flag that names a file holding a secret's value. */
export function fileFlag(field: ConfigField): string {
  return `${field.flag}-file`;
}

/** The key, beside the secret's own key in the JSON file, that names a file holding its value. */
export function fileKey(field: ConfigField): string {
  return `${field.path}File`;
}

const FLAG_ARITY: ReadonlyMap<string, 'value' | 'boolean'> = new Map([
  [CONFIG_FLAG, 'value'],
  ...CONFIG_FIELDS.map((f) => [f.flag, f.kind === 'boolean' ? 'boolean' : 'value'] as const),
  ...CONFIG_FIELDS.filter((f) => f.secret).map((f) => [fileFlag(f), 'value'] as const),
]);

/**
 * How many tokens of `argv`, from the `--flag` at `i`, belong to that configuration flag (1 or
 * 2). Shared by the loader and the CLI's argument parser, so both split argv the same way.
 * Boolean flags take a value only when the next token is one (`--auth.accounts false`); unknown
 * flags swallow a following non-flag token, so that it is not mistaken for an argument.
 */
export function configFlagLength(argv: readonly string[], i: number): 1 | 2 {
  const token = argv[i] ?? '';
  if (token.includes('=')) {
    return 1;
  }
  const next = argv[i + 1];
  if (next === undefined) {
    return 1;
  }
  switch (FLAG_ARITY.get(token)) {
    case 'value':
      return 2;
    case 'boolean':
      return BOOLEAN_WORDS.has(next.toLowerCase()) ? 2 : 1;
    default:
      return next.startsWith('-') ? 1 : 2;
  }
}

/** Result of turning text into a field's value. */
export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

/** Turns text from an environment variable or a flag into a value of the field's type. */
export function coerce(field: ConfigField, text: string): Coerced {
  const got = field.secret ? '' : `, got ${JSON.stringify(text)}`;
  switch (field.kind) {
    case 'string':
      return { ok: true, value: text };
    case 'integer':
      return /^[+-]?\d+$/.test(text.trim()) ? { ok: true, value: Number(text) } : { ok: false, message: `must be an integer${got}` };
    case 'number': {
      const value = Number(text);
      return text.trim() !== '' && Number.isFinite(value) ? { ok: true, value } : { ok: false, message: `must be a number${got}` };
    }
    case 'boolean':
      return coerceBoolean(text, got);
    case 'json':
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch (err) {
        // A parser's message may quote the text, and a secret's text must never be shown.
        return { ok: false, message: field.secret ? 'must be JSON' : `must be JSON (${(err as Error).message})` };
      }
  }
}

function coerceBoolean(text: string, got: string): Coerced {
  const word = text.trim().toLowerCase();
  if (!BOOLEAN_WORDS.has(word)) {
    return { ok: false, message: `must be true or false${got}` };
  }
  return { ok: true, value: word === 'true' || word === '1' || word === 'yes' || word === 'on' };
}

function typeLabel(field: ConfigField): string {
  const s = shape(field.schema);
  if (s.anyOf?.every((branch) => branch.const !== undefined)) {
    return s.anyOf.map((branch) => String(branch.const)).join(' | ');
  }
  return field.kind === 'json' ? `${s.type ?? 'value'} (JSON)` : field.kind;
}

function defaultLabel(field: ConfigField): string | undefined {
  const value = shape(field.schema).default;
  if (value === undefined) {
    return undefined;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The settings table: every field with its names, type, default and description. */
export function describeConfig(): ConfigRow[] {
  return CONFIG_FIELDS.map((field) => ({
    path: field.path,
    env: field.env,
    flag: field.flag,
    type: typeLabel(field),
    default: defaultLabel(field),
    description: shape(field.schema).description ?? '',
    secret: field.secret,
  }));
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The known name that `name` was probably meant to be (same letters, other case or separators). */
export function suggest(name: string, known: Iterable<string>): string | undefined {
  const wanted = normalise(name);
  for (const candidate of known) {
    if (normalise(candidate) === wanted) {
      return candidate;
    }
  }
  return undefined;
}
