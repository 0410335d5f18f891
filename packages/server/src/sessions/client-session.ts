import { CLOSE_CODES, encodeEvent, type EventType, type LeaveReason, type RequestId } from '@heliograph/protocol';
import type { Clock, TimerHandle } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { Session } from '../handlers/index.js';
import type { Peer } from '../rooms/room.js';
import type { Delivery, PeerSink } from '../rooms/peer-sink.js';
import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import { EventLog, type LoggedEvent } from './event-log.js';

/** The socket side of a session: one `Connection`, replaced by another on a resume. */
export interface SessionLink {
  /** Sends a frame; false when the client has fallen too far behind (the link then closes itself). */
  send(frame: string): boolean;
  /** Closes the socket with `code`; the session learns of it through `socketClosed`. */
  shutdown(code: number, reason: string, leaveReason?: LeaveReason): void;
  /** Another connection resumed the session: drop this socket without a word. */
  takenOver(): void;
}

/** What a session needs of the node's registry of sessions. */
export interface SessionHost {
  readonly clock: Clock;
  readonly rooms: Rooms;
  readonly limits: { windowMs: number; maxEvents: number; maxBytes: number };
  /** Bytes of every session's log together, after `delta`; true while within the node's total. */
  account(delta: number): boolean;
  /** The session ended: forget it. */
  ended(session: ClientSession): void;
  /** A session is reconnecting (true) or not any more (false), for the gauge. */
  reconnecting(delta: 1 | -1): void;
  /** Told of every event a session is sent but relayed signals and data (the inspector sees those from their request). */
  readonly eventTap?: ((session: ClientSession, type: EventType, dataJson: string) => void) | undefined;
}

/** Where a session handed over to another node sends what it is still given (`cluster/session-handover.ts`). */
export interface SessionForward {
  event(type: EventType, dataJson: string): void;
  answer(id: RequestId, frame: string): void;
}

/** What a session's new node needs to carry on with it: the snapshot a hand-over takes. */
export interface HandoverState {
  /** The seq of the last event the session was sent. */
  seq: number;
  /** The events after the client's `lastSeq`, to replay. */
  replay: LoggedEvent[];
  /** Answers the client may ask for again; null: still being worked on (the answer follows). */
  answers: Array<[RequestId, string | null]>;
  /** Whether its socket had dropped (the others were told `peer.reconnecting`). */
  reconnecting: boolean;
  /** Its peer, when it is in a room. */
  peer?: { id: string; room: string } | undefined;
}

/** Answers remembered per session, so that a request re-sent after a resume is never applied twice. */
const MAX_ANSWERS = 256;

type Answer = { epoch: number; frame: string | undefined };

/**
 * One client's session: its identity, its peer, the `seq` of its events, and, when resume is on,
 * the events it may not have processed and the answers it may not have received. It outlives its
 * socket for `resume.windowMs` while it is in a room: its peer stays, the others see
 * `peer.reconnecting`, events for it are kept in order, and a new connection may take it over
 * (`session.resume`). It is the peer's sink, so rooms never see the socket change.
 */
export class ClientSession implements Session, PeerSink {
  peer: Peer | undefined;
  readonly sink: PeerSink = this;
  #seq = 0;
  #link: SessionLink | undefined;
  /** How many sockets this session has had; an answer from an earlier one is a resume's duplicate. */
  #epoch = 0;
  readonly #log: EventLog | undefined;
  readonly #answers = new Map<RequestId, Answer>();
  #expiry: TimerHandle | undefined;
  #ended = false;
  #overflowed = false;
  /** Set once a hand-over gave the session to another node. */
  #forward: SessionForward | undefined;

  constructor(
    readonly id: string,
    readonly secret: string,
    readonly identity: Identity,
    private readonly host: SessionHost,
  ) {
    this.#log = host.limits.windowMs > 0 ? new EventLog() : undefined;
  }

  /** True once the session has ended; an async handler checks it before it commits anything. */
  get closing(): boolean {
    return this.#ended || this.#forward !== undefined;
  }

  get resumable(): boolean {
    return this.#log !== undefined;
  }

  /** The seq of the last event sent. */
  get seq(): number {
    return this.#seq;
  }

  attach(link: SessionLink): void {
    this.#link = link;
    this.#epoch++;
  }

