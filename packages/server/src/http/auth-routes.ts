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
  /** Whether `POST /v1/auth/signup` lets anyone create an account. */
  signup: boolean;
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

/** `POST /v1/auth/signup` body. */
export const SignupBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX_LENGTH }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type SignupBody = Static<typeof SignupBody>;

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
      // Counted as a failure before the (slow) password check, so parallel guesses cannot outrun
      // the limits; a success takes it back.
      const attempt = throttle.begin(username, address);
      const account = await accounts.verify(username, password);
      if (!account) {
        request.log.info({ username, address }, 'login failed');
        throw new AppError('UNAUTHORIZED', INVALID_CREDENTIALS);
      }
      attempt.succeed();
      request.log.info({ username, address }, 'login succeeded');
      void reply.header('cache-control', 'no-store');
      return issue(account);
    },
  );

  if (deps.signup) {
    app.post<{ Body: SignupBody }>(
      '/v1/auth/signup',
      { schema: { body: SignupBody, response: { 200: LoginResult } }, bodyLimit: 4096 },
      async (request, reply): Promise<LoginResult> => {
        const { username, password, displayName } = request.body;
        // Every attempt counts, taken or not: one address creates at most its share of accounts.
        throttle.signup(request.ip);
        const account = await accounts.add(username, password, displayName);
        request.log.info({ username, address: request.ip }, 'account created');
        void reply.header('cache-control', 'no-store');
        return issue(account);
      },
    );
  }

  async function issue(account: { username: string; displayName?: string | undefined }): Promise<LoginResult> {
    const { token, expiresAt } = await signer.mint({
      userId: account.username,
      ...(account.displayName !== undefined && { name: account.displayName }),
      grants: deps.loginGrants,
      ttlSeconds: deps.tokenTtlSeconds,
    });
    const user: LoginResult['user'] = { username: account.username };
    if (account.displayName !== undefined) {
      user.displayName = account.displayName;
    }
    return { token, expiresAt, user };
  }
}
