import { describe, expect, it } from 'vitest';
import { isPsNodeMessage, type PsNodeMessage } from './node-messages.js';

/** A well-formed message of every type: a new type without one here does not compile. */
const SAMPLES: { [T in PsNodeMessage['type']]: Extract<PsNodeMessage, { type: T }> } = {
  'ps.subscribe': { type: 'ps.subscribe', streamerId: 's1', player: { id: 'p1', type: 'Player', remoteAddress: '10.0.0.1', user: { userId: 'u', name: 'n' } } },
  'ps.unsubscribe': { type: 'ps.unsubscribe', playerId: 'p1' },
  'ps.to-streamer': { type: 'ps.to-streamer', playerId: 'p1', message: { type: 'offer' } },
  'ps.to-player': { type: 'ps.to-player', playerId: 'p1', message: { type: 'answer' } },
  'ps.close': { type: 'ps.close', playerId: 'p1', code: 1011, reason: 'kicked' },
  'ps.replace': { type: 'ps.replace', streamerId: 's1', key: '7' },
};

const OPTIONAL = new Set(['code', 'reason']);

describe('Pixel Streaming messages between nodes', () => {
  it('accepts every sample and refuses each with a field missing or of the wrong type', () => {
    for (const sample of Object.values(SAMPLES)) {
      expect(isPsNodeMessage(sample), sample.type).toBe(true);
      for (const key of Object.keys(sample).filter((k) => k !== 'type')) {
        const rest = Object.fromEntries(Object.entries(sample).filter(([k]) => k !== key));
        expect(isPsNodeMessage(rest), `${sample.type} without ${key}`).toBe(OPTIONAL.has(key));
        expect(isPsNodeMessage({ ...rest, [key]: [true] }), `${sample.type} with ${key} wrong`).toBe(false);
      }
    }
    expect(isPsNodeMessage({ ...SAMPLES['ps.subscribe'], player: { ...SAMPLES['ps.subscribe'].player, type: 'Streamer' } })).toBe(false);
    expect(isPsNodeMessage({ type: 'ps.unknown', playerId: 'p1' })).toBe(false);
  });
});
