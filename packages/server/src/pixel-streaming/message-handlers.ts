import type { PsInbound } from '@heliograph/protocol';
import type { PsLink, PsPlayer, PsStreamer } from './endpoints.js';
import type { PsSignalling } from './signalling.js';

/**
 * What each kind of peer may say, and where it goes. Bodies are forwarded as they came, apart
 * from `playerId` (stamped, kept or removed as Epic's server does) and an SFU's `sfuId`.
 * A handler returns a promise while a cluster round trip is under way; the connection's
 * `MessageGate` holds its next messages until then. Without a cluster nothing is asynchronous.
 */

/** Messages from an Unreal streamer. */
export function handleStreamerMessage(sig: PsSignalling, streamer: PsStreamer, msg: PsInbound): void | Promise<void> {
  switch (msg.type) {
    case 'endpointId':
      return sig.ids.identify(streamer, msg.id);
    case 'offer':
    case 'answer':
    case 'iceCandidate':
      toSubscriber(sig, streamer, msg, sig.opts.config.playerIdInForwards === 'strip');
      return;
    case 'disconnectPlayer':
      sig.kick(streamer, msg.playerId, msg.reason);
      return;
    case 'layerPreference':
      // Layer choices only mean something to an SFU relaying this streamer.
      for (const subscriber of streamer.subscribers.values()) {
        if (subscriber.type === 'SFU') {
          subscriber.socket.send(msg);
        }
      }
      return;
    default:
      answerKeepalive(streamer.socket, msg);
  }
}

/** Messages from a browser player. */
export function handlePlayerMessage(sig: PsSignalling, player: PsPlayer, msg: PsInbound): void | Promise<unknown> {
  switch (msg.type) {
    case 'offer':
    case 'answer':
    case 'iceCandidate':
    case 'layerPreference':
    case 'dataChannelRequest':
    case 'peerDataChannelsReady':
      // A player cannot speak for anyone else: its own id always overwrites `playerId`.
      return whenSubscribed(sig, player, () => player.subscribedTo?.socket.send({ ...msg, playerId: player.id }));
    default:
      return handleSubscriberMessage(sig, player, msg);
  }
}

/** Messages from an SFU, which is a streamer to its players and a player to its upstream. */
export function handleSfuMessage(sig: PsSignalling, sfu: PsStreamer, msg: PsInbound): void | Promise<unknown> {
  const self = sfu.sfuPlayer!;
  switch (msg.type) {
    case 'endpointId':
      return sig.ids.identify(sfu, msg.id);
    case 'offer':
    case 'peerDataChannels':
      toSubscriber(sig, sfu, msg, true); // Every Epic version strips `playerId` from SFU→player.
      return;
    case 'answer':
      // An SFU may speak for its own players, so a `playerId` it set is kept.
      toUpstream(sig, self, { ...msg, playerId: msg.playerId || self.id });
      return;
    case 'streamerDataChannels':
      // Epic's proto has no `playerId` here, so the library never sets one: the SFU's own id stands in (Wilbur).
      toUpstream(sig, self, { ...msg, sfuId: self.id, playerId: msg.playerId || self.id });
      return;
    case 'startStreaming':
      sfu.streaming = true;
      return;
    case 'stopStreaming':
      sfu.streaming = false;
      sig.dropSubscribers(sfu);
      return;
    default:
      return handleSubscriberMessage(sig, self, msg);
  }
}

/**
 * What any subscriber may say of its own subscription: a browser player, or an SFU as the player
 * of its upstream streamer (on the SFU's own socket). Anything else is at most a keepalive.
 */
function handleSubscriberMessage(sig: PsSignalling, subscriber: PsPlayer, msg: PsInbound): void | Promise<unknown> {
  switch (msg.type) {
    case 'listStreamers':
      return sig.sendStreamerList(subscriber);
    case 'subscribe': {
      const subscribed = sig.subscribe(subscriber, msg.streamerId);
      return subscribed instanceof Promise ? subscribed : undefined;
    }
    case 'unsubscribe':
      sig.unsubscribe(subscriber);
      return;
    default:
      answerKeepalive(subscriber.socket, msg);
  }
}

/** Runs `relay` once the player is subscribed, auto-subscribing it first (the legacy path) if need be. */
function whenSubscribed(sig: PsSignalling, player: PsPlayer, relay: () => void): void | Promise<void> {
  if (player.subscribedTo) {
    relay();
    return;
  }
  const subscribed = sig.autoSubscribe(player);
  if (subscribed instanceof Promise) {
    return subscribed.then((ok) => (ok ? relay() : undefined));
  }
  if (subscribed) {
    relay();
  }
}

function toSubscriber(sig: PsSignalling, from: PsStreamer, msg: PsInbound, strip: boolean): void {
  const playerId = 'playerId' in msg ? msg.playerId : undefined;
  // Only the sender's own subscribers: no cross-tenant signalling on a shared server.
  const target = typeof playerId === 'string' ? from.subscribers.get(playerId) : undefined;
  if (!target) {
    sig.opts.drops.unroutable++;
    return;
  }
  if (strip) {
    const { playerId: _omit, ...rest } = msg as Record<string, unknown>;
    target.socket.send(rest);
  } else {
    target.socket.send(msg);
  }
}

function toUpstream(sig: PsSignalling, self: PsPlayer, msg: Record<string, unknown>): void {
  if (!self.subscribedTo) {
    sig.opts.drops.unroutable++;
    return;
  }
  self.subscribedTo.socket.send(msg);
}

function answerKeepalive(socket: PsLink, msg: PsInbound): void {
  if (msg.type === 'ping') {
    socket.send({ type: 'pong', time: msg.time });
  }
  // `pong` and the deprecated `stats` need nothing: any frame already counts as a sign of life.
}
