import { describe, expect, it } from 'vitest';
import { expectationFor, idKey } from './native-expect.js';

const limits = { maxFrameBytes: 100, hardFrameBytes: 200 };
const text = (s: string) => ({ data: Buffer.from(s), binary: false });

describe('what the server owes for a frame', () => {
  it('an answer with the id when it is readable, else with null', () => {
    expect(expectationFor(text('{"id":7,"type":"ping"}'), limits)).toEqual({ answer: 7 });
    expect(expectationFor(text('{"id":"x","type":"nope"}'), limits)).toEqual({ answer: 'x' });
    for (const frame of ['', '{', '[1]', '{"id":1.5}', '{"id":9007199254740993}', `{"id":"${'x'.repeat(65)}"}`]) {
      expect(expectationFor(text(frame), limits), frame).toEqual({ answer: null });
    }
    expect(expectationFor({ data: Buffer.from('{"id":7}'), binary: true }, limits)).toEqual({ answer: null });
  });

  it('over maxFrameBytes: the id only when it is among the first bytes; over the hard cap or not UTF-8: a close', () => {
    expect(expectationFor(text(`{"id":3,"pad":"${'p'.repeat(120)}"}`), limits)).toEqual({ answer: 3 });
    expect(expectationFor(text(`{"pad":"${'p'.repeat(600)}","id":3}`), { maxFrameBytes: 100, hardFrameBytes: 1000 })).toEqual({ answer: null });
    expect(expectationFor(text('x'.repeat(201)), limits)).toEqual({ close: 1009 });
    expect(expectationFor({ data: Buffer.from([0x7b, 0xff, 0x7d]), binary: false }, limits)).toEqual({ close: 1007 });
  });

  it('keys ids as the server echoes them', () => {
    expect(idKey(-0)).toBe(idKey(0));
    expect(idKey('1')).not.toBe(idKey(1));
    expect(idKey(null)).toBe('null');
  });
});
