import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Compile } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';
import {
  CONFIG_ENV,
  CONFIG_FIELDS,
  CONFIG_FLAG,
  CONFIG_GROUPS,
  coerce,
  configFlagLength,
  fileEnv,
  fileFlag,
  fileKey,
  suggest,
  type ConfigField,
} from './fields.js';
import { ConfigSchema, type Config } from './schema.js';
import { deepFreeze, getDeep, isPlainObject, setDeep } from './object-paths.js';

export { configFlagLength, describeConfig, type ConfigRow } from './fields.js';

/** Everything `loadConfig` reads besides files: passed in, so that it never touches `process`. */
export interface LoadConfigInput {
  /** Configuration flags only (`--port 0`, `--config file.json`); the CLI takes out its own first. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (config file, secret files, dataDir, TLS files) resolve against this. */
  cwd: string;
}

/** A deep-frozen config, or every problem found, each naming the field and its source. */
export type LoadConfigResult = { config: Config } | { errors: string[] };

/** The file read from cwd when neither `--config` nor `HELIOGRAPH_CONFIG` names one. */
export const DEFAULT_CONFIG_FILE = 'heliograph.config.json';
/** Settings that hold filesystem paths, made absolute against cwd. */
const PATH_FIELDS = ['dataDir', 'tls.cert', 'tls.key'];
/** `openDatabase`'s in-memory database: a name, not a directory. */
const IN_MEMORY = ':memory:';

const BY_PATH = new Map(CONFIG_FIELDS.map((f) => [f.path, f]));
const BY_ENV = new Map(CONFIG_FIELDS.map((f) => [f.env, f]));
const BY_FLAG = new Map(CONFIG_FIELDS.map((f) => [f.flag, f]));
const SECRETS = CONFIG_FIELDS.filter((f) => f.secret);
const SECRET_BY_FILE_ENV = new Map(SECRETS.map((f) => [fileEnv(f), f]));
const SECRET_BY_FILE_FLAG = new Map(SECRETS.map((f) => [fileFlag(f), f]));
const SECRET_BY_FILE_KEY = new Map(SECRETS.map((f) => [fileKey(f), f]));
const ALL_ENV = [CONFIG_ENV, ...BY_ENV.keys(), ...SECRET_BY_FILE_ENV.keys()];
const ALL_FLAGS = [CONFIG_FLAG, ...BY_FLAG.keys(), ...SECRET_BY_FILE_FLAG.keys()];
const ALL_KEYS = [...BY_PATH.keys(), ...SECRET_BY_FILE_KEY.keys()];

/** One validator per field: a whole-config check stops after 8 errors, and we report them all. */
const FIELD_VALIDATORS = new Map(CONFIG_FIELDS.map((f) => [f.path, Compile(f.schema)]));
const CONFIG_VALIDATOR = Compile(ConfigSchema);

interface Setting {
  value: unknown;
  source: string;
}

/** What the sources said so far: the winning value of each field, and every problem found. */
interface Gathered {
  readonly settings: Map<string, Setting>;
  readonly errors: string[];
  readonly cwd: string;
}

/**
 * Builds the configuration from, later ones winning: schema defaults, the JSON file, the
 * `HELIOGRAPH_*` environment variables, then the flags. Reports every problem at once, each
 * naming the field and where its value came from. The config is deep-frozen.
 */
export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const g: Gathered = { settings: new Map(), errors: [], cwd: input.cwd };
  const flags = tokenizeFlags(input.argv);
  const file = chooseConfigFile(flags.values, input.env, g);
  if (file) {
    readConfigFile(file, g);
  }
  readEnv(input.env, g);
  readFlags(flags, g);

  const config = assemble(g.settings);
  validateFields(config, g);
  crossCheck(config, g);
  if (g.errors.length === 0 && !CONFIG_VALIDATOR.Check(config)) {
    // Only reachable if the schema grows a shape the field walk does not understand.
    g.errors.push(...CONFIG_VALIDATOR.Errors(config).map((e) => `${e.instancePath || '/'}: ${e.message}`));
  }
  if (g.errors.length > 0) {
    return { errors: g.errors };
  }
  return { config: deepFreeze(resolvePaths(config as Config, input.cwd)) };
}

// ---- sources -------------------------------------------------------------------------------

function put(g: Gathered, field: ConfigField, value: unknown, source: string): void {
  g.settings.set(field.path, { value, source });
}

