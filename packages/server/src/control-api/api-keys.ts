import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../shared/app-error.js';
import type { ApiKeyStore } from './api-key-store.js';
import { apiKeyDigest, type ApiKeyScope, type KeyDigest } from './key-digest.js';

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

/**
 * The control API's keys: those of `controlApi.keys` and those of `stored` (the database, with
 * `heliograph keys`). Only SHA-256 digests are kept, and a presented key is compared with every
 * one of them in constant time (digests have one length, and the loop never stops early), so
 * neither timing nor length tells anything about the keys.
 */
export class ApiKeys {
  readonly #configured: readonly KeyDigest[];

  constructor(
    keys: readonly ApiKeyConfig[],
    /** The keys of the database, where `heliograph keys` and dev mode make them. */
    readonly stored?: ApiKeyStore,
  ) {
    this.#configured = keys.map((k) => ({ keyId: k.id, scope: k.scope, digest: apiKeyDigest(k.key) }));
  }

  /** How many keys are configured and stored right now. */
  count(): { configured: number; stored: number } {
    return { configured: this.#configured.length, stored: this.stored?.digests().length ?? 0 };
  }

  /**
   * The caller of `presented`, or undefined. The stored keys are read afresh each time, so that a
   * revoked key is refused from the next request on, whichever process revoked it.
   */
  authenticate(presented: string): ApiCaller | undefined {
    const given = apiKeyDigest(presented);
    let found: ApiCaller | undefined;
    for (const key of [...this.#configured, ...(this.stored?.digests() ?? [])]) {
      // A stored digest of another length could only come from a damaged database.
      if (key.digest.length === given.length && timingSafeEqual(given, key.digest) && !found) {
        found = { keyId: key.keyId, scope: key.scope };
      }
    }
    return found;
  }
}

/** Who else may call: an operator signed in to the console with a built-in admin account. */
export interface ConsoleSessions {
  authenticate(token: string): Promise<ApiCaller | undefined>;
}

/** A console session is a JWT; API keys (`hgk_…`, or configured) never have this shape. */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The caller of each authenticated request, set by the hook. */
const callers = new WeakMap<FastifyRequest, ApiCaller>();

/** Who made this control API request (after `apiKeyHook` let it through). */
export function callerOf(request: FastifyRequest): ApiCaller | undefined {
  return callers.get(request);
}

/** Throws FORBIDDEN unless the request came with a read-write key (for a GET that acts, like the inspector). */
export function requireWriteScope(request: FastifyRequest, what: string): ApiCaller {
  const caller = callers.get(request);
  if (caller?.scope !== 'read-write') {
    throw new AppError('FORBIDDEN', `${what} needs a read-write API key`);
  }
  return caller;
}

/**
 * The audit line of a control API call that changes something (anything but GET and HEAD): who
 * (the key's id, never the key), what (method, route, its parameters) and the outcome (status).
 */
export async function auditHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (READ_METHODS.has(request.method)) {
    return;
  }
  const caller = callers.get(request);
  request.log.info(
    { audit: true, apiKey: caller?.keyId ?? null, method: request.method, route: request.routeOptions.url, params: request.params, status: reply.statusCode },
    'control API audit',
  );
}

/** Methods a read-only key may use. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * The `onRequest` hook of the control API: `Authorization: Bearer <API key>` is required, and
 * anything but a read needs a read-write key. Runs before body parsing and validation, so an
 * unauthenticated caller learns nothing about the route's schema.
 */
export function apiKeyHook(keys: ApiKeys, sessions?: ConsoleSessions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const presented = match?.[1];
    const session = presented !== undefined && JWT_SHAPE.test(presented) ? await sessions?.authenticate(presented) : undefined;
    const caller = presented === undefined ? undefined : (session ?? keys.authenticate(presented));
    if (!caller) {
      void reply.header('www-authenticate', 'Bearer realm="heliograph-control-api"');
      throw new AppError('UNAUTHORIZED', match ? 'Unknown API key' : 'An API key is required: Authorization: Bearer <key>');
    }
    callers.set(request, caller);
    if (caller.scope === 'read' && !READ_METHODS.has(request.method)) {
      throw new AppError('FORBIDDEN', `API key "${caller.keyId}" is read-only`);
    }
    request.log.debug({ apiKey: caller.keyId, method: request.method, route: request.routeOptions.url }, 'control API call');
  };
}
