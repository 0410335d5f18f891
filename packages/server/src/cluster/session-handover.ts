import { CLOSE_CODES, type EventType, type RequestData } from '@heliograph/protocol';
import type { TimerHandle } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { Peer, Room } from '../rooms/room.js';
import { NO_SINK } from '../rooms/peer-sink.js';
import { homeNode, memberOf, roomRecordOf } from './mirrors.js';
import type { ClientSession, HandoverState, SessionForward } from '../sessions/client-session.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import { AppError } from '../shared/app-error.js';
import type { NodeId } from './bus.js';
import type { ClusterRooms, ClusterRoomsOptions } from './cluster-rooms.js';
import type { MoveHooks, RoomEventMessage } from './move-hooks.js';
import type { RoomChannelMessage } from './messages.js';

export interface SessionHandoverOptions extends Pick<ClusterRoomsOptions, 'node' | 'rooms' | 'clock' | 'logger' | 'requestTimeoutMs'> {
  cluster: ClusterRooms;
  sessions: SessionRegistry;
}

/** A peer this node is giving to another (`to`), until its `peer.moving` comes back. */
interface Departure {
  session: ClientSession;
  peer: Peer;
  to: NodeId;
  /** Events forwarded so far: the new node converts once it has them all. */
  forwarded: number;
}

/** An event kept for an arriving peer until it is in place. */
type Pending = { type: EventType; data: string };

/**
 * One of this node's own room events while a peer arrives here. It is published with `echo`:
 * heard back before `peer.moving`, it is the old node's to forward (it heard it first too);
 * heard after, or not heard back by the time the peer is in place, it is this node's to give.
 */
interface Own {
  arrival: Arrival;
  event: Pending;
  given: boolean;
}

/** An echoed publication of this node, awaited on its room's channel. */
interface Echo {
  event: EventType;
  data: string;
  owns: Own[];
}

/**
 * A session arriving from `from`: its events come from there until the old node stops forwarding
 * (`peer.moved`), then from this node's room.
 */
class Arrival {
  room: Room | undefined;
  session: ClientSession | undefined;
  state: HandoverState | undefined;
  /** Forwards and this node's own broadcasts that came before the session was installed. */
  readonly early: Pending[] = [];
  /** Room events heard after `peer.moving`, for the peer once it is in place. */
  readonly pending: Pending[] = [];
  /** This node's own room events published since the arrival began, in order. */
  readonly own: Own[] = [];
  movingSeen = false;
  /** Set by `peer.moved`: how many forwards to wait for. */
  expected: number | undefined;
  received = 0;
  aborted = false;
  converted!: () => void;
  readonly done: Promise<void>;
  timer: TimerHandle | undefined;

  constructor(
    readonly oldSession: string,
    readonly from: NodeId,
    readonly peerId: string | undefined,
  ) {
    this.done = new Promise<void>((resolve) => (this.converted = resolve));
  }
}

/**
 * Resuming a session on another node than the one holding it (the client's new connection landed
 * elsewhere, or its node is draining). The new node B asks the holder A:
 * 1. `session.claim`: A checks the secret and the replay, and names the session's room and peer;
 *    B follows the room's channel from then on.
 * 2. `session.handover`: A takes a snapshot (seq, events to replay, answers), publishes
 *    `peer.moving` on the room's channel (and hears it back), and forwards to B, in order, every
 *    event it still gives the session meanwhile. B installs the session on the new socket.
 * 3. When A hears its own `peer.moving`, every room event published before it has reached A (and
 *    was forwarded); A makes the peer a mirror of B and publishes `peer.moved` with the count of
 *    forwards. Every node now routes to B; relays already on their way to A are forwarded by A,
 *    and later ones wait for them (`Peer.earlierRoute`), so per-pair order holds.
 * 4. B, once it has every forward, makes the peer its own and gives it the room events heard
 *    after `peer.moving` that A did not forward (those not from A, and A's after `peer.moved`).
 *    B's own room events meanwhile are published with `echo`: the channel's order, which A and B
 *    hear alike, tells whether A forwarded one (before `peer.moving`) or B gives it (after).
 * The session gets a new id and secret of B's, returned with the resume's answer.
 */
export class SessionHandover implements MoveHooks {
  readonly #o: SessionHandoverOptions;
  readonly #departing = new Map<string, Departure>();
  /** By the old session id (forwards name it) and by peer id (the channel names that). */
  readonly #arrivals = new Map<string, Arrival>();
  readonly #arrivingPeers = new Map<string, Arrival>();
  /** This node's publications awaited back on each room's channel, in order (`Own`). */
  readonly #echoes = new Map<Room, Echo[]>();

