import { describe, expect, it } from 'vitest';
import { isPsNodeMessage, isSubscribed, readRelayed, type PsNodeMessage } from './node-messages.js';

/** A well-formed message of every type: a new type without one here does not compile. */
const SAMPLES: { [T in PsNodeMessage['type']]: Extract<PsNodeMessage, { type: T }> } = {
  'ps.subscribe': {
    type: 'ps.subscribe',
    streamerId: 's1',
    player: { id: 'p1', type: 'Player', remoteAddress: '10.0.0.1', user: { userId: 'u', name: 'n' } },
    peerId: 'PA1',
  },
  'ps.unsubscribe': { type: 'ps.unsubscribe', playerId: 'p1' },
  'ps.close': { type: 'ps.close', playerId: 'p1', code: 1011, reason: 'kicked' },
  'ps.renamed': { type: 'ps.renamed', playerId: 'p1', streamerId: 's2', streamerPeer: 'PA2' },
  'ps.moved': { type: 'ps.moved', playerId: 'p1', room: 'ps:s2', peerId: 'PA3' },
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

  it('reads a relayed dialect message only when it has its sender and an object payload', () => {
    expect(readRelayed('{"from":"PA1","payload":{"type":"offer","sdp":"v=0"}}')).toEqual({ from: 'PA1', payload: { type: 'offer', sdp: 'v=0' } });
    for (const bad of ['not json', '{"payload":{}}', '{"from":"PA1"}', '{"from":"PA1","payload":"offer"}', '{"from":7,"payload":{}}', '[]']) {
      expect(readRelayed(bad), bad).toBeUndefined();
    }
  });

  it('reads an answer to ps.subscribe only as the streamer’s presence peer or a failure message', () => {
    expect(isSubscribed({ streamerPeer: 'PA1' })).toBe(true);
    expect(isSubscribed({ failed: 'Streamer S1 is full. Max players = 1.' })).toBe(true);
    for (const bad of [{}, { streamerPeer: 7 }, { failed: null }, 'PA1', null]) {
      expect(isSubscribed(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
