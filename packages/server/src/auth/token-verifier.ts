import type { Clock } from '../shared/clock.js';
import type { Identity } from './identity.js';

export interface TokenVerifierOptions {
  /** HS256 secret. */
  secret?: string;
  /** JWKS URL for RS256/ES256 tokens; keys are cached, not fetched per connection. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
  clock: Clock;
}

export interface TokenVerifier {
  /** Resolves the identity, or rejects with AppError UNAUTHORIZED and a message saying why. */
  verify(token: string): Promise<Identity>;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  throw new Error(`not implemented ${String(options.secret !== undefined)}`);
}
