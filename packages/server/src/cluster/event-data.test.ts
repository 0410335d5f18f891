import { describe, expect, it } from 'vitest';
import { readEventData } from './event-data.js';

describe('readEventData', () => {
  it('reads membership events another node published, checked with the protocol schemas', () => {
    const peer = { id: 'PR_a', userId: 'u', metadata: {}, joinedAt: 1 };
    expect(readEventData('peer.joined', JSON.stringify({ peer }))).toEqual({ peer });
    expect(readEventData('peer.left', '{"peerId":"PR_a","reason":"left"}')).toEqual({ peerId: 'PR_a', reason: 'left' });
  });

  it('refuses what does not parse or match, instead of casting it', () => {
    for (const [event, data] of [
      ['peer.joined', 'not json'],
      ['peer.joined', '{"peer":{"id":7}}'],
      ['peer.left', '{"peerId":"PR_a","reason":"because"}'],
      ['peer.updated', '{}'],
      ['room.updated', '{"room":{"metadata":[]}}'],
    ] as const) {
      expect(readEventData(event, data), `${event} ${data}`).toBeUndefined();
    }
  });
});
