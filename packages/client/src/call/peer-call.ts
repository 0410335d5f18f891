/** The signals a call exchanges over `signal.send`. */
export type CallSignal = { description: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit | null } | { bye: true };

export interface PeerCallOptions {
  remotePeerId: string;
  /** The polite side yields on an offer collision ("perfect negotiation"). */
  polite: boolean;
  pc: RTCPeerConnection;
  send: (signal: CallSignal) => Promise<void>;
  onTrack: (stream: MediaStream) => void;
  onStateChange: (state: RTCPeerConnectionState) => void;
  onError: (err: unknown) => void;
  /**
   * Called after a remote offer is set and before answering: tracks added here ride on the
   * offer's transceivers, so the answer carries them and no second round is needed.
   */
  beforeAnswer: () => void;
}

/**
 * One call with one remote peer, on the "perfect negotiation" pattern: either side may offer at
 * any time (to start, to add or remove tracks, to restart ICE) and collisions resolve by
 * politeness. Incoming signals are applied one at a time, in order; remote candidates that arrive
 * before the remote description are kept until it is set.
 */
export class PeerCall {
  readonly remotePeerId: string;
  readonly pc: RTCPeerConnection;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  #queue: Promise<void> = Promise.resolve();
  readonly #pendingCandidates: Array<RTCIceCandidateInit | null> = [];
  #closed = false;
  readonly #opts: PeerCallOptions;

  constructor(options: PeerCallOptions) {
    this.#opts = options;
    this.remotePeerId = options.remotePeerId;
    this.pc = options.pc;
    const pc = this.pc;
    pc.onnegotiationneeded = () => void this.#negotiate();
    pc.onicecandidate = (event) => void this.#send({ candidate: event.candidate ? event.candidate.toJSON() : null });
    pc.ontrack = (event) => options.onTrack(event.streams[0] ?? new MediaStream([event.track]));
    pc.onconnectionstatechange = () => {
      options.onStateChange(pc.connectionState);
      if (pc.connectionState === 'failed') {
        // An ICE restart renegotiates through onnegotiationneeded, on whichever side sees it.
        pc.restartIce();
      }
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Applies a signal from the remote peer, after every signal received before it. */
  receive(signal: CallSignal): Promise<void> {
    this.#queue = this.#queue.then(() => this.#apply(signal)).catch((err: unknown) => this.#opts.onError(err));
    return this.#queue;
  }

  /** Ends the call; with `notify`, tells the remote peer first. */
  hangUp(notify = true): void {
    if (this.#closed) {
      return;
    }
    if (notify) {
      void this.#send({ bye: true });
    }
    this.#closed = true;
    this.pc.close();
    this.#opts.onStateChange('closed');
  }

  async #negotiate(): Promise<void> {
    if (this.#closed) {
      return;
    }
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      if (this.pc.localDescription) {
        await this.#send({ description: this.pc.localDescription.toJSON() });
      }
    } catch (err) {
      this.#opts.onError(err);
    } finally {
      this.#makingOffer = false;
    }
  }

  async #apply(signal: CallSignal): Promise<void> {
    if (this.#closed) {
      return;
    }
    if ('bye' in signal) {
      this.hangUp(false);
    } else if ('description' in signal) {
      await this.#applyDescription(signal.description);
    } else if (!this.pc.remoteDescription) {
      this.#pendingCandidates.push(signal.candidate);
    } else {
      await this.#addCandidate(signal.candidate);
    }
  }

  async #applyDescription(description: RTCSessionDescriptionInit): Promise<void> {
    const pc = this.pc;
    const readyForOffer = !this.#makingOffer && (pc.signalingState === 'stable' || this.#settingRemoteAnswer);
    const collision = description.type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.#opts.polite && collision;
    if (this.#ignoreOffer) {
      return;
    }
    this.#settingRemoteAnswer = description.type === 'answer';
    await pc.setRemoteDescription(description);
    this.#settingRemoteAnswer = false;
    if (description.type === 'offer') {
      this.#opts.beforeAnswer();
      await pc.setLocalDescription();
      if (pc.localDescription) {
        await this.#send({ description: pc.localDescription.toJSON() });
      }
    }
    for (const candidate of this.#pendingCandidates.splice(0)) {
      await this.#addCandidate(candidate);
    }
  }

  async #addCandidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    try {
      // null marks the end of the remote candidates.
      await this.pc.addIceCandidate(candidate ?? undefined);
    } catch (err) {
      // Candidates of an offer we ignored in a collision are expected to fail.
      if (!this.#ignoreOffer) {
        throw err;
      }
    }
  }

  async #send(signal: CallSignal): Promise<void> {
    if (this.#closed) {
      return;
    }
    try {
      await this.#opts.send(signal);
    } catch (err) {
      this.#opts.onError(err);
    }
  }
}
