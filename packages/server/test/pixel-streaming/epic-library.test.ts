import { PS_ACCEPTS } from '@heliograph/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { haveTool } from '../helpers/require-tool.js';
import { EpicPeer, PLAYER_ID_IN_FORWARDS, UE_LINES, commonLibrary, protocolTypes } from './epic-peer.js';
import { startPsServer, type PsMessage } from './ps-client.js';
import { PsClusterHarness, type PsSettings } from './ps-cluster.js';

/**
 * Conformance by construction: every streamer, player and SFU message is built by Epic's own
 * published common library of each UE line (`createMessage`, protobuf-ts `create()`), walked
 * through Heliograph in both directions, and what the other side receives is asserted exactly.
 * Each line's server is configured as that line's Wilbur (`playerId` kept on forwards from 5.7),
 * and every walk runs in both `badMessages` modes: nothing Epic's libraries build is ever dropped
 * or closed for a field the server overwrites or ignores. Each walk runs on one node, and again
 * across a two-node cluster on a real redis-server (streamers on A, players and SFUs on B), where
 * the peers must see exactly the same.
 */
// haveTool throws under CI=true when redis-server is missing, so the two-node walks never skip in CI.
const hasRedis = haveTool('redis-server', 'redis-server');

/** Where the peers connect: one node, or streamers on node A and players and SFUs on node B. */
interface Topology {
  streamerUrl: string;
  playerUrl: string;
  sfuUrl: string;
  /** Bad-input drops, summed over the nodes. */
  drops(): { invalid: number; unknown: number; parse: number };
}

let redis: TestRedis | undefined;
const cluster = new PsClusterHarness(() => redis!);
let closeSingle: (() => Promise<void>) | undefined;
beforeAll(async () => {
  if (hasRedis) {
    redis = await startRedis();
  }
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  await closeSingle?.();
  closeSingle = undefined;
  await cluster.cleanup();
});

async function topology(nodes: 'one node' | 'two nodes', settings: PsSettings): Promise<Topology> {
  if (nodes === 'one node') {
    const ps = await startPsServer(settings);
    closeSingle = () => ps.close();
    const drops = () => ps.app.pixelStreaming!.drops;
    return { ...ps, drops: () => ({ invalid: drops().invalid, unknown: drops().unknown_type, parse: drops().parse }) };
  }
  const [a, b] = await cluster.twoNodes(settings);
  const all = () => [a, b].map((n) => n.server.app.pixelStreaming!.drops);
  const sum = (pick: (d: ReturnType<typeof all>[number]) => number) => all().reduce((n, d) => n + pick(d), 0);
  return {
    streamerUrl: a.streamerUrl,
    playerUrl: b.playerUrl,
    sfuUrl: b.sfuUrl,
    drops: () => ({ invalid: sum((d) => d.invalid), unknown: sum((d) => d.unknown_type), parse: sum((d) => d.parse) }),
  };
}

/** The types Epic's own connection classes (Wilbur's `Signalling` library) handle from each kind of peer. */
const EPIC_SENDS = {
  streamer: ['endpointId', 'offer', 'answer', 'iceCandidate', 'disconnectPlayer', 'layerPreference', 'ping'],
  player: [
    'listStreamers',
    'subscribe',
    'unsubscribe',
    'offer',
    'answer',
    'iceCandidate',
    'layerPreference',
    'dataChannelRequest',
    'peerDataChannelsReady',
    'ping',
    'pong',
    'stats',
  ],
  sfu: [
    'endpointId',
    'listStreamers',
    'subscribe',
    'unsubscribe',
    'offer',
    'answer',
    'peerDataChannels',
    'streamerDataChannels',
    'startStreaming',
    'stopStreaming',
    'ping',
  ],
} as const;

const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'uf' };

