import { beforeEach, describe, expect, it } from 'vitest';
import type { EventData, EventType, PeerInfo, RequestData, RequestType } from '@heliograph/protocol';
import { Emitter } from '@heliograph/common';
import type { StateDetail } from '../client.js';
import { HeliographError } from '../errors.js';
import { FakePeerConnection, FakeStream, FakeTrack } from '../test-support/fake-peer-connection.js';
import { CallManager, type CallSignalling } from './call-manager.js';

type Events = { [K in EventType]: [EventData<K>] } & {
  rejoined: [{ peers: PeerInfo[]; iceServers: RTCIceServer[] }];
  'rejoin.failed': [unknown];
  resumed: [{ replayed: number }];
  state: [string, StateDetail?];
};

/** An in-memory signalling server: delivers `signal.send` in order, a macrotask later. */
class FakeRoom {
  readonly members = new Map<string, FakeMember>();
  sent = 0;
  join(id: string): FakeMember {
    const member = new FakeMember(id, this);
    this.members.set(id, member);
    return member;
  }
}

class FakeMember extends Emitter<Events> {
  /** Its signalling connection is down: requests fail, as the client's do. */
  down = false;
  constructor(
    readonly peerId: string,
    readonly room: FakeRoom,
  ) {
    super();
  }
  fire<K extends keyof Events>(type: K, ...args: Events[K]) {
    this.emit(type, ...args);
  }
  async request<K extends RequestType>(type: K, data: RequestData<K>): Promise<never> {
    if (this.down) {
      throw new HeliographError({ code: 'UNAVAILABLE', message: 'not connected (reconnecting)' });
    }
    if (type === 'signal.send') {
      const { to, signal } = data as RequestData<'signal.send'>;
      this.room.sent++;
      const target = this.room.members.get(to);
      setTimeout(() => target?.fire('signal', { from: this.peerId, signal }), 0);
    }
    return {} as never;
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 0));
  }
};

function manager(member: FakeMember, stream = new FakeStream([new FakeTrack('audio'), new FakeTrack('video')])) {
  const calls = new CallManager(member as unknown as CallSignalling, {
    localStream: stream as unknown as MediaStream,
    createPeerConnection: () => new FakePeerConnection(member.peerId) as unknown as RTCPeerConnection,
  });
  const tracks: string[] = [];
  const ended: string[] = [];
  calls.on('track', (peer) => tracks.push(peer));
  calls.on('ended', (peer) => ended.push(peer));
  return { calls, tracks, ended, stream };
}

const pcOf = (m: CallManager, peer: string) => m.calls.get(peer)?.pc as unknown as FakePeerConnection;

beforeEach(() => {
  FakePeerConnection.all = [];
});

