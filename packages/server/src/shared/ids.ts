import { randomBytes } from 'node:crypto';

/** Makes unique ids; injected so that tests can make predictable ones. */
export type IdGenerator = (prefix: string) => string;

/** 12 random bytes, base64url: unguessable and short. Bytes are drawn in batches. */
export function randomIds(): IdGenerator {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return (prefix) => {
    if (offset + 12 > pool.length) {
      pool = randomBytes(12 * 256);
      offset = 0;
    }
    const id = pool.toString('base64url', offset, offset + 12);
    offset += 12;
    return `${prefix}_${id}`;
  };
}

/** Predictable ids for tests: `PR_1`, `PR_2`… */
export function sequentialIds(): IdGenerator {
  let n = 0;
  return (prefix) => `${prefix}_${++n}`;
}