const cases = UE_LINES.flatMap((line) =>
  (['ignore', 'close'] as const).flatMap((badMessages) => (['one node', 'two nodes'] as const).map((nodes) => ({ line, badMessages, nodes }))),
).filter((c) => c.nodes === 'one node' || hasRedis);

describe.each(cases)('Epic’s common library $line (badMessages: $badMessages, $nodes)', ({ line, badMessages, nodes }) => {
  const lib = commonLibrary(line);
  const version = lib.SignallingProtocol.SIGNALLING_VERSION;
  const keep = PLAYER_ID_IN_FORWARDS[line] === 'keep';
  /** A streamer→player forward as this line's Wilbur delivers it. */
  const forwarded = (msg: PsMessage, strip = !keep): PsMessage => {
    const { playerId: _omit, ...rest } = msg;
    return strip ? (rest as PsMessage) : msg;
  };

  let ps: Topology;
  async function start(): Promise<void> {
    ps = await topology(nodes, { badMessages, playerIdInForwards: PLAYER_ID_IN_FORWARDS[line] });
  }

  async function streamer(id: string): Promise<EpicPeer> {
    const s = await EpicPeer.connect(line, ps.streamerUrl, `streamer ${id}`);
    await s.expect({ type: 'identify' });
    await s.expect({ type: 'config', peerConnectionOptions: {}, protocolVersion: version });
    s.send('endpointId', { id, protocolVersion: version });
    await s.expect({ type: 'endpointIdConfirm', committedId: id });
    return s;
  }

  async function player(): Promise<EpicPeer> {
    const p = await EpicPeer.connect(line, ps.playerUrl, 'player');
    await p.expect({ type: 'config', peerConnectionOptions: {}, protocolVersion: version });
    return p;
  }

  async function subscribed(s: EpicPeer, streamerId: string, sfu = false): Promise<{ p: EpicPeer; playerId: string }> {
    const p = await player();
    p.send('subscribe', { streamerId });
    const connected = await s.expectType('playerConnected');
    expect(connected).toEqual({ type: 'playerConnected', dataChannel: true, sfu, playerId: expect.stringMatching(/^Player\d+$/) });
    return { p, playerId: connected.playerId as string };
  }

  function expectNothingDropped(): void {
    expect(ps.drops()).toEqual({ invalid: 0, unknown: 0, parse: 0 });
  }

  it('covers every message type of the library', () => {
    const walked = new Set([...EPIC_SENDS.streamer, ...EPIC_SENDS.player, ...EPIC_SENDS.sfu]);
    // What only the server sends; each is asserted on arrival below.
    const serverSends = [
      'identify',
      'config',
      'endpointIdConfirm',
      'streamerList',
      'subscribeFailed',
      'playerConnected',
      'playerDisconnected',
      'streamerIdChanged',
      'streamerDisconnected',
      'pong',
    ];
    // Deprecated: `playerCount` went with Cirrus (Wilbur never sends it); `stats` is walked above.
    const deprecated = ['playerCount'];
    expect(new Set([...walked, ...serverSends, ...deprecated])).toEqual(new Set(protocolTypes(line)));
    for (const role of ['streamer', 'player', 'sfu'] as const) {
      for (const type of EPIC_SENDS[role]) {
        expect(PS_ACCEPTS[role].has(type as never), `${role} ${type}`).toBe(true);
      }
    }
  });

  it('streamer ⇄ player: every message, both ways, arrives as Epic’s server delivers it', async () => {
    await start();
    const s = await streamer('S');
    const p = await player();
    p.send('listStreamers');
    await p.expect({ type: 'streamerList', ids: ['S'] });
    p.send('subscribe', { streamerId: 'S' });
    const { playerId } = await s.expectType('playerConnected');
    const id = playerId as string;

    // streamer → player
    const offer = s.send('offer', { playerId: id, sdp: 'v=0 streamer offer', scalabilityMode: 'L1T3' });
    await p.expect(forwarded(offer));
    const candidate = s.send('iceCandidate', { playerId: id, candidate: CANDIDATE });
    await p.expect(forwarded(candidate));
    const legacyAnswer = s.send('answer', { playerId: id, sdp: 'v=0 streamer answer' });
    await p.expect(forwarded(legacyAnswer));

    // player → streamer: whatever `playerId` the library filled in (`""`), the player's own id arrives.
    for (const [type, params] of [
      ['layerPreference', undefined],
      ['layerPreference', { spatialLayer: 2, temporalLayer: 1 }],
      ['answer', { sdp: 'v=0 player answer', minBitrateBps: 0, maxBitrateBps: 0 }],
      ['iceCandidate', { candidate: CANDIDATE }],
      ['iceCandidate', undefined],
      ['offer', { sdp: 'v=0 player offer' }],
      ['dataChannelRequest', undefined],
      ['peerDataChannelsReady', undefined],
      ['layerPreference', { spatialLayer: 0, temporalLayer: 0, playerId: 'Player999' }],
    ] as const) {
      const sent = p.send(type, params);
      await s.expect({ ...sent, playerId: id });
    }

    // Keepalive both ways, and the deprecated `stats`, which changes nothing.
    s.send('ping', { time: 1234 });
    await s.expect({ type: 'pong', time: 1234 });
    p.send('ping', { time: 1_700_000_000_000 });
    await p.expect({ type: 'pong', time: 1_700_000_000_000 });
    p.send('pong', { time: 5 });
    p.send('stats', { data: '{"fps":30}' });
    await p.expectQuiet();

    // A rename: subscribers first, then the streamer's confirmation.
    s.send('endpointId', { id: 'S2', protocolVersion: version });
    await p.expect({ type: 'streamerIdChanged', newID: 'S2' });
    await s.expect({ type: 'endpointIdConfirm', committedId: 'S2' });

    // An unknown streamer fails without ending the subscription.
    p.send('subscribe', { streamerId: 'Nope' });
    await p.expect({ type: 'subscribeFailed', message: 'Streamer Nope does not exist.' });
    // `disconnectPlayer` as `create()` leaves it (`playerId: ""`) names nobody: nothing happens.
    s.send('disconnectPlayer');
    await s.expectQuiet();

    p.send('unsubscribe');
    await s.expect({ type: 'playerDisconnected', playerId: id });
    p.send('subscribe', { streamerId: 'S2' });
    await s.expect({ type: 'playerConnected', dataChannel: true, sfu: false, playerId: id });
    s.send('disconnectPlayer', { playerId: id, reason: 'kicked by the test' });
    expect(await p.closed).toEqual({ code: 1011, reason: 'kicked by the test' });
    await s.expect({ type: 'playerDisconnected', playerId: id });

    // The streamer leaves: its players are closed with no status code.
    const { p: other } = await subscribed(s, 'S2');
    s.close();
    expect((await other.closed).code).toBe(1005);
    expectNothingDropped();
  });

  it('streamer → SFU → player and back: every SFU message', async () => {
    await start();
    const s = await streamer('S');
    const sfu = await EpicPeer.connect(line, ps.sfuUrl, 'sfu');
    await sfu.expect({ type: 'identify' });
    await sfu.expectType('config');
    sfu.send('endpointId', { id: 'SFU' });
    await sfu.expect({ type: 'endpointIdConfirm', committedId: 'SFU' });
    sfu.send('listStreamers');
    await sfu.expect({ type: 'streamerList', ids: ['S', 'SFU'] });
    sfu.send('subscribe', { streamerId: 'S' });
    const sfuId = (await s.expectType('playerConnected')).playerId as string;

    const upstreamOffer = s.send('offer', { playerId: sfuId, sdp: 'v=0 to the SFU' });
    await sfu.expect(forwarded(upstreamOffer));
    const sfuAnswer = sfu.send('answer', { sdp: 'v=0 SFU answer' });
    await s.expect({ ...sfuAnswer, playerId: sfuId });
    sfu.send('startStreaming');

    const { p, playerId } = await subscribed(sfu, 'SFU');
    // SFU → player: `playerId` always removed.
    const offer = sfu.send('offer', { playerId, sdp: 'v=0 SFU offer', sfu: true, multiplex: true, scalabilityMode: 'L1T3' });
    await p.expect(forwarded(offer, true));
    const answer = p.send('answer', { sdp: 'v=0 player answer', minBitrateBps: 0, maxBitrateBps: 0 });
    await sfu.expect({ ...answer, playerId });
    p.send('dataChannelRequest');
    await sfu.expect({ type: 'dataChannelRequest', playerId });
    const channels = sfu.send('peerDataChannels', { playerId, sendStreamId: 3, recvStreamId: 4 });
    await p.expect(forwarded(channels, true));
    p.send('peerDataChannelsReady');
    await sfu.expect({ type: 'peerDataChannelsReady', playerId });
    // The proto has no `playerId` on streamerDataChannels: the library drops it, the SFU's id stands in.
    const streamerChannels = sfu.send('streamerDataChannels', { playerId, sfuId: 'ignored', sendStreamId: 5, recvStreamId: 6 });
    expect(streamerChannels.playerId).toBeUndefined();
    await s.expect({ ...streamerChannels, sfuId, playerId: sfuId });

    // Layer preferences: the player's to the SFU with its id, the streamer's to its SFU as sent.
    const pref = p.send('layerPreference');
    await sfu.expect({ ...pref, playerId });
    const streamerPref = s.send('layerPreference', { spatialLayer: 1, temporalLayer: 2, playerId });
    await sfu.expect(streamerPref);

    // Messages `create()` leaves without a target reach nobody and close nothing.
    sfu.send('offer');
    sfu.send('peerDataChannels');
    await sfu.expectQuiet();
    expect(p.log.length).toBe(3);

    // Rename upstream: the SFU hears it; stopStreaming drops its players; the streamer leaving tells the SFU.
    s.send('endpointId', { id: 'S2' });
    await sfu.expect({ type: 'streamerIdChanged', newID: 'S2' });
    await s.expect({ type: 'endpointIdConfirm', committedId: 'S2' });
    sfu.send('stopStreaming');
    expect((await p.closed).code).toBe(1005);
    await sfu.expect({ type: 'playerDisconnected', playerId });
    s.close();
    await sfu.expect({ type: 'streamerDisconnected' });
    sfu.send('ping', { time: 9 });
    await sfu.expect({ type: 'pong', time: 9 });
    expectNothingDropped();
  });

  it.each(['streamer', 'player', 'sfu'] as const)('every %s message as create() leaves it (no fields set) is accepted', async (role) => {
    await start();
    const s = await streamer('S');
    const url = { streamer: ps.streamerUrl, player: ps.playerUrl, sfu: ps.sfuUrl }[role];
    const peer = await EpicPeer.connect(line, url, role);
    for (const type of EPIC_SENDS[role]) {
      peer.send(type);
    }
    peer.send('ping', { time: 77 });
    await vitestWait(() => peer.log.some((m) => m.type === 'pong' && m.time === 77));
    expect(peer.isClosed).toBe(false);
    expectNothingDropped();
    if (role === 'player') {
      // The bare `offer` took the legacy path (auto-subscribe), and every relay after it arrived with the player's id.
      const playerId = (await s.expectType('playerConnected')).playerId;
      const relayed = ['offer', 'answer', 'iceCandidate', 'layerPreference', 'dataChannelRequest', 'peerDataChannelsReady'];
      for (const type of relayed) {
        expect(await s.next()).toMatchObject({ type, playerId });
      }
      peer.close();
      await s.expect({ type: 'playerDisconnected', playerId });
    }
  });
});

async function vitestWait(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('condition not met within 5 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
