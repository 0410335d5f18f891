import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../auth/identity.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { AppError } from '../shared/app-error.js';
import { requestUrl, tokenFromRequest } from '../transport/upgrade.js';
import type { StreamerCredential } from './endpoints.js';

/** The token of `?token=` or `Authorization: Bearer`. */
function tokenOf(req: IncomingMessage): string {
  const token = tokenFromRequest(req, requestUrl(req));
  if (!token) {
    throw new AppError('UNAUTHORIZED', 'missing token');
  }
  return token;
}

/** A player's identity from its token; undefined when auth is off. */
export async function authenticatePlayer(req: IncomingMessage, verifier: TokenVerifier, required: boolean): Promise<Identity | undefined> {
  return required ? verifier.verify(tokenOf(req)) : undefined;
}

export interface StreamerAuthOptions {
  verifier: TokenVerifier;
  required: boolean;
  /** The shared streamer token, when configured. */
  streamerToken: string | undefined;
}

/**
 * How a streamer or SFU proves itself: the shared streamer token (any allowed id) or a JWT
 * (only the ids it may `create` as `ps:<id>`, checked at `endpointId`).
 */
export async function authenticateStreamer(req: IncomingMessage, opts: StreamerAuthOptions): Promise<StreamerCredential> {
  if (!opts.required) {
    return { kind: 'none' };
  }
  const token = tokenOf(req);
  if (opts.streamerToken !== undefined && sameSecret(token, opts.streamerToken)) {
    return { kind: 'token' };
  }
  return { kind: 'jwt', identity: await opts.verifier.verify(token) };
}

/** Constant-time comparison that does not leak the secret's length either. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
