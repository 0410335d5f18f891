import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { bump, type Findings, type SurfaceStats } from './findings.js';
import { wellFormed } from './model.js';
import { mustAccept, tokenSpec, type TokenSpec } from './tokens.js';
import { trickyString } from './values.js';

/** A WebSocket upgrade attempt: a token in the URL or header, or a raw, odd HTTP request. */
export type UpgradeSpec =
  | { kind: 'token'; token: TokenSpec; via: 'query' | 'header' | 'both' }
  | { kind: 'raw'; target: string; version: string; key: string | undefined; extra: string[] };

const targets = fc.oneof(
  fc.constantFrom(
    '/ws',
    '//ws',
    '/ws?token=',
    '/ws?token=%zz',
    '/ws?token=a&token=b',
    '/ws/../ws',
    '/%zz',
    '/ws#x',
    '*',
    'ws',
    '//a:99999',
    '//a:99999/ws',
    '//[zz]/',
    '//',
    'http://[::1',
    'http://localhost/ws',
    'http://a:99999/ws',
    '/\u00ff\u00fe',
    '/ws?\u0000',
  ),
  fc.constantFrom(2_000, 10_000).map((n) => `/ws?token=${'t'.repeat(n)}`),
  trickyString.map((s) => `/${[...s].filter((c) => c.charCodeAt(0) > 0x1f && !/\s/.test(c)).join('')}`),
);

export const upgradeSpec: fc.Arbitrary<UpgradeSpec> = fc.oneof(
  { arbitrary: fc.tuple(tokenSpec, fc.constantFrom('query', 'header', 'both')).map(([token, via]) => ({ kind: 'token' as const, token, via })), weight: 3 },
  {
    arbitrary: fc
      .tuple(
        targets,
        fc.constantFrom('13', '13', '8', '', 'x'),
        fc.constantFrom<string | undefined>('dGhlIHNhbXBsZSBub25jZQ==', 'dGhlIHNhbXBsZSBub25jZQ==', undefined, '', 'short'),
        fc.subarray([
          'Host:',
          'Sec-WebSocket-Extensions: permessage-deflate',
          'Sec-WebSocket-Protocol: a, a',
          'Content-Length: 5',
          'Transfer-Encoding: chunked',
          'Authorization: Bearer x y',
          'Origin: null',
        ]),
      )
      .map(([target, version, key, extra]) => ({ kind: 'raw' as const, target, version, key, extra })),
    weight: 2,
  },
);

export interface UpgradeTarget {
  /** `ws://host:port` without a path. */
  base: string;
  /** The path a token upgrade goes to (`/ws`, or `/` for a dialect player). */
  path: string;
  /** What a refused token gets: a 4401 close (native) or an HTTP 401 (dialect). */
  refusal: 'close4401' | 'http';
  findings: Findings;
  stats: SurfaceStats;
  timeoutMs: number;
  renderToken: (spec: TokenSpec) => string;
}

/** Tries one upgrade; anything but a documented outcome becomes a finding. */
export async function tryUpgrade(spec: UpgradeSpec, t: UpgradeTarget): Promise<void> {
  t.stats.sent++;
  const outcome = spec.kind === 'token' ? await tokenUpgrade(spec, t) : await rawUpgrade(spec, t);
  bump(t.stats.outcomes, outcome);
  if (outcome.startsWith('timeout') || /^http 5/.test(outcome) || outcome === 'close 1011') {
    t.stats.unanswered++;
    t.findings.add('upgrade', `${t.base}: upgrade ended with "${outcome}"`, describe(spec));
    return;
  }
  t.stats.answered++;
  if (spec.kind === 'token' && mustAccept(spec.token) && outcome !== 'accepted') {
    t.findings.add('upgrade', `${t.base}: a valid token was refused ("${outcome}")`, describe(spec));
  }
}

/**
 * The first outcome that `listen` reports through `done`, or `timedOut` after `ms`; then the
 * connection hears nothing more (but a no-op for late errors) and is ended at once.
 */
function firstOutcome(conn: WebSocket | Socket, ms: number, timedOut: string, listen: (done: (outcome: string) => void) => void): Promise<string> {
  return new Promise((resolve) => {
    const done = (outcome: string) => {
      clearTimeout(timer);
      conn.removeAllListeners();
      conn.on('error', () => {});
      if (conn instanceof WebSocket) {
        conn.terminate();
      } else {
        conn.destroy();
      }
      resolve(outcome);
    };
    const timer = setTimeout(() => done(timedOut), ms);
    listen(done);
  });
}

function describe(spec: UpgradeSpec): string {
  return JSON.stringify(spec).slice(0, 400);
}

function tokenUpgrade(spec: Extract<UpgradeSpec, { kind: 'token' }>, t: UpgradeTarget): Promise<string> {
  const token = t.renderToken(spec.token);
  const query = spec.via === 'header' ? '' : `?token=${encodeURIComponent(wellFormed(token))}`;
  const headers = spec.via === 'query' ? {} : { authorization: `Bearer ${token.replace(/[^\t\u0020-\u007e\u0080-\u00ff]/g, '?')}` };
  let ws: WebSocket;
  try {
    ws = new WebSocket(`${t.base}${t.path}${query}`, { headers });
  } catch {
    return Promise.resolve('not sendable');
  }
  return firstOutcome(ws, t.timeoutMs, 'timeout', (done) => {
    ws.on('unexpected-response', (_req, res) => done(`http ${res.statusCode ?? 0}`));
    ws.on('error', (err) => done(`error ${err.message.slice(0, 40)}`));
    ws.on('close', (code) => done(`close ${code}`));
    ws.on('message', (raw: Buffer) => {
      // The native endpoint greets an accepted token with session.ready; the dialect with config.
      const type = (JSON.parse(raw.toString()) as { type?: unknown }).type;
      done(type === 'session.ready' || type === 'config' ? 'accepted' : `message ${String(type)}`);
    });
  });
}

function rawUpgrade(spec: Extract<UpgradeSpec, { kind: 'raw' }>, t: UpgradeTarget): Promise<string> {
  const url = new URL(t.base);
  const lines = [
    `GET ${spec.target} HTTP/1.1`,
    `Host: ${url.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Version: ${spec.version}`,
    ...(spec.key === undefined ? [] : [`Sec-WebSocket-Key: ${spec.key}`]),
    ...spec.extra,
  ];
  const socket = connect(Number(url.port), url.hostname);
  let head = '';
  return firstOutcome(socket, t.timeoutMs, 'timeout (no answer, connection still open)', (done) => {
    socket.on('connect', () => socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')));
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (status) {
        done(`http ${status[1]}`);
      } else if (head.length > 64) {
        done('not http');
      }
    });
    socket.on('error', () => done('reset'));
    socket.on('close', () => done('closed without an answer'));
  });
}
