import type { RoomGrant } from '@heliograph/protocol';
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH, type AccountStore } from '../auth/accounts.js';
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { TokenSigner } from '../auth/token-signer.js';
import { AppError } from '../shared/app-error.js';

export interface AuthRouteDeps {
  accounts: AccountStore;
  signer: TokenSigner;
  throttle: LoginThrottle;
  tokenTtlSeconds: number;
  /** Room grants put in every token minted by login. */
  loginGrants: RoomGrant[];
}

/** `POST /v1/auth/login` body. Password length is only bounded here; the policy applies at creation. */
export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX_LENGTH }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const LoginResult = Type.Object({
  token: Type.String(),
  /** Milliseconds since the epoch. */
  expiresAt: Type.Number(),
  user: Type.Object({ username: Type.String(), displayName: Type.Optional(Type.String()) }),
});
export type LoginResult = Static<typeof LoginResult>;

/** One message for an unknown user and a wrong password, so that neither reveals the other. */
const INVALID_CREDENTIALS = 'invalid username or password';

/** Registers `POST /v1/auth/login`: built-in account credentials in, a join token out. */
export function registerAuthRoutes(app: FastifyInstance, deps: AuthRouteDeps): void {
  const { accounts, signer, throttle } = deps;
  app.post<{ Body: LoginBody }>(
    '/v1/auth/login',
    { schema: { body: LoginBody, response: { 200: LoginResult } }, bodyLimit: 4096 },
    async (request, reply): Promise<LoginResult> => {
      const { username, password } = request.body;
      const address = request.ip;
      throttle.check(username, address);
      // Counted before the (slow) password check, so parallel guesses cannot outrun the limit;
      // a success takes it back.
      throttle.fail(username, address);
      const account = await accounts.verify(username, password);
      if (!account) {
        request.log.info({ username, address }, 'login failed');
        throw new AppError('UNAUTHORIZED', INVALID_CREDENTIALS);
      }
      throttle.succeed(username, address);
      const { token, expiresAt } = await signer.mint({
        userId: account.username,
        ...(account.displayName !== undefined && { name: account.displayName }),
        grants: deps.loginGrants,
        ttlSeconds: deps.tokenTtlSeconds,
      });
      request.log.info({ username, address }, 'login succeeded');
      void reply.header('cache-control', 'no-store');
      const user: LoginResult['user'] = { username: account.username };
      if (account.displayName !== undefined) {
        user.displayName = account.displayName;
      }
      return { token, expiresAt, user };
    },
  );
}