function putText(g: Gathered, field: ConfigField, text: string, source: string): void {
  const result = coerce(field, text);
  if (result.ok) {
    put(g, field, result.value, source);
  } else {
    g.errors.push(`${field.path}: ${result.message} (from ${source})`);
  }
}

function putSecretFile(g: Gathered, field: ConfigField, file: string, source: string): void {
  try {
    // `echo secret > file` leaves a newline that is not part of the secret. A JSON secret (API keys) is parsed.
    putText(g, field, readFileSync(resolve(g.cwd, file), 'utf8').replace(/[\r\n]+$/, ''), source);
  } catch (err) {
    g.errors.push(`${field.path}: cannot read ${file}: ${(err as Error).message} (from ${source})`);
  }
}

function rejectSecretTwice(g: Gathered, has: (name: string) => boolean, names: (f: ConfigField) => [string, string], where = ''): void {
  for (const field of SECRETS) {
    const [direct, fromFile] = names(field);
    if (has(direct) && has(fromFile)) {
      g.errors.push(`${field.path}: set ${direct} or ${fromFile}, not both${where}`);
    }
  }
}

function unknownName(name: string, what: string, known: readonly string[], source = ''): string {
  const hint = suggest(name, known);
  return `${name}: unknown ${what}${hint ? ` (did you mean ${hint}?)` : ''}${source}`;
}

interface Flags {
  /** Flag name → its text, undefined for a bare flag; the last of a repeated flag wins. */
  values: Map<string, string | undefined>;
  /** Tokens that are not flags, reported with the other flag problems. */
  strays: string[];
}

/** Short flags the issue tracker and operators expect, mapped to their settings. */
const FLAG_ALIASES: ReadonlyMap<string, string> = new Map([['--redis', '--redis.url']]);

/** Reads `--name value`, `--name=value` and bare boolean `--name`s. */
function tokenizeFlags(argv: readonly string[]): Flags {
  const flags: Flags = { values: new Map(), strays: [] };
  for (let i = 0; i < argv.length;) {
    const token = argv[i] ?? '';
    if (!token.startsWith('--') || token === '--') {
      flags.strays.push(`unexpected argument ${JSON.stringify(token)}`);
      i++;
      continue;
    }
    const length = configFlagLength(argv, i);
    const eq = token.indexOf('=');
    const name = FLAG_ALIASES.get(eq < 0 ? token : token.slice(0, eq)) ?? (eq < 0 ? token : token.slice(0, eq));
    flags.values.set(name, eq < 0 ? (length === 2 ? argv[i + 1] : undefined) : token.slice(eq + 1));
    i += length;
  }
  return flags;
}

function readFlags(flags: Flags, g: Gathered): void {
  g.errors.push(...flags.strays);
  for (const [name, value] of flags.values) {
    const field = BY_FLAG.get(name);
    const secret = SECRET_BY_FILE_FLAG.get(name);
    if (name === CONFIG_FLAG) {
      continue;
    } else if (field) {
      if (value === undefined && field.kind !== 'boolean') {
        g.errors.push(`${field.path}: ${name} needs a value`);
      } else {
        putText(g, field, value ?? 'true', name);
      }
    } else if (secret) {
      if (value === undefined) {
        g.errors.push(`${secret.path}: ${name} needs a file path`);
      } else {
        putSecretFile(g, secret, value, name);
      }
    } else {
      g.errors.push(unknownName(name, 'flag', ALL_FLAGS));
    }
  }
  rejectSecretTwice(
    g,
    (name) => flags.values.has(name),
    (f) => [f.flag, fileFlag(f)],
  );
}

function readEnv(env: LoadConfigInput['env'], g: Gathered): void {
  // Empty counts as unset: compose files expand `${UNSET_VAR}` to the empty string.
  const given = (name: string) => env[name] !== undefined && env[name] !== '';
  const names = Object.keys(env)
    .filter((name) => name.startsWith('HELIOGRAPH_') && given(name))
    .sort();
  for (const name of names) {
    const value = env[name] ?? '';
    const field = BY_ENV.get(name);
    const secret = SECRET_BY_FILE_ENV.get(name);
    if (name === CONFIG_ENV) {
      continue;
    } else if (field) {
      putText(g, field, value, name);
    } else if (secret) {
      putSecretFile(g, secret, value, name);
    } else {
      g.errors.push(unknownName(name, 'environment variable', ALL_ENV));
    }
  }
  rejectSecretTwice(g, given, (f) => [f.env, fileEnv(f)]);
}

