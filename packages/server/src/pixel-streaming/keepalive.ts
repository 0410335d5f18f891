import type { Clock, TimerHandle } from '@heliograph/common';
import type { Logger } from '../shared/logger.js';
import type { PsSignalling } from './signalling.js';

export interface KeepaliveOptions {
  clock: Clock;
  logger: Logger;
  /** Server `ping {time}` to players; 0 = off. */
  playerPingIntervalMs: number;
  /** WebSocket ping frames to streamers and SFUs; 0 = off. */
  streamerPingIntervalMs: number;
}

/**
 * Reaps dead peers so they stop holding player slots and streamer ids. Players get Wilbur's
 * `ping` message (UE 5.6+) and must answer with anything before the next one. Streamers get
 * WebSocket ping frames, which every WebSocket stack answers, so no message outside Epic's
 * protocol reaches them; one silent for a whole interval is dropped (Wilbur has no such check).
 */
export class PsKeepalive {
  readonly #timers: TimerHandle[] = [];

  constructor(
    private readonly sig: PsSignalling,
    private readonly opts: KeepaliveOptions,
  ) {}

  start(): void {
    const { clock, playerPingIntervalMs, streamerPingIntervalMs } = this.opts;
    if (playerPingIntervalMs > 0) {
      this.#timers.push(clock.setInterval(() => this.#pingPlayers(), playerPingIntervalMs));
    }
    if (streamerPingIntervalMs > 0) {
      this.#timers.push(clock.setInterval(() => this.#pingStreamers(), streamerPingIntervalMs));
    }
  }

  stop(): void {
    for (const timer of this.#timers.splice(0)) {
      this.opts.clock.clearInterval(timer);
    }
  }

  #pingPlayers(): void {
    const time = this.opts.clock.now();
    for (const player of [...this.sig.players.values()]) {
      if (player.type !== 'Player') {
        continue; // SFUs are checked on their streamer side.
      }
      if (!player.socket.alive) {
        this.opts.logger.info({ playerId: player.id }, 'player missed a keepalive ping; dropping');
        player.socket.terminate();
        continue;
      }
      player.socket.alive = false;
      player.socket.send({ type: 'ping', time });
    }
  }

  #pingStreamers(): void {
    for (const streamer of this.sig.streamers.list()) {
      if (!streamer.socket.alive) {
        this.opts.logger.info({ streamerId: streamer.id }, 'streamer silent for a keepalive interval; dropping');
        this.sig.noteDisconnectReason(streamer, 'timeout');
        streamer.socket.terminate();
        continue;
      }
      streamer.socket.alive = false;
      streamer.socket.ws.ping();
    }
  }
}
