import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../shared/app-error.js';

export type ApiKeyScope = 'read' | 'read-write';

export interface ApiKeyConfig {
  id: string;
  key: string;
  scope: ApiKeyScope;
}

/** Who called: the key's id (never the key) and what it may do. */
export interface ApiCaller {
  keyId: string;
  scope: ApiKeyScope;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * The control API's keys. Only SHA-256 digests are kept in memory after start, and a presented
 * key is compared with every one of them in constant time (digests have one length, and the loop
 * never stops early), so neither timing nor length tells anything about the keys.
 */
export class ApiKeys {
  readonly #keys: ReadonlyArray<{ keyId: string; scope: ApiKeyScope; digest: Buffer }>;

  constructor(keys: readonly ApiKeyConfig[]) {
    this.#keys = keys.map((k) => ({ keyId: k.id, scope: k.scope, digest: digest(k.key) }));
  }

  get size(): number {
    return this.#keys.length;
  }

  authenticate(presented: string): ApiCaller | undefined {
    const given = digest(presented);
    let found: ApiCaller | undefined;
    for (const key of this.#keys) {
      if (timingSafeEqual(given, key.digest) && !found) {
        found = { keyId: key.keyId, scope: key.scope };
      }
    }
    return found;
  }
}

/** Methods a read-only key may use. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * The `onRequest` hook of the control API: `Authorization: Bearer <API key>` is required, and
 * anything but a read needs a read-write key. Runs before body parsing and validation, so an
 * unauthenticated caller learns nothing about the route's schema.
 */
export function apiKeyHook(keys: ApiKeys) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const caller = match?.[1] ? keys.authenticate(match[1]) : undefined;
    if (!caller) {
      void reply.header('www-authenticate', 'Bearer realm="heliograph-control-api"');
      throw new AppError('UNAUTHORIZED', match ? 'Unknown API key' : 'An API key is required: Authorization: Bearer <key>');
    }
    if (caller.scope === 'read' && !READ_METHODS.has(request.method)) {
      throw new AppError('FORBIDDEN', `API key "${caller.keyId}" is read-only`);
    }
    request.log.debug({ apiKey: caller.keyId, method: request.method, route: request.routeOptions.url }, 'control API call');
  };
}
