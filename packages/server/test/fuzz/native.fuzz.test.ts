import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeBatch } from '../../../../bench/src/fuzz/native-frames.js';
import { NativeSurface, userToken } from '../../../../bench/src/fuzz/surfaces.js';
import { NativeCanary, probe } from '../../../../bench/src/fuzz/well-behaved.js';
import { ANSWER_TIMEOUT_MS, FUZZ_SEED, fuzz, startFuzzServer, type FuzzServer } from './fuzz-harness.js';

const FILE = 'packages/server/test/fuzz/native.fuzz.test.ts';

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
});
afterAll(async () => {
  await canary?.stop();
  await node?.server.close();
});

describe('fuzzing the native protocol (/ws)', () => {
  it('answers every frame exactly once, or closes with a documented code; the node and other rooms carry on', async () => {
    const surface = new NativeSurface(node.target, { findings: node.findings, answerTimeoutMs: ANSWER_TIMEOUT_MS, label: 'n' });
    // Three connections at once, 6 to 25 frames each: about 3,500 frames in 80 runs.
    const rounds = fc.array(nativeBatch(node.target.limits), { minLength: 3, maxLength: 3 });
    let run = 0;
    try {
      await fuzz(FILE, rounds, node.findings, 80, async (batches) => {
        await surface.round(batches);
        if (++run % 20 === 0) {
          const down = await probe(node.target.httpUrl, node.target.wsUrl, userToken(node.target, 'prober'), `probe-${run}`, ANSWER_TIMEOUT_MS);
          if (down) {
            node.findings.add('liveness', down);
          }
        }
      });
    } finally {
      surface.close();
    }
    console.info(`native fuzz: seed ${FUZZ_SEED}, ${JSON.stringify(surface.stats)}, canary rounds ${canary.rounds}`);
    expect(surface.stats.sent).toBeGreaterThan(500);
    expect(surface.stats.outcomes.ok ?? 0).toBeGreaterThan(50);
    expect(await probe(node.target.httpUrl, node.target.wsUrl, userToken(node.target, 'prober'), 'probe-end', ANSWER_TIMEOUT_MS)).toBeUndefined();
    await canary.stop();
    expect(canary.rounds).toBeGreaterThan(0);
    expect(node.findings.list).toEqual([]);
  }, 240_000);
});
