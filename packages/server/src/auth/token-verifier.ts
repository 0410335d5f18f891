import { DEFAULT_MAX_DEPTH, TokenClaims, tooDeepAt } from '@heliograph/protocol';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWSHeaderParameters, type FlattenedJWSInput, type JWTVerifyGetKey } from 'jose';
import { Compile } from 'typebox/compile';
import type { Clock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import { redactUrl, type Logger } from '../shared/logger.js';
import type { Identity } from './identity.js';

export interface TokenVerifierOptions {
  /** HS256 secret. */
  secret?: string;
  /** JWKS URL for RS256/ES256 tokens; keys are cached, not fetched per connection. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
  /**
   * Longest lifetime accepted: `exp` at most this far ahead of now (plus the clock tolerance), and
   * `exp - iat` at most this long when `iat` is present. Bounds how long a leaked token is worth
   * anything, whoever minted it. Default `DEFAULT_MAX_TOKEN_TTL_SECONDS`.
   */
  maxTokenTtlSeconds?: number;
  clock: Clock;
  /** Where JWKS fetch failures are reported (they are operational problems, not bad tokens). */
  logger?: Logger;
  /**
   * How long fetched keys are trusted before the next token triggers a refetch, so that a key
   * removed from the JWKS stops working. Default 10 minutes. Unknown `kid`s refetch at most every
   * 30 s (jose's cooldown).
   */
  jwksCacheMaxAgeMs?: number;
}

export interface TokenVerifier {
  /** Resolves the identity, or rejects with AppError UNAUTHORIZED and a message saying why. */
  verify(token: string): Promise<Identity>;
}

/** Algorithms checked with the shared secret. */
export const HMAC_ALGORITHMS = ['HS256'] as const;
/** Algorithms checked against the JWKS. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
/** `auth.maxTokenTtlSeconds`'s default: one day (see its description in config/schema.ts). */
export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 86_400;
/** Longer strings are not tokens Heliograph would accept; refusing them early bounds the work. */
const MAX_TOKEN_LENGTH = 16_384;

const claimsValidator = Compile(TokenClaims);

/** Why `payload` is not valid `TokenClaims` (`missing claim grants`), or null when it is. */
export function claimsProblem(payload: unknown): string | null {
  // A token's metadata is stored and relayed like a peer's own: it gets the same depth bound.
  if (tooDeepAt(payload, DEFAULT_MAX_DEPTH) !== null) {
    return `claims nest deeper than ${DEFAULT_MAX_DEPTH} levels`;
  }
  if (claimsValidator.Check(payload)) {
    return null;
  }
  const [first] = claimsValidator.Errors(payload);
  const requiredProperties = (first?.params as { requiredProperties?: string[] } | undefined)?.requiredProperties;
  if (first?.keyword === 'required' && first.instancePath === '' && requiredProperties?.[0]) {
    return `missing claim ${requiredProperties[0]}`;
  }
  // The top-level path segment is a claim name from the schema, never attacker text.
  const claim = first?.instancePath.split('/')[1];
  return claim ? `invalid claim ${claim}` : 'malformed claims';
}

function unauthorized(reason: string): AppError {
  return new AppError('UNAUTHORIZED', reason);
}

/** jose's errors, rephrased without anything from the token. */
function reasonFor(err: unknown): string {
  if (err instanceof errors.JWTExpired) {
    return 'token expired';
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') {
      return 'token not yet valid';
    }
    if (err.reason === 'missing') {
      return `missing claim ${err.claim}`;
    }
    if (err.claim === 'iss' || err.claim === 'aud') {
      return err.claim === 'iss' ? 'issuer mismatch' : 'audience mismatch';
    }
    return `invalid claim ${err.claim}`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return 'bad signature';
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return 'token algorithm not allowed';
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return 'unknown signing key';
  }
  if (err instanceof errors.JWKSMultipleMatchingKeys) {
    return 'ambiguous signing key; the token needs a kid';
  }
  return 'malformed token';
}

function readHeader(token: string): JWSHeaderParameters {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) {
    throw unauthorized('malformed token');
  }
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw unauthorized('malformed token');
  }
}

