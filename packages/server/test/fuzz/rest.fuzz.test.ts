import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authRequests, controlRequests, type OpenApiDoc } from '../../../../bench/src/fuzz/rest-requests.js';
import { RestSurface, UpgradeSurface, userToken } from '../../../../bench/src/fuzz/surfaces.js';
import { upgradeSpec } from '../../../../bench/src/fuzz/upgrades.js';
import { httpCall, NativeCanary, probe } from '../../../../bench/src/fuzz/well-behaved.js';
import { ANSWER_TIMEOUT_MS, FUZZ_SEED, fuzz, startFuzzServer, type FuzzServer } from './fuzz-harness.js';

const FILE = 'packages/server/test/fuzz/rest.fuzz.test.ts';

let node: FuzzServer;
let canary: NativeCanary;
beforeAll(async () => {
  node = await startFuzzServer();
  canary = new NativeCanary({
    wsUrl: node.target.wsUrl,
    tokens: [userToken(node.target, 'canary-a'), userToken(node.target, 'canary-b')],
    room: 'canary',
    findings: node.findings,
    timeoutMs: ANSWER_TIMEOUT_MS,
    pauseMs: 5,
  });
  await canary.start();
  // An account whose password the login fuzzer sometimes gets right.
  const signup = JSON.stringify({ username: 'fuzzer', password: 'correct horse battery' });
  await httpCall(
    node.target.httpUrl,
    { method: 'POST', path: '/v1/auth/signup', headers: { 'content-type': 'application/json' }, body: Buffer.from(signup) },
    ANSWER_TIMEOUT_MS,
  );
});
afterAll(async () => {
  await canary?.stop();
  await node?.server.close();
});

describe('fuzzing the control API, the auth endpoints and WebSocket upgrades', () => {
  it('answers bad input below 500 with a typed JSON error, refuses bad tokens, and the node and other rooms carry on', async () => {
    const doc = JSON.parse((await httpCall(node.target.httpUrl, { method: 'GET', path: '/v1/openapi.json' }, ANSWER_TIMEOUT_MS)).body.toString()) as OpenApiDoc;
    const rest = new RestSurface(node.target, { findings: node.findings, answerTimeoutMs: ANSWER_TIMEOUT_MS, concurrency: 4 });
    const upgrades = new UpgradeSurface(node.target, {
      findings: node.findings,
      answerTimeoutMs: ANSWER_TIMEOUT_MS,
      concurrency: 4,
      base: node.target.httpUrl.replace(/^http/, 'ws'),
      path: '/ws',
      refusal: 'close4401',
    });
    // Per run: 12 control API calls, 3 auth calls, 3 upgrades; about 1,400 requests in 80 runs.
    const rounds = fc.record({
      control: fc.array(controlRequests(doc), { minLength: 12, maxLength: 12 }),
      auth: fc.array(authRequests, { minLength: 3, maxLength: 3 }),
      upgrades: fc.array(upgradeSpec, { minLength: 3, maxLength: 3 }),
    });
    let run = 0;
    try {
      await fuzz(FILE, rounds, node.findings, 80, async ({ control, auth, upgrades: ups }) => {
        await Promise.all([rest.round([...control, ...auth]), upgrades.round(ups)]);
        if (++run % 20 === 0) {
          const down = await probe(node.target.httpUrl, node.target.wsUrl, userToken(node.target, 'prober'), `probe-${run}`, ANSWER_TIMEOUT_MS);
          if (down) {
            node.findings.add('liveness', down);
          }
        }
      });
    } finally {
      rest.close();
    }
    console.info(`REST fuzz: seed ${FUZZ_SEED}, ${JSON.stringify(rest.stats)}; upgrades ${JSON.stringify(upgrades.stats)}; canary rounds ${canary.rounds}`);
    expect(rest.stats.sent).toBeGreaterThan(500);
    expect(await probe(node.target.httpUrl, node.target.wsUrl, userToken(node.target, 'prober'), 'probe-end', ANSWER_TIMEOUT_MS)).toBeUndefined();
    await canary.stop();
    expect(canary.rounds).toBeGreaterThan(0);
    expect(node.findings.list).toEqual([]);
  }, 240_000);
});
