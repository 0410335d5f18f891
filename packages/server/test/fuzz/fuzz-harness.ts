import fc from 'fast-check';
import { Value } from 'typebox/value';
import { FakeClock } from '@heliograph/common';
import { Findings } from '../../../../bench/src/fuzz/findings.js';
import type { FuzzTarget } from '../../../../bench/src/fuzz/surfaces.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/shared/logger.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';

/**
 * Shared set-up of the in-suite fuzzers (`*.fuzz.test.ts`): a seeded fast-check run against a real
 * in-process node whose error log is watched. Override with `FUZZ_SEED`, `FUZZ_PATH` (replays one
 * counterexample), `FUZZ_RUNS_SCALE` (scales every surface's run count) and `FUZZ_SURVEY=1` (does not
 * stop at the first finding; the test then fails listing them all).
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_260_611);
const FUZZ_PATH = process.env.FUZZ_PATH;
const RUNS_SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? 1);
const SURVEY = process.env.FUZZ_SURVEY === '1';

export const RW_KEY = 'fuzz-rw-key-0123456789-0123456789-0123456789';
export const RO_KEY = 'fuzz-ro-key-0123456789-0123456789-0123456789';

/** Real time the server has to answer a batch; far more than it needs, so a miss is silence. */
export const ANSWER_TIMEOUT_MS = 5_000;

export interface FuzzServer {
  server: TestServer;
  target: FuzzTarget;
  findings: Findings;
  clock: FakeClock;
}

/** Request rates out of the way: per connection, per user and per address. */
export const UNLIMITED_MESSAGES = {
  messagesPerSecond: 1e9,
  messageBurst: 1e9,
  userMessagesPerSecond: 1e9,
  userMessageBurst: 1e9,
  addressMessagesPerSecond: 1e9,
  addressMessageBurst: 1e9,
};

/**
 * A node with request and connection rates out of the way (frames must reach decoding and handlers,
 * and the fake clock never refills buckets), everything else at its defaults (`limits.maxDepth` 32,
 * frame sizes, `invalidCloseAfter`…). Error-level log lines are
 * findings: the server logs at error only for handler failures and 500s.
 */
export async function startFuzzServer(overrides: Parameters<typeof startServer>[0] = {}): Promise<FuzzServer> {
  const findings = new Findings();
  const logger = createLogger('error', {
    write: (line: string) => {
      const entry = JSON.parse(line) as { msg?: string; err?: { message?: string; stack?: string } };
      findings.add('server-log', `error logged: ${entry.msg ?? ''}: ${entry.err?.message ?? ''} ${entry.err?.stack?.split('\n')[1]?.trim() ?? ''}`);
    },
  });
  const clock = new FakeClock(Date.now());
  const server = await startServer(
    {
      limits: {
        ...UNLIMITED_MESSAGES,
        upgradesPerSecondPerAddress: 1e9,
        upgradeBurstPerAddress: 1e9,
        connectionsPerSecondPerUser: 1e9,
        connectionBurstPerUser: 1e9,
      },
      controlApi: {
        keys: [
          { id: 'fuzz-rw', key: RW_KEY, scope: 'read-write' },
          { id: 'fuzz-ro', key: RO_KEY, scope: 'read' },
        ],
      },
      ...overrides,
    },
    { clock, logger },
  );
  // A misspelt override would be dropped without a word and the fuzzer would meet the rate limits.
  const problems = [...Value.Errors(ConfigSchema, server.config)].map((e) => `${e.instancePath} ${e.message}`);
  if (problems.length > 0) {
    await server.close();
    throw new Error(`fuzz config: ${problems.join('; ')}`);
  }
  const ports = server.app.pixelStreaming?.ports;
  const wsBase = server.url.replace(/^http/, 'ws');
  const host = wsBase.replace(/:\d+$/, '');
  const target: FuzzTarget = {
    httpUrl: server.url,
    wsUrl: server.wsUrl,
    limits: server.config.limits,
    secret: TEST_SECRET,
    now: () => clock.now(),
    controlKeys: { rw: RW_KEY, ro: RO_KEY },
    ...(ports && {
      ps: {
        playerUrl: `${wsBase}/`,
        streamerUrl: `${host}:${ports.streamer}/`,
        sfuUrl: `${host}:${ports.sfu}/`,
        maxMessageBytes: server.config.pixelStreaming.maxMessageBytes,
      },
    }),
  };
  return { server, target, findings, clock };
}

/**
 * Runs `property` for `runs` seeded runs (scaled by FUZZ_RUNS_SCALE), each failing when it added
 * findings. On failure the message leads with the seed, the path and the command that replays it.
 */
export async function fuzz<T>(file: string, arb: fc.Arbitrary<T>, findings: Findings, runs: number, run: (value: T) => Promise<void>): Promise<void> {
  const property = fc.asyncProperty(arb, async (value) => {
    const mark = findings.count;
    await run(value);
    const found = findings.since(mark);
    // FUZZ_SURVEY=1 goes on past findings, to list every kind of problem in one run.
    if (found.length > 0 && !SURVEY) {
      throw new Error(found.slice(0, 10).join('\n'));
    }
  });
  const details = await fc.check(property, {
    seed: FUZZ_SEED,
    numRuns: Math.max(1, Math.round(runs * RUNS_SCALE)),
    ...(FUZZ_PATH ? { path: FUZZ_PATH } : {}),
    // A slow machine runs fewer frames rather than failing; a failure stops shrinking at the limit.
    interruptAfterTimeLimit: 120_000,
  });
  if (details.failed) {
    const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH="${details.counterexamplePath ?? ''}" npx vitest run ${file}`;
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `fuzzer found a problem (seed ${details.seed}, path ${details.counterexamplePath}, after ${details.numRuns} runs, shrunk ${details.numShrinks} times)\n` +
        `reproduce: ${replay}\n${error}\ncounterexample: ${fc.stringify(details.counterexample).slice(0, 2000)}`,
    );
  }
}