  constructor(options: SessionHandoverOptions) {
    this.#o = options;
    const { node } = options;
    node.handle('session.claim', (m) => this.#claim(m.session, m.secret, m.userId, m.lastSeq));
    node.handle('session.handover', (m, from) => this.#handOver(m.session, m.secret, m.userId, m.lastSeq, from));
    node.handle('session.event', (m) => {
      this.#forwarded(m.session, { type: m.event, data: m.data });
      return {};
    });
    node.handle('session.answer', (m) => {
      const arrival = this.#arrivals.get(m.session);
      if (!arrival || arrival.aborted) {
        throw new AppError('SESSION_EXPIRED', 'No such session arriving here');
      }
      // An answer before the session is installed would be lost: the snapshot has it as pending.
      void arrival.done.then(() => arrival.session?.answer(m.id, m.frame));
      return {};
    });
    node.bus.onNodeLost((nodeId) => this.#nodeLost(nodeId));
    options.sessions.remote = (data, identity) => this.resume(data, identity);
    options.cluster.attachMoves(this);
  }

  // The new node's side.

  /** Takes session `data.session` over from the node holding it; resolves with the session, its replay in its log. */
  async resume(data: RequestData<'session.resume'>, identity: Identity): Promise<ClientSession> {
    const { node, sessions } = this.#o;
    const holder = sessions.holderOf(data.session)!;
    const ask = { session: data.session, secret: data.secret, userId: identity.userId, lastSeq: data.lastSeq };
    const claim = (await node.bus.request(holder, { type: 'session.claim', ...ask }, this.#o.requestTimeoutMs).catch((err: unknown) => {
      // With the bus up, UNAVAILABLE means nobody listens on the holder's inbox: it is gone.
      if (err instanceof AppError && err.code === 'UNAVAILABLE' && node.bus.connected) {
        throw new AppError('SESSION_EXPIRED', 'The node that held the session is gone');
      }
      throw err;
    })) as { room?: string; peer?: string };
    const arrival = this.#arrive(data.session, holder, claim.peer);
    try {
      if (claim.room !== undefined) {
        arrival.room = await this.#o.cluster.open(claim.room, 'observe');
      }
      const state = (await node.bus.request(holder, { type: 'session.handover', ...ask }, this.#o.requestTimeoutMs)) as HandoverState;
      const session = sessions.adopt(identity, data.lastSeq, state);
      this.#install(arrival, session, state);
      return session;
    } catch (err) {
      this.#abort(arrival);
      throw err;
    } finally {
      if (arrival.room) {
        this.#o.rooms.release(arrival.room);
      }
    }
  }

  #arrive(oldSession: string, from: NodeId, peerId: string | undefined): Arrival {
    const arrival = new Arrival(oldSession, from, peerId);
    // Bounded: a hand-over that never completes is forgotten (the old node then ends the session).
    arrival.timer = this.#o.clock.setTimeout(() => this.#forget(arrival), 4 * this.#o.requestTimeoutMs);
    this.#arrivals.set(oldSession, arrival);
    if (peerId !== undefined) {
      this.#arrivingPeers.set(peerId, arrival);
    }
    return arrival;
  }

  #install(arrival: Arrival, session: ClientSession, state: HandoverState): void {
    arrival.session = session;
    arrival.state = state;
    if (state.peer && arrival.room) {
      session.peer = arrival.room.peers.get(state.peer.id);
    }
    if (state.peer && !session.peer) {
      // It left or was replaced while the hand-over ran: there is nothing to move.
      this.#forget(arrival);
    }
    for (const e of arrival.early.splice(0)) {
      session.sendEvent(e.type, e.data);
    }
    if (state.peer) {
      this.#tryConvert(arrival);
    } else {
      this.#forget(arrival);
    }
  }

  #forwarded(oldSession: string, event: Pending): void {
    const arrival = this.#arrivals.get(oldSession);
    if (!arrival || arrival.aborted) {
      throw new AppError('SESSION_EXPIRED', 'No such session arriving here');
    }
    arrival.received++;
    if (arrival.session) {
      arrival.session.sendEvent(event.type, event.data);
    } else {
      arrival.early.push(event);
    }
    this.#tryConvert(arrival);
  }

  /** Once `peer.moved` and every forward are in: the peer is this node's. */
  #tryConvert(arrival: Arrival): void {
    const { session, state, room } = arrival;
    if (!session || !state?.peer || !room || arrival.expected === undefined || arrival.received < arrival.expected) {
      return;
    }
    const peer = session.peer;
    this.#forget(arrival);
    if (!peer || room.peers.get(peer.id) !== peer) {
      return;
    }
    room.relocate(peer, session);
    this.#o.node.directory.adoptMember(memberOf(peer, this.#o.node.nodeId), roomRecordOf(room));
    for (const e of arrival.pending) {
      session.sendEvent(e.type, e.data);
    }
    // Not heard back yet: after `peer.moved` on the channel, so the old node never had them.
    for (const own of arrival.own) {
      if (!own.given) {
        own.given = true;
        session.sendEvent(own.event.type, own.event.data);
      }
    }
    if (state.reconnecting) {
      room.broadcast('peer.reconnected', `{"peerId":"${peer.id}"}`, peer.id);
    }
  }