interface ConfigFile {
  path: string;
  /** As the user wrote it, for messages. */
  label: string;
  /** False for the default file, which may be absent. */
  required: boolean;
}

function chooseConfigFile(flags: ReadonlyMap<string, string | undefined>, env: LoadConfigInput['env'], g: Gathered): ConfigFile | undefined {
  if (flags.has(CONFIG_FLAG)) {
    const label = flags.get(CONFIG_FLAG);
    if (label === undefined || label === '') {
      g.errors.push(`${CONFIG_FLAG} needs a file path`);
      return undefined;
    }
    return { path: resolve(g.cwd, label), label, required: true };
  }
  const fromEnv = env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { path: resolve(g.cwd, fromEnv), label: fromEnv, required: true };
  }
  return { path: resolve(g.cwd, DEFAULT_CONFIG_FILE), label: DEFAULT_CONFIG_FILE, required: false };
}

function readConfigFile(file: ConfigFile, g: Gathered): void {
  let text: string;
  try {
    text = readFileSync(file.path, 'utf8');
  } catch (err) {
    if (file.required || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      g.errors.push(`${file.label}: cannot read the config file: ${(err as Error).message}`);
    }
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    g.errors.push(`${file.label}: not valid JSON: ${(err as Error).message}`);
    return;
  }
  if (!isPlainObject(parsed)) {
    g.errors.push(`${file.label}: must hold a JSON object`);
    return;
  }
  readFileObject(parsed, '', file.label, g);
  rejectSecretTwice(
    g,
    (path) => getDeep(parsed, path.split('.')) !== undefined,
    (f) => [f.path, fileKey(f)],
    ` (in ${file.label})`,
  );
}

function readFileObject(object: Record<string, unknown>, prefix: string, label: string, g: Gathered): void {
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const field = BY_PATH.get(path);
    const secret = SECRET_BY_FILE_KEY.get(path);
    if (field) {
      put(g, field, value, label);
    } else if (CONFIG_GROUPS.has(path)) {
      if (isPlainObject(value)) {
        readFileObject(value, path, label, g);
      } else {
        g.errors.push(`${path}: must be an object (from ${label})`);
      }
    } else if (secret) {
      if (typeof value === 'string') {
        putSecretFile(g, secret, value, `${path} in ${label}`);
      } else {
        g.errors.push(`${path}: must be a file path (from ${label})`);
      }
    } else if (path !== '$schema') {
      // `$schema` is allowed so that editors can offer completion from a JSON Schema.
      g.errors.push(unknownName(path, 'setting', ALL_KEYS, ` (in ${label})`));
    }
  }
}

// ---- validation ----------------------------------------------------------------------------

function assemble(settings: ReadonlyMap<string, Setting>): unknown {
  const raw: Record<string, unknown> = {};
  for (const [path, { value }] of settings) {
    setDeep(raw, path.split('.'), value);
  }
  // A copy, so that the frozen result shares nothing with the schema's defaults or the caller.
  return structuredClone(CONFIG_VALIDATOR.Default(raw));
}

function sourceOf(g: Gathered, path: string): string {
  const setting = g.settings.get(path);
  return setting ? `from ${setting.source}` : 'default';
}

function validateFields(config: unknown, g: Gathered): void {
  for (const field of CONFIG_FIELDS) {
    const value = getDeep(config, field.keys);
    const source = sourceOf(g, field.path);
    if (value === undefined) {
      if (field.required) {
        g.errors.push(`${field.path}: is required (${source})`);
      }
      continue;
    }
    const validator = FIELD_VALIDATORS.get(field.path);
    if (validator && !validator.Check(value)) {
      for (const issue of summariseErrors(validator.Errors(value))) {
        g.errors.push(`${field.path}${issue.at}: ${issue.message} (${source})`);
      }
    }
  }
}

/** One message per place in the value; the branches of a failed union become one message. */
function summariseErrors(errors: readonly TLocalizedValidationError[]): { at: string; message: string }[] {
  const byPointer = new Map<string, TLocalizedValidationError[]>();
  for (const error of errors) {
    byPointer.set(error.instancePath, [...(byPointer.get(error.instancePath) ?? []), error]);
  }
  return [...byPointer].map(([pointer, group]) => ({ at: pointerToPath(pointer), message: summarise(group) }));
}

