import type { PsRole } from '@heliograph/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { psBatch } from '../../../../bench/src/fuzz/ps-frames.js';
import { PsSurface, userToken } from '../../../../bench/src/fuzz/surfaces.js';
import { PsCanary, probe } from '../../../../bench/src/fuzz/well-behaved.js';
import { ANSWER_TIMEOUT_MS, FUZZ_SEED, fuzz, startFuzzServer, UNLIMITED_MESSAGES, type FuzzServer } from './fuzz-harness.js';

const FILE = 'packages/server/test/fuzz/pixel-streaming.fuzz.test.ts';
const ROLES: PsRole[] = ['player', 'player', 'streamer', 'sfu'];

let node: FuzzServer;
let canary: PsCanary;
beforeAll(async () => {
  node = await startFuzzServer({ pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0, ...UNLIMITED_MESSAGES } });
  const ps = node.target.ps!;
  canary = new PsCanary({
    streamerUrl: ps.streamerUrl,
    playerUrl: ps.playerUrl,
    streamerId: 'canary-streamer',
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

describe('fuzzing the Pixel Streaming ports (players on the main port, streamers, SFUs)', () => {
  it('stays responsive to every connection that was not closed with a documented code; the node and a relaying pair carry on', async () => {
    const surface = new PsSurface(node.target, { findings: node.findings, answerTimeoutMs: ANSWER_TIMEOUT_MS });
    surface.knowStreamer('canary-streamer');
    const maxBytes = node.target.ps!.maxMessageBytes;
    // Two players, a streamer and an SFU at once, 4 to 17 frames each: about 3,000 frames in 80 runs.
    const rounds = fc.tuple(...ROLES.map((role) => psBatch(role, maxBytes).map((frames) => ({ role, frames }))));
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
    console.info(`pixel streaming fuzz: seed ${FUZZ_SEED}, ${JSON.stringify(surface.stats)}, canary rounds ${canary.rounds}`);
    expect(surface.stats.sent).toBeGreaterThan(1000);
    expect(await probe(node.target.httpUrl, node.target.wsUrl, userToken(node.target, 'prober'), 'probe-end', ANSWER_TIMEOUT_MS)).toBeUndefined();
    await canary.stop();
    expect(canary.rounds).toBeGreaterThan(0);
    expect(node.findings.list).toEqual([]);
  }, 240_000);
});
