import type { EventData, PeerInfo } from '@heliograph/protocol';
import { Emitter } from '@heliograph/common';
import type { ConnectionState, HeliographClient, StateDetail } from '../client.js';
import { PeerCall, type CallSignal } from './peer-call.js';

export type CallEvents = {
  /** A remote peer's media arrived (or changed). */
  track: [peerId: string, stream: MediaStream];
  /** A call's connection state changed. */
  state: [peerId: string, state: RTCPeerConnectionState];
  /** A call ended: hung up by either side, or the peer left. */
  ended: [peerId: string];
  /** Something went wrong in a call; the call goes on if it can. */
  error: [peerId: string, error: unknown];
};

/** What calls need of the client: its events, its requests and its peer id. */
export type CallSignalling = Pick<HeliographClient, 'on' | 'request' | 'peerId'>;

export interface CallManagerOptions {
  /** Extra RTCPeerConnection settings; `iceServers` come from the server unless given here. */
  rtcConfig?: RTCConfiguration;
  /** Local media to send in every call. */
  localStream?: MediaStream;
  /** Makes peer connections; replaceable for tests. */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
}

function isCallSignal(value: unknown): value is CallSignal {
  return typeof value === 'object' && value !== null && ('description' in value || 'candidate' in value || 'bye' in value);
}

/**
 * Mesh calls for everyone in the client's room: one `PeerCall` per remote peer. The newcomer
 * calls the peers already there, so starting a call needs no collision; the others answer when
 * the offer arrives.
 *
 * A signalling drop the session survives (`resumed`) leaves every call as it is: media flows
 * peer to peer meanwhile, and the signals a call makes while signalling is down are sent, in
 * order, once the session is resumed. A session that is lost ends the calls, and `rejoined`
 * starts them again with the new peer ids. A remote peer that is reconnecting keeps its calls;
 * one that leaves ends them.
 */
export class CallManager extends Emitter<CallEvents> {
  readonly #client: CallSignalling;
  readonly #opts: CallManagerOptions;
  readonly #calls = new Map<string, PeerCall>();
  #iceServers: RTCIceServer[] = [];
  #localStream: MediaStream | undefined;
  /** Signalling is down but the session may be resumed: signals wait in `#held`. */
  #holding = false;
  #held: Array<{ call: PeerCall; signal: CallSignal }> = [];
  readonly #unsubscribe: Array<() => void>;

  constructor(client: CallSignalling, options: CallManagerOptions = {}) {
    super();
    this.#client = client;
    this.#opts = options;
    this.#localStream = options.localStream;
    this.#unsubscribe = [
      client.on('signal', (e) => this.#onSignal(e)),
      client.on('peer.left', (e) => this.#end(e.peerId, false)),
      client.on('rejoined', (result) => this.start(result.peers, result.iceServers)),
      client.on('rejoin.failed', () => this.#endAll(false)),
      client.on('state', (state, detail) => this.#onState(state, detail)),
    ];
  }

  /** The calls in progress, by remote peer id. */
  get calls(): ReadonlyMap<string, PeerCall> {
    return this.#calls;
  }

  /** Calls every peer already in the room (pass the `room.join` result's `peers` and `iceServers`). */
  start(peers: PeerInfo[], iceServers: RTCIceServer[] = []): void {
    this.#endAll(false);
    this.#iceServers = iceServers;
    for (const peer of peers) {
      // Adding tracks fires negotiationneeded: the newcomer's offer starts each call.
      this.#syncTracks(this.#call(peer.id).pc);
    }
  }

  /**
   * Sends `stream` in every call instead of the previous one. Adding or removing tracks
   * renegotiates each call.
   */
  setLocalStream(stream: MediaStream | undefined): void {
    this.#localStream = stream;
    for (const call of this.#calls.values()) {
      this.#syncTracks(call.pc);
    }
  }

  /** Ends the call with one peer, or every call. */
  hangUp(peerId?: string): void {
    if (peerId === undefined) {
      this.#endAll(true);
    } else {
      this.#end(peerId, true);
    }
  }

  /** Ends every call and stops listening to the client. */
  close(): void {
    this.#endAll(true);
    for (const off of this.#unsubscribe) {
      off();
    }
  }

  #call(remotePeerId: string): PeerCall {
    const existing = this.#calls.get(remotePeerId);
    if (existing && !existing.closed) {
      return existing;
    }
    const config: RTCConfiguration = { iceServers: this.#iceServers, ...this.#opts.rtcConfig };
    const pc = this.#opts.createPeerConnection?.(config) ?? new RTCPeerConnection(config);
    const localId = this.#client.peerId ?? '';
    const call: PeerCall = new PeerCall({
      remotePeerId,
      // Deterministic roles: both sides agree without a word exchanged.
      polite: localId < remotePeerId,
      pc,
      send: (signal) => this.#send(call, signal),
      onTrack: (stream) => this.emit('track', remotePeerId, stream),
      onStateChange: (state) => {
        this.emit('state', remotePeerId, state);
        if (state === 'closed' && this.#calls.get(remotePeerId) === call) {
          this.#calls.delete(remotePeerId);
          this.emit('ended', remotePeerId);
        }
      },
      onError: (err) => this.emit('error', remotePeerId, err),
      beforeAnswer: () => this.#syncTracks(pc),
    });
    this.#calls.set(remotePeerId, call);
    return call;
  }

  #onState(state: ConnectionState, detail: StateDetail | undefined): void {
    if (state === 'reconnecting' && detail?.resumable) {
      this.#holding = true;
      return;
    }
    const held = this.#held;
    this.#holding = false;
    this.#held = [];
    if (state === 'open' && detail?.resumed) {
      // The client has re-sent the signals that were in flight; these come after them.
      for (const { call, signal } of held) {
        if (!call.closed) {
          this.#send(call, signal).catch((err: unknown) => this.emit('error', call.remotePeerId, err));
        }
      }
    } else if (state !== 'connecting') {
      // The session is gone (a drop it did not survive, or a new session): `rejoined` restarts calls.
      this.#endAll(false);
    }
  }

  async #send(call: PeerCall, signal: CallSignal): Promise<void> {
    if (this.#holding) {
      this.#held.push({ call, signal });
      return;
    }
    await this.#client.request('signal.send', { to: call.remotePeerId, signal });
  }

  #onSignal(event: EventData<'signal'>): void {
    if (!isCallSignal(event.signal)) {
      return;
    }
    if ('bye' in event.signal) {
      this.#end(event.from, false);
      return;
    }
    // The first offer from a newcomer starts our side of the call.
    void this.#call(event.from).receive(event.signal);
  }

  #syncTracks(pc: RTCPeerConnection): void {
    const stream = this.#localStream;
    const wanted = new Set(stream?.getTracks() ?? []);
    for (const sender of pc.getSenders()) {
      if (sender.track && !wanted.has(sender.track)) {
        pc.removeTrack(sender);
      }
    }
    const sending = new Set(pc.getSenders().map((s) => s.track));
    for (const track of wanted) {
      if (!sending.has(track) && stream) {
        pc.addTrack(track, stream);
      }
    }
  }

  #end(peerId: string, notify: boolean): void {
    this.#calls.get(peerId)?.hangUp(notify);
  }

  #endAll(notify: boolean): void {
    for (const call of [...this.#calls.values()]) {
      call.hangUp(notify);
    }
  }
}
