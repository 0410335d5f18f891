import { describe, expect, it } from 'vitest';
import { DUMMY_HASH, SCRYPT_PARAMS, hashPassword, verifyDummyPassword, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('hashes in the scrypt$N$r$p$salt$hash format and verifies', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const parts = hash.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(parts[4]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5]!, 'base64')).toHaveLength(64);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'));
  });

  it('treats a malformed or hostile stored hash as a mismatch', async () => {
    const hash = await hashPassword('password1');
    for (const bad of [
      '',
      'plain',
      hash.replace('scrypt', 'bcrypt'),
      hash.replace('$16384$', '$1000$'),
      hash.replace('$16384$', '$1073741824$'),
      `${hash}$x`,
    ]) {
      expect(await verifyPassword('password1', bad)).toBe(false);
    }
  });

  it('the dummy hash uses the current parameters and never matches', async () => {
    const { N, r, p } = SCRYPT_PARAMS;
    expect(DUMMY_HASH.startsWith(`scrypt$${N}$${r}$${p}$`)).toBe(true);
    expect(await verifyDummyPassword('anything at all')).toBe(false);
  });
});
