import type { IceServer, PsRole } from '@heliograph/protocol';
import type { Clock } from '@heliograph/common';
import { IceServerIssuer } from '../ice/turn-credentials.js';

export interface PeerOptionsSettings {
  /** `pixelStreaming.peerConnectionOptions`, sent as configured when set. */
  configured: Record<string, unknown> | undefined;
  /** The node's fixed STUN/TURN servers (`iceServers`). */
  iceServers: readonly IceServer[];
  /** TURN URLs with per-connection credentials (`turn`). */
  turn: { urls: readonly string[]; secret?: string | undefined; ttlSeconds: number };
  clock: Clock;
}

/**
 * Streamers and SFUs keep one signalling connection for days and cannot be sent fresh TURN
 * credentials over Epic's protocol, so theirs last long (as Wilbur's `--turn_secret` does).
 */
const STREAMER_TURN_TTL_SECONDS = 10 * 365 * 24 * 3600;

/**
 * Builds `config.peerConnectionOptions` per peer: the configured object, or the node's ICE
 * servers; either way with TURN credentials minted for that peer when `turn` is configured.
 */
export function peerOptionsProvider(settings: PeerOptionsSettings): (peer: { id: string; role: PsRole }) => Record<string, unknown> {
  const { turn, clock } = settings;
  const minted = turn.secret && turn.urls.length > 0 ? { urls: turn.urls, secret: turn.secret } : undefined;
  const forPlayers = new IceServerIssuer({ fixed: [], turn: minted && { ...minted, ttlSeconds: turn.ttlSeconds }, clock });
  const forStreamers = new IceServerIssuer({ fixed: [], turn: minted && { ...minted, ttlSeconds: STREAMER_TURN_TTL_SECONDS }, clock });
  return ({ id, role }) => {
    const issuer = role === 'player' ? forPlayers : forStreamers;
    const turnServers = issuer.issue(`ps-${role}:${id}`).iceServers;
    if (settings.configured) {
      const base = settings.configured;
      const listed = Array.isArray(base.iceServers) ? (base.iceServers as unknown[]) : [];
      return turnServers.length > 0 ? { ...base, iceServers: [...listed, ...turnServers] } : base;
    }
    const iceServers = [...settings.iceServers.map((s) => ({ ...s })), ...turnServers];
    // Epic's server sends `{}` when nothing is configured; the frontend and Unreal accept both.
    return iceServers.length > 0 ? { iceServers } : {};
  };
}
