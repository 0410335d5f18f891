import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost parameters for new hashes: about 16 MiB and a few tens of milliseconds each. */
export const SCRYPT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 64;
/** Bounds on parameters read back from storage, so a tampered row cannot make verify hang. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

function derive(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  // maxmem must cover 128·N·r bytes plus slack, or scrypt refuses larger N.
  const maxmem = 256 * (options.N ?? SCRYPT_PARAMS.N) * (options.r ?? SCRYPT_PARAMS.r);
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, { ...options, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password as `scrypt$N$r$p$saltB64$hashB64`. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    return null;
  }
  const [N, r, p] = parts.slice(1, 4).map((s) => (/^\d{1,8}$/.test(s) ? Number(s) : NaN)) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const key = Buffer.from(parts[5] ?? '', 'base64');
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) {
    return null;
  }
  if (salt.length === 0 || key.length < 16 || key.length > 256) {
    return null;
  }
  return { N, r, p, salt, key };
}

/** Whether `password` matches a hash from `hashPassword`; false (never a throw) for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) {
    return false;
  }
  const { N, r, p, salt, key } = parsed;
  const actual = await derive(password, salt, key.length, { N, r, p });
  return timingSafeEqual(actual, key);
}

/** A hash of a random, forgotten password. Regenerate it when `SCRYPT_PARAMS` change (a test checks). */
export const DUMMY_HASH = 'scrypt$16384$8$1$PORQrf2ipc3jQRKxV6tMGA==$9aRqLG4C9vKHe7dYlteeY5keb6Xh5u0fPmE2rrWKhaVE82p9lqaqVH1GL3v0j/BxrAkI9SSlM+mCb8P+pZ3ecw==';

/**
 * Spends the same time as a real `verifyPassword` and returns false. Called for unknown users so
 * that response times do not reveal which usernames exist.
 */
export async function verifyDummyPassword(password: string): Promise<false> {
  await verifyPassword(password, DUMMY_HASH);
  return false;
}
