// The REST side of the demo (sign-up, login, lobby), the per-tab session, and readable errors.
import { formatWait, t } from './i18n.js';

/** Per tab (sessionStorage), so that two windows can be two users. */
export const session = {
  get() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem('heliograph') ?? 'null');
    } catch {
      saved = null;
    }
    return saved && saved.expiresAt > Date.now() + 30_000 ? saved : null;
  },
  set(value) {
    sessionStorage.setItem('heliograph', JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem('heliograph');
  },
};

/** A refused REST call: the server's error code, and when to retry for RATE_LIMITED. */
export class ApiError extends Error {
  constructor(code, message, retryAfterMs) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

async function call(path, init) {
  const res = await fetch(path, init);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = data.error ?? {};
    // The body's retryAfterMs is exact; Retry-After (whole seconds) is the fallback.
    const header = Number(res.headers.get('retry-after'));
    const retryAfterMs = error.retryAfterMs ?? (header > 0 ? header * 1000 : undefined);
    throw new ApiError(error.code ?? (res.status === 401 ? 'UNAUTHORIZED' : 'INTERNAL'), error.message ?? res.statusText, retryAfterMs);
  }
  return data;
}

/** `POST /v1/auth/login` or `/signup`: a token and the user. */
export function authenticate(kind, body) {
  return call(`/v1/auth/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** `GET /v1/lobby/rooms`: the rooms this user may join, with how full they are. */
export function lobbyRooms(token) {
  return call('/v1/lobby/rooms', { headers: { authorization: `Bearer ${token}` } });
}

const KNOWN = new Set([
  'ROOM_FULL',
  'ROOM_NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'RATE_LIMITED',
  'CONFLICT',
  'UNAVAILABLE',
  'TIMEOUT',
  'BAD_REQUEST',
  'INTERNAL',
  'PAYLOAD_TOO_LARGE',
  'NOT_IN_ROOM',
  'ALREADY_IN_ROOM',
]);

/**
 * Readable text for an error from the REST API, the SDK (HeliographError) or fetch. `context`
 * ('login', 'signup') picks the texts that only make sense there. The SDK's own messages are for
 * developers and never shown.
 */
export function explain(err, context = '') {
  if (err instanceof TypeError) {
    return t('error.UNAVAILABLE');
  }
  const code = err?.code;
  const retryAfterMs = err?.retryAfterMs ?? err?.body?.retryAfterMs;
  if (code === 'RATE_LIMITED' && retryAfterMs > 0) {
    const key = context === 'signup' ? 'auth.signupLimited' : context === 'login' ? 'auth.loginLimited' : 'error.RATE_LIMITED_WAIT';
    return t(key, { wait: formatWait(retryAfterMs) });
  }
  if (context === 'login' && code === 'UNAUTHORIZED') {
    return t('auth.wrongPassword');
  }
  if (context === 'signup' && code === 'CONFLICT') {
    return t('auth.usernameTaken');
  }
  if (context === 'signup' && code === 'BAD_REQUEST') {
    return t('auth.badInput');
  }
  if (KNOWN.has(code)) {
    return t(`error.${code}`);
  }
  return t('error.unknown', { code: code ?? '?' });
}
