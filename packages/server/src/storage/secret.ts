import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../shared/app-error.js';
import { StartupError } from '../shared/startup-error.js';
import { dataDirError, isInMemory, prepareDataDir } from './data-dir.js';

export const SECRET_FILE = 'jwt-secret';
/** 32 random bytes in base64url. Shorter files were edited by hand and are refused. */
const MIN_SECRET_LENGTH = 32;

/** The HS256 signing secret of a node, and where it came from (for the start-up summary). */
export interface SigningSecret {
  secret: string;
  /** `stored`: read from `file`; `generated`: just written to `file`; `memory`: dataDir is `:memory:`. */
  origin: 'stored' | 'generated' | 'memory';
  /** `dataDir/jwt-secret`, unless in memory. */
  file?: string;
}

/**
 * The HS256 signing secret kept in `dataDir/jwt-secret`, generating 32 random bytes (base64url)
 * with file mode 0600 on first use. With dataDir `:memory:` a fresh secret is generated and kept
 * nowhere: tokens signed with it die with the process.
 */
export function openSigningSecret(dataDir: string): SigningSecret {
  if (isInMemory(dataDir)) {
    return { secret: randomSecret(), origin: 'memory' };
  }
  prepareDataDir(dataDir);
  const file = join(dataDir, SECRET_FILE);
  try {
    const stored = readSecret(file);
    return stored === null ? { secret: createSecret(file), origin: 'generated', file } : { secret: stored, origin: 'stored', file };
  } catch (err) {
    throw err instanceof StartupError ? err : dataDirError(`cannot read or create the signing secret ${file}`, err);
  }
}

/** The secret alone: see `openSigningSecret`. */
export function loadOrCreateSecret(dataDir: string): string {
  return openSigningSecret(dataDir).secret;
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

function readSecret(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      return null;
    }
    throw err;
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new StartupError(
      'dataDir',
      `${file} holds fewer than ${MIN_SECRET_LENGTH} characters`,
      'delete it to generate a new secret (tokens signed with the old one stop working), or set auth.jwtSecret',
    );
  }
  return secret;
}

/**
 * Writes the secret to a private temp file, then hard-links it into place. link() fails when the
 * target exists, so when two processes race, exactly one wins and the other reads the winner's
 * secret, and no reader ever sees a half-written file.
 */
function createSecret(file: string): string {
  const secret = randomSecret();
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writePrivateFile(temp, secret, 'wx');
  try {
    linkSync(temp, file);
    return secret;
  } catch (err) {
    const code = errorCode(err);
    if (code === 'EEXIST') {
      return existingSecret(file);
    }
    if (!NO_HARD_LINKS.has(code ?? '')) {
      throw err;
    }
  } finally {
    unlinkSync(temp);
  }
  // This filesystem has no hard links: fall back to an exclusive create.
  try {
    writePrivateFile(file, secret, 'wx');
    return secret;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') {
      return existingSecret(file);
    }
    throw err;
  }
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function existingSecret(file: string): string {
  const secret = readSecret(file);
  if (secret === null) {
    throw new AppError('INTERNAL', `${file} vanished while it was being created`);
  }
  return secret;
}

function writePrivateFile(path: string, content: string, flag: string): void {
  const fd = openSync(path, flag, 0o600);
  try {
    writeSync(fd, `${content}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