describe('CallManager', () => {
  it('the newcomer calls the peers already there; one offer, one answer, media both ways', async () => {
    const room = new FakeRoom();
    const a = manager(room.join('PR_a'));
    const b = manager(room.join('PR_b'));
    b.calls.start([{ id: 'PR_a', userId: 'a', metadata: {}, joinedAt: 0 }]);
    await settle();
    const pa = pcOf(a.calls, 'PR_b');
    const pb = pcOf(b.calls, 'PR_a');
    expect(pa.signalingState).toBe('stable');
    expect(pb.signalingState).toBe('stable');
    expect(pb.log.filter((l) => l.startsWith('local offer'))).toHaveLength(1);
    expect(pa.log).not.toContain('rollback');
    expect(a.tracks).toEqual(['PR_b', 'PR_b']);
    expect(b.tracks).toEqual(['PR_a', 'PR_a']);
    expect(pa.added.length).toBeGreaterThan(0);
  });

  it('resolves glare: both offer at once, the polite side yields, both end stable', async () => {
    const room = new FakeRoom();
    const a = manager(room.join('PR_a'));
    const b = manager(room.join('PR_b'));
    a.calls.start([{ id: 'PR_b', userId: 'b', metadata: {}, joinedAt: 0 }]);
    b.calls.start([{ id: 'PR_a', userId: 'a', metadata: {}, joinedAt: 0 }]);
    await settle();
    const pa = pcOf(a.calls, 'PR_b');
    const pb = pcOf(b.calls, 'PR_a');
    expect([pa.signalingState, pb.signalingState]).toEqual(['stable', 'stable']);
    // PR_a < PR_b, so a is polite: it rolled back its offer and answered b's.
    expect(pa.log).toContain('rollback');
    expect(pb.log).not.toContain('rollback');
    expect(pa.remoteDescription?.sdp).toMatch(/by PR_b/);
  });

  it('keeps remote candidates that arrive before the description until it is set', async () => {
    const room = new FakeRoom();
    const a = manager(room.join('PR_a'));
    room.join('PR_b');
    const member = room.members.get('PR_a')!;
    member.fire('signal', { from: 'PR_b', signal: { candidate: { candidate: 'early', sdpMid: '0' } } });
    member.fire('signal', { from: 'PR_b', signal: { description: { type: 'offer', sdp: 'offer 1 by PR_b tracks=1' } } });
    await settle();
    const pa = pcOf(a.calls, 'PR_b');
    expect(pa.added).toEqual([{ candidate: 'early', sdpMid: '0' }]);
    expect(pa.signalingState).toBe('stable');
  });

  it('renegotiates when local tracks change (modifying the call)', async () => {
    const room = new FakeRoom();
    const a = manager(room.join('PR_a'));
    const b = manager(room.join('PR_b'), new FakeStream([new FakeTrack('audio')]));
    b.calls.start([{ id: 'PR_a', userId: 'a', metadata: {}, joinedAt: 0 }]);
    await settle();
    const before = a.tracks.length;
    b.calls.setLocalStream(new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]) as unknown as MediaStream);
    await settle();
    const pb = pcOf(b.calls, 'PR_a');
    expect(pb.log.filter((l) => l.startsWith('local offer'))).toHaveLength(2);
    expect(pb.signalingState).toBe('stable');
    expect(a.tracks.length).toBeGreaterThan(before);
  });

  it('restarts ICE when the connection fails', async () => {
    const room = new FakeRoom();
    const a = manager(room.join('PR_a'));
    const b = manager(room.join('PR_b'));
    b.calls.start([{ id: 'PR_a', userId: 'a', metadata: {}, joinedAt: 0 }]);
    await settle();
    pcOf(a.calls, 'PR_b').fail();
    await settle();
    expect(pcOf(b.calls, 'PR_a').remoteDescription?.sdp).toMatch(/by PR_a .*restart/);
    expect(pcOf(a.calls, 'PR_b').signalingState).toBe('stable');
  });

  it('hangs up on both sides, and ends the call when the peer leaves', async () => {
    const room = new FakeRoom();
    const a = manager(room.join('PR_a'));
    const b = manager(room.join('PR_b'));
    const c = manager(room.join('PR_c'));
    c.calls.start([
      { id: 'PR_a', userId: 'a', metadata: {}, joinedAt: 0 },
      { id: 'PR_b', userId: 'b', metadata: {}, joinedAt: 0 },
    ]);
    await settle();
    c.calls.hangUp('PR_a');
    await settle();
    expect(c.ended).toEqual(['PR_a']);
    expect(a.ended).toEqual(['PR_c']);
    expect(a.calls.calls.size).toBe(0);

    room.members.get('PR_b')!.fire('peer.left', { peerId: 'PR_c', reason: 'left' });
    expect(b.ended).toEqual(['PR_c']);
    expect(pcOf(c.calls, 'PR_b').signalingState).toBe('stable');
  });

  it('ends every call when the signalling connection drops and the session cannot be resumed', async () => {
    const room = new FakeRoom();
    manager(room.join('PR_a'));
    const b = manager(room.join('PR_b'));
    b.calls.start([{ id: 'PR_a', userId: 'a', metadata: {}, joinedAt: 0 }]);
    await settle();
    room.members.get('PR_b')!.fire('state', 'reconnecting');
    expect(b.ended).toEqual(['PR_a']);
  });

  const info = (id: string): PeerInfo => ({ id, userId: id, metadata: {}, joinedAt: 0 });
  const offers = (pc: FakePeerConnection) => pc.log.filter((l) => l.startsWith('local offer'));

  /** PR_c joined last and called PR_a and PR_b. */
  async function threeInACall() {
    const room = new FakeRoom();
    const a = manager(room.join('PR_a'));
    const b = manager(room.join('PR_b'));
    const c = manager(room.join('PR_c'));
    c.calls.start([info('PR_a'), info('PR_b')]);
    await settle();
    return { room, a, b, c, member: room.members.get('PR_c')! };
  }

  it('keeps every RTCPeerConnection and its media across a resumed drop, and restarts ICE only where it failed', async () => {
    const { room, a, b, c, member } = await threeInACall();
    const toA = pcOf(c.calls, 'PR_a');
    const toB = pcOf(c.calls, 'PR_b');
    const offersBefore = [offers(toA).length, offers(toB).length];
    const tracksOfB = b.tracks.length;

    member.down = true;
    member.fire('state', 'reconnecting', { code: 1006, resumable: true });
    await settle();
    expect(c.ended).toEqual([]);
    expect(toA.connectionState).not.toBe('closed');
    toA.fail(); // the media path to PR_a fails while signalling is down: ICE restarts
    await settle();
    const sentWhileDown = room.sent;
    expect(offers(toA).at(-1)).toMatch(/restart/);
    expect(pcOf(a.calls, 'PR_c').remoteDescription?.sdp).not.toMatch(/restart/); // held, not lost

    member.down = false;
    member.fire('state', 'open', { resumed: true });
    member.fire('resumed', { replayed: 0 });
    await settle();
    expect(room.sent).toBeGreaterThan(sentWhileDown);
    // The same connections, the same media; only the failed one renegotiated (its ICE restart).
    expect(pcOf(c.calls, 'PR_a')).toBe(toA);
    expect(pcOf(c.calls, 'PR_b')).toBe(toB);
    expect(pcOf(a.calls, 'PR_c').remoteDescription?.sdp).toMatch(/by PR_c .*restart/);
    expect([toA.signalingState, pcOf(a.calls, 'PR_c').signalingState]).toEqual(['stable', 'stable']);
    expect([offers(toA).length, offers(toB).length]).toEqual([offersBefore[0]! + 1, offersBefore[1]]);
    expect(toB.log.filter((l) => /restart/.test(l))).toEqual([]);
    expect(b.tracks.length).toBe(tracksOfB); // (the fake re-announces tracks on every renegotiation)
    expect([a.ended, b.ended, c.ended]).toEqual([[], [], []]);
  });

  it('keeps the call with a remote peer that is reconnecting; ends it when that peer leaves', async () => {
    const { a, room } = await threeInACall();
    const member = room.members.get('PR_a')!;
    const pc = pcOf(a.calls, 'PR_c');
    member.fire('peer.reconnecting', { peerId: 'PR_c' });
    member.fire('peer.reconnected', { peerId: 'PR_c' });
    member.fire('peer.reconnecting', { peerId: 'PR_c' });
    expect(a.ended).toEqual([]);
    expect(pcOf(a.calls, 'PR_c')).toBe(pc);
    member.fire('peer.left', { peerId: 'PR_c', reason: 'resume_expired' });
    expect(a.ended).toEqual(['PR_c']);
    expect(pc.connectionState).toBe('closed');
  });

  it('ends the calls of a session that could not be resumed, and calls again on rejoined', async () => {
    const { c, member } = await threeInACall();
    const old = pcOf(c.calls, 'PR_a');
    member.down = true;
    member.fire('state', 'reconnecting', { code: 1006, resumable: true });
    old.fail(); // its restart offer is held...
    await settle();
    member.down = false;
    member.fire('state', 'open', {}); // ...and dropped: the resume was refused, a new session began
    expect(c.ended.sort()).toEqual(['PR_a', 'PR_b']);
    member.fire('rejoined', { peers: [info('PR_a')], iceServers: [] });
    await settle();
    const fresh = pcOf(c.calls, 'PR_a');
    expect(fresh).not.toBe(old);
    expect(fresh.signalingState).toBe('stable');
    expect(offers(fresh)).toHaveLength(1);
    expect(fresh.log.join()).not.toMatch(/restart/);
  });

  it('ends every call when a rejoin fails', async () => {
    const { c, member } = await threeInACall();
    member.fire('state', 'reconnecting', { code: 1006, resumable: true });
    member.fire('state', 'reconnecting', { resumable: false }); // the resume window ended
    expect(c.ended.sort()).toEqual(['PR_a', 'PR_b']);

    const again = await threeInACall();
    again.member.fire('rejoin.failed', new HeliographError({ code: 'ROOM_NOT_FOUND', message: 'gone' }));
    expect(again.c.ended.sort()).toEqual(['PR_a', 'PR_b']);
  });
});
