import { describe, expect, it } from 'vitest';
import { decodeFrames } from './frames.js';

describe('decodeFrames', () => {
  it('accepts the four frame shapes', () => {
    const m = { type: 'ping' };
    for (const f of [
      { k: 'pub', from: 'A', m },
      { k: 'req', from: 'A', id: '1', m },
      { k: 'res', from: 'A', id: '1', ok: true, body: null },
      { k: 'res', from: 'A', id: '1', ok: false, error: { code: 'TIMEOUT', message: 'late' } },
    ]) {
      expect(decodeFrames(JSON.stringify(f))).toEqual({ frames: [f], dropped: 0 });
    }
  });

  it('drops anything else without throwing', () => {
    for (const raw of [
      'not json',
      'null',
      '[]',
      '{"k":"pub","m":{"type":"x"}}',
      '{"k":"pub","from":"A","m":{}}',
      '{"k":"req","from":"A","m":{"type":"x"}}',
      '{"k":"res","from":"A","id":"1","ok":false,"error":{"code":"NOPE","message":"x"}}',
      '{"k":"what","from":"A","id":"1"}',
    ]) {
      expect(decodeFrames(raw)).toEqual({ frames: [], dropped: 1 });
    }
  });

  it('reads a batch in order, dropping only its bad frames', () => {
    const a = { k: 'pub', from: 'A', m: { type: 'one' } };
    const b = { k: 'req', from: 'A', id: '2', m: { type: 'two' } };
    expect(decodeFrames(JSON.stringify([a, { k: 'what' }, b]))).toEqual({ frames: [a, b], dropped: 1 });
    expect(decodeFrames(JSON.stringify(a))).toEqual({ frames: [a], dropped: 0 });
    expect(decodeFrames('[]')).toEqual({ frames: [], dropped: 1 });
    expect(decodeFrames('nope')).toEqual({ frames: [], dropped: 1 });
  });
});