/**
 * Verifies join tokens: HS256 with the shared secret, asymmetric algorithms against the JWKS. The
 * key is chosen by the header's `alg`, so an asymmetric public key can never be used as an HMAC
 * secret; `none` is always refused.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { clock, logger } = options;
  const secret = options.secret === undefined ? undefined : new TextEncoder().encode(options.secret);
  const jwksKey = options.jwksUrl === undefined ? undefined : remoteKeys(parseJwksUrl(options.jwksUrl), options.jwksCacheMaxAgeMs ?? 600_000, logger);

  /** The key for a token's `alg`, and the algorithms that key may verify. */
  function keyFor(alg: string | undefined) {
    if (isOneOf(alg, HMAC_ALGORITHMS)) {
      if (!secret) {
        throw unauthorized('HMAC tokens are not accepted: no secret is configured');
      }
      return { key: secret, algorithms: [...HMAC_ALGORITHMS] };
    }
    if (isOneOf(alg, ASYMMETRIC_ALGORITHMS)) {
      if (!jwksKey) {
        throw unauthorized('asymmetric tokens are not accepted: no JWKS is configured');
      }
      return { key: jwksKey, algorithms: [...ASYMMETRIC_ALGORITHMS] };
    }
    throw unauthorized(alg === 'none' ? 'unsigned tokens are refused' : 'unsupported token algorithm');
  }

  return {
    async verify(token: string): Promise<Identity> {
      const { key, algorithms } = keyFor(readHeader(token).alg);
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms,
          currentDate: new Date(clock.now()),
          clockTolerance: options.clockToleranceSeconds,
          requiredClaims: ['exp'],
          ...(options.issuer !== undefined && { issuer: options.issuer }),
          ...(options.audience !== undefined && { audience: options.audience }),
        }));
      } catch (err) {
        throw err instanceof AppError ? err : unauthorized(reasonFor(err));
      }
      const problem = claimsProblem(payload) ?? lifetimeProblem(payload as TokenClaims, clock.now() / 1000, options);
      if (problem) {
        throw unauthorized(problem);
      }
      return toIdentity(payload as TokenClaims);
    },
  };
}

/**
 * Why the token lives too long, or null. `exp` is required (jose refuses a token without it), so
 * every token accepted expires within `maxTokenTtlSeconds` of the moment it is checked.
 */
function lifetimeProblem(
  claims: TokenClaims,
  nowSeconds: number,
  { maxTokenTtlSeconds = DEFAULT_MAX_TOKEN_TTL_SECONDS, clockToleranceSeconds }: Pick<TokenVerifierOptions, 'maxTokenTtlSeconds' | 'clockToleranceSeconds'>,
): string | null {
  const tooFar = claims.exp - nowSeconds > maxTokenTtlSeconds + clockToleranceSeconds;
  const tooLong = claims.iat !== undefined && claims.exp - claims.iat > maxTokenTtlSeconds;
  return tooFar || tooLong ? 'token lifetime exceeds the maximum' : null;
}

function parseJwksUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new AppError('INTERNAL', 'auth.jwksUrl is not a valid URL');
  }
}

/** A key resolver over a cached remote JWKS that turns fetch problems into UNAUTHORIZED. */
function remoteKeys(url: URL, cacheMaxAge: number, logger: Logger | undefined): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(url, { cacheMaxAge });
  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    try {
      return await jwks(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
        throw unauthorized(reasonFor(err));
      }
      logger?.warn({ err, jwksUrl: redactUrl(url.href) }, 'cannot load the JWKS');
      throw unauthorized('signing keys unavailable');
    }
  };
}

function isOneOf<T extends string>(value: string | undefined, list: readonly T[]): value is T {
  return (list as readonly (string | undefined)[]).includes(value);
}

function toIdentity(claims: TokenClaims): Identity {
  const identity: Identity = { userId: claims.sub, grants: claims.grants, expiresAt: claims.exp * 1000 };
  if (claims.name !== undefined) {
    identity.name = claims.name;
  }
  if (claims.metadata !== undefined) {
    identity.metadata = claims.metadata;
  }
  return identity;
}
