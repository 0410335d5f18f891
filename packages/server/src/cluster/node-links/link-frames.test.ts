import { describe, expect, it } from 'vitest';
import { decodeReply, decodeRequest, encodeReply, encodeRequest, FrameReader, Kind } from './link-frames.js';

describe('link frames', () => {
  it('carries a request’s `data` raw after its head, and leaves the message as it was', () => {
    const data = '{"sdp":"v=0\\r\\n","emoji":"📞","quote":"\\"","lone":"\uD800"}';
    const message = { type: 'peer.deliver', room: 'r1', to: 'PR_x', event: 'signal', data };
    const [frame] = new FrameReader().push(encodeRequest(7, 42, message)) ?? [];
    expect(message.data).toBe(data);
    expect(frame?.kind).toBe(Kind.REQ);
    const request = decodeRequest(frame!.body);
    expect(request).toMatchObject({ id: 7, seq: 42, data: Buffer.from(data).toString() });
    expect(JSON.parse(request!.head)).toEqual({ type: 'peer.deliver', room: 'r1', to: 'PR_x', event: 'signal' });
    // Without a string `data`, everything is in the head.
    const plain = decodeRequest(new FrameReader().push(encodeRequest(8, 43, { type: 'peer.kick', data: 5 }))![0]!.body);
    expect(plain).toEqual({ id: 8, seq: 43, head: '{"type":"peer.kick","data":5}', data: undefined });
  });

  it('answers `{}` in 13 bytes, other bodies and errors as JSON', () => {
    expect(encodeReply(3, { ok: true, body: {} })).toHaveLength(13);
    const frames = new FrameReader().push(
      Buffer.concat([encodeReply(3, { ok: true, body: { a: 1 } }), encodeReply(4, { ok: false, error: { code: 'TIMEOUT', message: 'late' } })]),
    )!;
    expect(frames.map((f) => [f.kind, decodeReply(f.body)])).toEqual([
      [Kind.OK, { id: 3, text: '{"a":1}' }],
      [Kind.ERR, { id: 4, text: '{"code":"TIMEOUT","message":"late"}' }],
    ]);
  });

  it('reassembles frames cut anywhere, and refuses a frame over the bound or a malformed request', () => {
    const bytes = Buffer.concat([1, 2, 3].map((n) => encodeRequest(n, n, { type: 'x', data: 'y'.repeat(n * 100) })));
    for (const cut of [1, 3, 4, 5, 30, 200, bytes.length - 1]) {
      const reader = new FrameReader();
      const frames = [...reader.push(bytes.subarray(0, cut))!, ...reader.push(bytes.subarray(cut))!];
      expect(frames.map((f) => decodeRequest(f.body)?.id)).toEqual([1, 2, 3]);
    }
    expect(new FrameReader(10).push(Buffer.from([0, 0, 0, 11, Kind.PING]))).toBeUndefined();
    expect(new FrameReader().push(Buffer.from([0, 0, 0, 0]))).toBeUndefined();
    expect(decodeRequest(Buffer.alloc(20))).toBeUndefined();
    const lying = Buffer.alloc(21);
    lying.writeUInt32BE(1000, 17); // a head longer than the frame
    expect(decodeRequest(lying)).toBeUndefined();
  });
});