function summarise(group: readonly TLocalizedValidationError[]): string {
  const branches = group.filter((e) => /\/anyOf\/\d+$/.test(e.schemaPath));
  const allowed = branches.flatMap((e) => (e.keyword === 'const' ? [e.params.allowedValue] : []));
  const types = branches.flatMap((e) => (e.keyword === 'type' ? [(e.params as { type: unknown }).type] : []));
  if (branches.length > 0 && allowed.length === branches.length) {
    return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (branches.length > 0 && types.length === branches.length) {
    return `must be ${types.map(String).join(' or ')}`;
  }
  return [...new Set(group.map((e) => e.message))].join('; ');
}

/** `/0/urls` → `[0].urls`, appended to the field's path. */
function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`))
    .join('');
}

function crossCheck(config: unknown, g: Gathered): void {
  const cert = getDeep(config, ['tls', 'cert']);
  const key = getDeep(config, ['tls', 'key']);
  if (cert !== undefined && key === undefined) {
    g.errors.push(`tls.key: is required when tls.cert is set (tls.cert ${sourceOf(g, 'tls.cert')})`);
  }
  if (key !== undefined && cert === undefined) {
    g.errors.push(`tls.cert: is required when tls.key is set (tls.key ${sourceOf(g, 'tls.key')})`);
  }
  for (const [when, needs] of [
    ['roomService.url', 'roomService.secret'],
    ['webhooks.url', 'webhooks.secret'],
  ] as const) {
    if (getDeep(config, when.split('.')) !== undefined && getDeep(config, needs.split('.')) === undefined) {
      g.errors.push(`${needs}: is required when ${when} is set (${when} ${sourceOf(g, when)})`);
    }
  }
  const turnUrls = getDeep(config, ['turn', 'urls']);
  if (Array.isArray(turnUrls) && turnUrls.length > 0 && getDeep(config, ['turn', 'secret']) === undefined) {
    g.errors.push(`turn.secret: is required when turn.urls is set (turn.urls ${sourceOf(g, 'turn.urls')})`);
  }
  const ttl = getDeep(config, ['auth', 'tokenTtlSeconds']);
  const maxTtl = getDeep(config, ['auth', 'maxTokenTtlSeconds']);
  if (typeof ttl === 'number' && typeof maxTtl === 'number' && ttl > maxTtl) {
    g.errors.push(
      `auth.tokenTtlSeconds: must be <= auth.maxTokenTtlSeconds, ${ttl} > ${maxTtl} ` +
        `(${sourceOf(g, 'auth.tokenTtlSeconds')}; auth.maxTokenTtlSeconds ${sourceOf(g, 'auth.maxTokenTtlSeconds')})`,
    );
  }
  checkDistinctPorts(config, g);
  const soft = getDeep(config, ['limits', 'maxFrameBytes']);
  const hard = getDeep(config, ['limits', 'hardFrameBytes']);
  if (typeof soft === 'number' && typeof hard === 'number' && hard < soft) {
    g.errors.push(
      `limits.hardFrameBytes: must be >= limits.maxFrameBytes, ${hard} < ${soft} ` +
        `(${sourceOf(g, 'limits.hardFrameBytes')}; limits.maxFrameBytes ${sourceOf(g, 'limits.maxFrameBytes')})`,
    );
  }
}

/** The ports a node listens on must differ, or the second listen fails (0 picks a free one each). */
function checkDistinctPorts(config: unknown, g: Gathered): void {
  const ps = (key: string) => getDeep(config, ['pixelStreaming', key]);
  const ports: Array<[string, unknown]> = [['port', getDeep(config, ['port'])]];
  if (ps('enabled') === true) {
    ports.push(['pixelStreaming.streamerPort', ps('streamerPort')]);
    if (ps('sfuEnabled') === true) {
      ports.push(['pixelStreaming.sfuPort', ps('sfuPort')]);
    }
  }
  ports.forEach(([path, port], i) => {
    const earlier = ports.slice(0, i).find(([, other]) => typeof port === 'number' && port !== 0 && other === port);
    if (earlier) {
      g.errors.push(`${path}: must differ from ${earlier[0]}, both are ${String(port)} (${sourceOf(g, path)}; ${earlier[0]} ${sourceOf(g, earlier[0])})`);
    }
  });
}

// ---- helpers -------------------------------------------------------------------------------

function resolvePaths(config: Config, cwd: string): Config {
  for (const path of PATH_FIELDS) {
    const keys = path.split('.');
    const value = getDeep(config, keys);
    if (typeof value === 'string' && value !== IN_MEMORY) {
      setDeep(config, keys, resolve(cwd, value));
    }
  }
  return config;
}
