import { describe, expect, it } from 'vitest';
import { decodeFrame } from './frames.js';

describe('decodeFrame', () => {
  it('accepts the four frame shapes', () => {
    const m = { type: 'ping' };
    for (const f of [
      { k: 'pub', from: 'A', m },
      { k: 'req', from: 'A', id: '1', m },
      { k: 'res', from: 'A', id: '1', ok: true, body: null },
      { k: 'res', from: 'A', id: '1', ok: false, error: { code: 'TIMEOUT', message: 'late' } },
    ]) {
      expect(decodeFrame(JSON.stringify(f))).toEqual(f);
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
      expect(decodeFrame(raw)).toBeUndefined();
    }
  });
});