  /** The hand-over failed here: if the old node gave the peer up anyway, it leaves. */
  #abort(arrival: Arrival): void {
    arrival.aborted = true;
    if (arrival.expected !== undefined || arrival.peerId === undefined) {
      this.#forget(arrival);
    }
  }

  #forget(arrival: Arrival): void {
    this.#o.clock.clearTimeout(arrival.timer);
    if (this.#arrivals.get(arrival.oldSession) === arrival) {
      this.#arrivals.delete(arrival.oldSession);
    }
    if (arrival.peerId !== undefined && this.#arrivingPeers.get(arrival.peerId) === arrival) {
      this.#arrivingPeers.delete(arrival.peerId);
    }
    const room = arrival.room;
    if (room && ![...this.#arrivingPeers.values()].some((a) => a.room === room)) {
      this.#echoes.delete(room); // echoes still on their way find nothing to settle
    }
    arrival.converted();
  }

  // MoveHooks: what ClusterRooms tells of its rooms' channels.

  heard(room: Room, message: RoomChannelMessage, from: NodeId): boolean {
    if (message.type === 'room.event' && from === this.#o.node.nodeId) {
      this.#echoed(room, message);
      return true; // this node's peers had it when it was published
    }
    if (message.type === 'peer.moving') {
      if (from === this.#o.node.nodeId) {
        this.#departed(room, message.peerId);
      } else {
        const arrival = this.#arrivingPeers.get(message.peerId);
        if (arrival) {
          arrival.movingSeen = true;
        }
      }
      return true;
    }
    if (message.type === 'peer.moved') {
      this.#moved(room, message.peerId, message.to, message.forwarded);
      return true;
    }
    if (message.type === 'room.event') {
      for (const arrival of this.#arrivingPeers.values()) {
        if (arrival.room === room && arrival.movingSeen && (from !== arrival.from || arrival.expected !== undefined)) {
          const { except, skip, event, data } = message;
          if (except !== arrival.peerId && !skip?.includes(arrival.peerId!)) {
            arrival.pending.push({ type: event, data });
          }
        }
      }
    }
    return false;
  }

  get anyArriving(): boolean {
    return this.#arrivingPeers.size > 0;
  }

  publishing(room: Room, message: RoomEventMessage): boolean {
    let echo: Echo | undefined;
    for (const arrival of this.#arrivingPeers.values()) {
      if (arrival.room !== room || arrival.peerId === undefined || message.except === arrival.peerId) {
        continue;
      }
      const own: Own = { arrival, event: { type: message.event, data: message.data }, given: false };
      arrival.own.push(own);
      (echo ??= { event: message.event, data: message.data, owns: [] }).owns.push(own);
    }
    if (!echo) {
      return false;
    }
    const queue = this.#echoes.get(room) ?? [];
    queue.push(echo);
    this.#echoes.set(room, queue);
    return true;
  }

  /** This node's own room event, heard back at its place in the channel's order. */
  #echoed(room: Room, message: RoomEventMessage): void {
    const queue = this.#echoes.get(room);
    const at = queue?.findIndex((e) => e.event === message.event && e.data === message.data) ?? -1;
    if (at < 0) {
      return;
    }
    // Those before it were never published (the bus failed them): they stay this node's to give.
    const echo = queue!.splice(0, at + 1).at(-1)!;
    for (const own of echo.owns) {
      if (own.given) {
        continue;
      }
      own.given = true;
      if (own.arrival.movingSeen) {
        own.arrival.pending.push(own.event);
      }
    }
  }

  arriving(peerId: string): Promise<void> | undefined {
    return this.#arrivingPeers.get(peerId)?.done;
  }

  #moved(room: Room, peerId: string, to: NodeId, forwarded: number): void {
    const arrival = this.#arrivingPeers.get(peerId);
    if (to === this.#o.node.nodeId && arrival) {
      arrival.expected = forwarded;
      if (arrival.aborted) {
        this.#forget(arrival);
        this.#leaveAbandoned(room, peerId);
        return;
      }
      this.#tryConvert(arrival);
      return;
    }
    const peer = room.peers.get(peerId);
    const node = peer && homeNode(peer);
    if (peer && node !== undefined && node !== to) {
      room.relocate(peer, this.#o.cluster.sinkOf(to));
    }
  }

  /** A peer handed over to this node whose new connection failed meanwhile: it leaves. */
  #leaveAbandoned(room: Room, peerId: string): void {
    const peer = room.peers.get(peerId);
    if (peer) {
      room.relocate(peer, NO_SINK);
      this.#o.rooms.leave(peer, 'resume_expired');
    }
  }

  // The old node's side.

  #claim(id: string, secret: string, userId: string, lastSeq: number): { room?: string; peer?: string } {
    const session = this.#o.sessions.verify(id, secret, userId);
    if (!session.canReplay(lastSeq)) {
      throw new AppError('SESSION_EXPIRED', `Events after seq ${lastSeq} are no longer all kept`);
    }
    const peer = session.peer;
    return peer ? { room: peer.room.id, peer: peer.id } : {};
  }

  #handOver(id: string, secret: string, userId: string, lastSeq: number, to: NodeId): HandoverState {
    const session = this.#o.sessions.verify(id, secret, userId);
    const departure: Departure | undefined = session.peer ? { session, peer: session.peer, to, forwarded: 0 } : undefined;
    const state = session.handOver(lastSeq, this.#forward(id, to, departure));
    if (!departure) {
      session.departed();
      return state;
    }
    this.#departing.set(departure.peer.id, departure);
    this.#o.cluster.publishMove(departure.peer.room.id, { type: 'peer.moving', peerId: departure.peer.id, to }, true);
    return state;
  }

  #forward(oldSession: string, to: NodeId, departure: Departure | undefined): SessionForward {
    const { bus } = this.#o.node;
    const failed = (err: unknown): void => {
      this.#o.logger.warn({ err, to }, 'cluster: a session hand-over lost its new node');
      if (departure && this.#departing.get(departure.peer.id) === departure) {
        this.#departing.delete(departure.peer.id);
        departure.session.abandon();
      }
    };
    return {
      event: (type, data) => {
        if (departure) {
          departure.forwarded++;
        }
        bus.request(to, { type: 'session.event', session: oldSession, event: type, data }, this.#o.requestTimeoutMs).catch(failed);
      },
      answer: (requestId, frame) => {
        bus.request(to, { type: 'session.answer', session: oldSession, id: requestId, frame }, this.#o.requestTimeoutMs).catch(() => undefined);
      },
    };
  }

  /** This node heard its own `peer.moving`: everything before it was forwarded; the peer is the new node's. */
  #departed(room: Room, peerId: string): void {
    const departure = this.#departing.get(peerId);
    if (!departure) {
      return;
    }
    this.#departing.delete(peerId);
    const { peer, session, to } = departure;
    session.departed();
    if (room.peers.get(peerId) !== peer) {
      return; // it left meanwhile; its peer.left told everyone
    }
    room.relocate(peer, this.#o.cluster.sinkOf(to));
    this.#o.cluster.publishMove(room.id, { type: 'peer.moved', peerId, to, forwarded: departure.forwarded }, false);
    this.#o.node.directory.moveMember(memberOf(peer, to), this.#o.node.nodeId).catch((err: unknown) => {
      this.#o.logger.warn({ err, peer: peerId }, 'cluster: could not record a moved peer in the directory');
    });
  }

  // Failures.

  #nodeLost(nodeId: NodeId): void {
    for (const arrival of [...this.#arrivals.values()]) {
      if (arrival.from !== nodeId) {
        continue;
      }
      this.#forget(arrival);
      // Its node died before it let go of the peer: the others saw it leave (node_lost).
      arrival.session?.lost(CLOSE_CODES.GOING_AWAY, 'the node that held the session was lost');
    }
  }
}
