import { createHash } from 'node:crypto';

/** What a control-API key may do. */
export type ApiKeyScope = 'read' | 'read-write';

/** A key as the control API keeps it: its id, its scope and the SHA-256 digest of the key. */
export interface KeyDigest {
  keyId: string;
  scope: ApiKeyScope;
  digest: Buffer;
}

/** The SHA-256 digest of a key, as compared and as stored. */
export function apiKeyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
