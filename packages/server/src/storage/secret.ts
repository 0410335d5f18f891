import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../shared/app-error.js';

export const SECRET_FILE = 'jwt-secret';
/** 32 random bytes in base64url. Shorter files were edited by hand and are refused. */
const MIN_SECRET_LENGTH = 32;

/**
 * Returns the HS256 signing secret kept in `dataDir/jwt-secret`, generating 32 random bytes
 * (base64url) with file mode 0600 on first use.
 */
export function loadOrCreateSecret(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SECRET_FILE);
  return readSecret(file) ?? createSecret(file);
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
    throw new AppError('INTERNAL', `${file} holds fewer than ${MIN_SECRET_LENGTH} characters; delete it to generate a new secret`);
  }
  return secret;
}

/**
 * Writes the secret to a private temp file, then hard-links it into place. link() fails when the
 * target exists, so when two processes race, exactly one wins and the other reads the winner's
 * secret, and no reader ever sees a half-written file.
 */
function createSecret(file: string): string {
  const secret = randomBytes(32).toString('base64url');
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