  sendEvent(type: EventType, dataJson: string): Delivery {
    if (this.#forward) {
      this.#forward.event(type, dataJson);
      return 'queued';
    }
    if (this.#ended || this.#overflowed) {
      return 'gone';
    }
    const seq = ++this.#seq;
    if (this.host.eventTap && type !== 'signal' && type !== 'data') {
      this.host.eventTap(this, type, dataJson);
    }
    if (this.#log) {
      this.#keep(seq, type, dataJson);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- #keep may set it; TypeScript's narrowing does not see that
      if (this.#overflowed) {
        return 'gone';
      }
    }
    if (!this.#link) {
      return 'queued';
    }
    return this.#link.send(encodeEvent(type, seq, dataJson)) ? 'ok' : 'overloaded';
  }

  /** Logs an event for a resume, within the session's and the node's bounds. */
  #keep(seq: number, type: EventType, dataJson: string): void {
    const log = this.#log!;
    const { maxEvents, maxBytes } = this.host.limits;
    let withinNode = this.host.account(log.append(seq, type, dataJson));
    while (log.size > maxEvents || log.bytes > maxBytes || !withinNode) {
      if (!this.#link) {
        // Reconnecting: what does not fit would be lost, so the session cannot resume losslessly.
        this.#overflow();
        return;
      }
      const freed = log.dropOldest();
      withinNode = this.host.account(-freed);
      if (freed === 0) {
        return;
      }
    }
  }

  #overflow(): void {
    this.#overflowed = true;
    // Not now: this may run inside a room's broadcast, which leaving would change under it.
    queueMicrotask(() => this.end('resume_overflow'));
  }

  /** The room let go of this peer without it asking (replaced, kicked, room closed). */
  detached(reason: LeaveReason, detail?: string): void {
    this.peer = undefined;
    if (reason === 'replaced') {
      this.sendEvent('session.replaced', '{}');
      if (this.#link) {
        this.#link.shutdown(CLOSE_CODES.SESSION_REPLACED, 'session replaced by a newer connection');
      } else {
        this.end('replaced');
      }
    } else if (reason === 'room_closed') {
      this.sendEvent('room.closed', JSON.stringify({ reason: detail ?? 'closed' }));
    } else if (reason === 'kicked') {
      this.sendEvent('room.kicked', JSON.stringify({ reason: detail ?? 'kicked' }));
    }
  }

  /** A request's answer: remembered (a resumed client may ask again) and sent if there is a socket. */
  answer(id: RequestId, frame: string): void {
    if (this.#forward) {
      this.#forward.answer(id, frame);
      return;
    }
    if (this.#log) {
      this.#remember(id, frame);
    }
    this.#link?.send(frame);
  }

  /** A request is being handled: a copy re-sent after a resume must wait for its answer, not run again. */
  started(id: RequestId): void {
    if (this.#log) {
      this.#remember(id, undefined);
    }
  }

  /**
   * What to do with a request on a resumed socket: `undefined` to handle it, or the answer it
   * already got before the resume (`pending` while that one is still being worked on).
   */
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- 'pending' documents the one string that is not an answer
  duplicate(id: RequestId): string | 'pending' | undefined {
    const known = this.#answers.get(id);
    if (!known || known.epoch >= this.#epoch) {
      return undefined;
    }
    return known.frame ?? 'pending';
  }

  #remember(id: RequestId, frame: string | undefined): void {
    const known = this.#answers.get(id);
    if (known && frame !== undefined) {
      // The answer of a request started on an earlier socket keeps its epoch.
      known.frame = frame;
      return;
    }
    this.#answers.delete(id);
    this.#answers.set(id, { epoch: this.#epoch, frame });
    if (this.#answers.size > MAX_ANSWERS) {
      this.#answers.delete(this.#answers.keys().next().value!);
    }
  }

  acknowledge(seq: number): void {
    if (this.#log) {
      this.host.account(-this.#log.acknowledge(Math.min(seq, this.#seq)));
    }
  }

  /**
   * The socket `link` closed. A session in a room whose socket dropped (rather than being closed
   * on purpose) waits for a resume; any other ends now, its peer leaving with `reason`.
   */
  socketClosed(link: SessionLink, resumable: boolean, reason: LeaveReason): void {
    if (link !== this.#link) {
      return; // a socket another connection took the session from
    }
    this.#link = undefined;
    if (this.#ended) {
      return;
    }
    if (!resumable || !this.#log || !this.peer || this.#overflowed) {
      this.end(reason);
      return;
    }
    this.host.reconnecting(1);
    this.#expiry = this.host.clock.setTimeout(() => this.end('resume_expired'), this.host.limits.windowMs);
    this.peer.room.broadcast('peer.reconnecting', `{"peerId":"${this.peer.id}"}`, this.peer.id);
  }

  /**
   * A new connection takes the session over: its socket replaces the old one (which may still
   * look open, if the server had not noticed it die), and the events after `lastSeq` are returned
   * for it to replay. SESSION_EXPIRED when they are no longer all kept.
   */
  resume(link: SessionLink, lastSeq: number): LoggedEvent[] {
    const replay = this.#ended || this.#overflowed ? null : this.#log?.since(lastSeq);
    if (!replay) {
      throw new AppError('SESSION_EXPIRED', this.#ended || this.#overflowed ? 'The session has ended' : `Events after seq ${lastSeq} are no longer all kept`);
    }
    const previous = this.#link;
    if (previous) {
      this.#link = undefined;
      previous.takenOver();
    } else if (this.#stopWaiting() && this.peer) {
      this.peer.room.broadcast('peer.reconnected', `{"peerId":"${this.peer.id}"}`, this.peer.id);
    }
    this.attach(link);
    return replay;
  }

  /** Stops the resume window, if it runs; true when it did (the session was reconnecting). */
  #stopWaiting(): boolean {
    if (this.#expiry === undefined) {
      return false;
    }
    this.host.clock.clearTimeout(this.#expiry);
    this.#expiry = undefined;
    this.host.reconnecting(-1);
    return true;
  }

  /**
   * Gives the session to another node: returns what that node needs (SESSION_EXPIRED when the
   * events after `lastSeq` are no longer all kept), drops the socket if it still has one, and from
   * now on forwards whatever it is given. Its peer stays here until `departed()`.
   */
  handOver(lastSeq: number, forward: SessionForward): HandoverState {
    const replay = this.#ended || this.#overflowed || this.#forward ? null : this.#log?.since(lastSeq);
    if (!replay) {
      throw new AppError('SESSION_EXPIRED', this.#forward ? 'The session has moved' : 'The session can no longer be resumed from there');
    }
    const reconnecting = this.#stopWaiting();
    const previous = this.#link;
    this.#link = undefined;
    previous?.takenOver();
    const answers: HandoverState['answers'] = [...this.#answers].map(([id, a]) => [id, a.frame ?? null]);
    this.host.account(-this.#log!.clear());
    this.#answers.clear();
    this.#forward = forward;
    const peer = this.peer ? { id: this.peer.id, room: this.peer.room.id } : undefined;
    return { seq: this.#seq, replay, answers, reconnecting, peer };
  }

  /** Whether a resume from `lastSeq` could replay everything after it. */
  canReplay(lastSeq: number): boolean {
    return !this.#ended && !this.#overflowed && !this.#forward && !!this.#log?.since(lastSeq);
  }

  /** The events kept after `lastSeq` (a session just taken over from another node replays them). */
  eventsAfter(lastSeq: number): LoggedEvent[] {
    return this.#log?.since(lastSeq) ?? [];
  }

  /** The session cannot go on (the node it came from died mid-hand-over): its socket closes with `code`. */
  lost(code: number, reason: string): void {
    const link = this.#link;
    this.end('node_lost');
    link?.shutdown(code, reason);
  }

  /** The other node carries on with the peer too: this node forgets the session (answers still go there). */
  departed(): void {
    this.peer = undefined;
    this.host.ended(this);
  }

  /**
   * The hand-over failed after it began: the session ends here as if its window had passed (the
   * other node could not take it), its peer leaving with `resume_expired`.
   */
  abandon(): void {
    this.#forward = undefined;
    this.end('resume_expired');
  }

  /** A session this node takes over from another: it continues the other node's numbering, replay and answers. */
  continueFrom(lastSeq: number, state: HandoverState): void {
    this.#seq = state.seq;
    if (this.#log) {
      this.host.account(this.#log.continueFrom(lastSeq, state.seq, state.replay));
    }
    for (const [id, frame] of state.answers) {
      // Epoch 0: every answer is from before this node's first socket, so a re-send gets it.
      this.#answers.set(id, { epoch: 0, frame: frame ?? undefined });
    }
  }

  /** Ends the session: its peer leaves with `reason`, its events and answers are forgotten. Idempotent. */
  end(reason: LeaveReason): void {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    this.#stopWaiting();
    if (this.#log) {
      this.host.account(-this.#log.clear());
    }
    this.#answers.clear();
    const peer = this.peer;
    if (peer) {
      this.peer = undefined;
      this.host.rooms.leave(peer, reason);
    }
    this.host.ended(this);
  }
}
