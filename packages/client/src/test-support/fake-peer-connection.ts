/**
 * A fake RTCPeerConnection with the offer/answer state machine of the real one (including the
 * implicit rollback a remote offer causes in `have-local-offer`), enough for negotiation tests.
 * SDP is a JSON-ish string recording who made it, its tracks and whether it restarts ICE.
 */
let counter = 0;

export class FakeTrack {
  constructor(
    readonly kind: 'audio' | 'video',
    readonly id = `track-${++counter}`,
  ) {}
}

export class FakeStream {
  readonly id = `stream-${++counter}`;
  constructor(readonly tracks: FakeTrack[]) {}
  getTracks(): FakeTrack[] {
    return this.tracks;
  }
}

interface Desc {
  type: 'offer' | 'answer';
  sdp: string;
}

export class FakePeerConnection {
  static all: FakePeerConnection[] = [];
  signalingState: 'stable' | 'have-local-offer' | 'have-remote-offer' | 'closed' = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: (Desc & { toJSON(): Desc }) | null = null;
  remoteDescription: Desc | null = null;
  readonly senders: Array<{ track: FakeTrack | null }> = [];
  readonly added: Array<RTCIceCandidateInit | undefined> = [];
  readonly log: string[] = [];
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: ((e: { candidate: { toJSON(): RTCIceCandidateInit } | null }) => void) | null = null;
  ontrack: ((e: { streams: FakeStream[]; track: FakeTrack }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  #needed = false;
  #restart = false;
  #n = 0;

  constructor(readonly name: string = `pc${FakePeerConnection.all.length + 1}`) {
    FakePeerConnection.all.push(this);
  }

  getSenders() {
    return this.senders;
  }
  addTrack(track: FakeTrack) {
    const sender = { track };
    this.senders.push(sender);
    // Like the real one: a track added while answering rides on the remote offer's transceiver.
    if (this.signalingState !== 'have-remote-offer') {
      this.#negotiationNeeded();
    }
    return sender;
  }
  removeTrack(sender: { track: FakeTrack | null }) {
    sender.track = null;
    this.#negotiationNeeded();
  }
  restartIce() {
    this.#restart = true;
    this.#negotiationNeeded();
  }

  async setLocalDescription(): Promise<void> {
    await Promise.resolve();
    const tracks = this.senders.filter((s) => s.track).length;
    if (this.signalingState === 'have-remote-offer') {
      this.#setLocal({ type: 'answer', sdp: `answer by ${this.name} tracks=${tracks}` });
      this.signalingState = 'stable';
      this.#becameStable();
    } else {
      const restart = this.#restart ? ' restart' : '';
      this.#restart = false;
      this.#needed = false;
      this.#setLocal({ type: 'offer', sdp: `offer ${++this.#n} by ${this.name} tracks=${tracks}${restart}` });
      this.signalingState = 'have-local-offer';
    }
    this.log.push(`local ${this.localDescription?.sdp}`);
    queueMicrotask(() => this.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: `cand of ${this.name}`, sdpMid: '0' }) } }));
  }

  async setRemoteDescription(desc: Desc): Promise<void> {
    await Promise.resolve();
    if (desc.type === 'offer') {
      if (this.signalingState === 'have-local-offer') {
        this.log.push('rollback');
      }
      this.signalingState = 'have-remote-offer';
    } else {
      if (this.signalingState !== 'have-local-offer') {
        throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      }
      this.signalingState = 'stable';
      this.#becameStable();
    }
    this.remoteDescription = desc;
    this.log.push(`remote ${desc.sdp}`);
    const tracks = Number(/tracks=(\d+)/.exec(desc.sdp)?.[1] ?? 0);
    for (let i = 0; i < tracks; i++) {
      const track = new FakeTrack('video');
      this.ontrack?.({ streams: [new FakeStream([track])], track });
    }
  }

  async addIceCandidate(candidate?: RTCIceCandidateInit): Promise<void> {
    await Promise.resolve();
    if (!this.remoteDescription) {
      throw new Error('InvalidStateError: no remote description');
    }
    this.added.push(candidate);
  }

  close() {
    this.signalingState = 'closed';
    this.connectionState = 'closed';
  }

  /** Simulates the transport failing (for ICE restart tests). */
  fail() {
    this.connectionState = 'failed';
    this.onconnectionstatechange?.();
  }

  #setLocal(desc: Desc) {
    this.localDescription = { ...desc, toJSON: () => desc };
  }
  #negotiationNeeded() {
    this.#needed = true;
    if (this.signalingState === 'stable') {
      queueMicrotask(() => this.#fireNeeded());
    }
  }
  #becameStable() {
    if (this.#needed) {
      queueMicrotask(() => this.#fireNeeded());
    }
  }
  #fireNeeded() {
    if (this.#needed && this.signalingState === 'stable') {
      this.#needed = false;
      this.onnegotiationneeded?.();
    }
  }
}
