import type { Command, CommandContext, OptionSpec } from '../command.js';
import { CliError, USAGE_EXIT, optionalString, printResult, requireString } from '../command.js';
import { JSON_OPTION, SERVER_OPTIONS, controlClient, shortTime } from './console-options.js';

interface RoomRow {
  id: string;
  peers: number;
  maxPeers: number;
  createdAt: number;
  emptyTimeoutMs: number;
  metadata: Record<string, unknown>;
}
interface PeerRow {
  id: string;
  userId: string;
  name?: string;
  joinedAt: number;
  metadata: Record<string, unknown>;
  permissions: Record<string, boolean>;
}

const path = (...parts: string[]): string => parts.map(encodeURIComponent).join('/');

/** Every room, following the pages of `GET /v1/rooms` (bounded: 100 pages of 100). */
async function allRooms(ctx: CommandContext): Promise<RoomRow[]> {
  const client = controlClient(ctx);
  const rooms: RoomRow[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const query = `?limit=100${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const got = await client.get<{ rooms: RoomRow[]; nextCursor?: string }>(`/v1/rooms${query}`);
    rooms.push(...got.rooms);
    cursor = got.nextCursor;
    if (cursor === undefined) {
      break;
    }
  }
  return rooms;
}

function peerRows(peers: PeerRow[]): string[][] {
  const permissions = (p: PeerRow) =>
    Object.entries(p.permissions)
      .filter(([, on]) => on)
      .map(([name]) => name)
      .join(',') || '-';
  return [['PEER', 'USER', 'NAME', 'JOINED', 'MAY'], ...peers.map((p) => [p.id, p.userId, p.name ?? '-', shortTime(p.joinedAt), permissions(p)])];
}

/** What a command on one room says of itself; `roomCommand` adds the `<room>` positional and the server options. */
interface RoomCommandSpec {
  name: string;
  summary: string;
  details?: string;
  /** Positionals after `<room>`. */
  more?: string[];
  /** Its own options, after the server options. */
  options?: Record<string, OptionSpec>;
  run: (ctx: CommandContext, roomId: string) => Promise<void>;
}

/** A command on one room of a running server: `heliograph <name> <room> …`, exit 0 unless `run` throws. */
function roomCommand({ more = [], options = {}, run, ...help }: RoomCommandSpec): Command {
  return {
    ...help,
    positionals: ['<room>', ...more],
    options: { ...SERVER_OPTIONS, ...options },
    async run(ctx) {
      const [roomId = ''] = ctx.args.positionals;
      await run(ctx, roomId);
      return 0;
    },
  };
}

export const roomsListCommand: Command = {
  name: 'rooms list',
  summary: 'Lists the live rooms (of the whole cluster): id, peers, limit, created.',
  options: { ...SERVER_OPTIONS, ...JSON_OPTION },
  async run(ctx) {
    const rooms = await allRooms(ctx);
    const rows = [['ROOM', 'PEERS', 'MAX', 'CREATED'], ...rooms.map((r) => [r.id, String(r.peers), String(r.maxPeers), shortTime(r.createdAt)])];
    printResult(ctx, rooms, rows, 'No live rooms.');
    return 0;
  },
};

export const roomsShowCommand = roomCommand({
  name: 'rooms show',
  summary: 'Shows one room: its settings, metadata and peers.',
  options: JSON_OPTION,
  async run(ctx, roomId) {
    const client = controlClient(ctx);
    const room = await client.get<RoomRow>(`/v1/rooms/${path(roomId)}`);
    const { peers } = await client.get<{ peers: PeerRow[] }>(`/v1/rooms/${path(roomId)}/peers`);
    if (ctx.args.options.json === true) {
      ctx.io.stdout.write(`${JSON.stringify({ ...room, peers }, null, 2)}\n`);
      return;
    }
    const lines = [
      `Room      ${room.id}`,
      `Peers     ${room.peers} of ${room.maxPeers}`,
      `Created   ${shortTime(room.createdAt)}`,
      `Empty     closes ${room.emptyTimeoutMs} ms after the last peer leaves`,
      `Metadata  ${JSON.stringify(room.metadata)}`,
    ];
    ctx.io.stdout.write(`${lines.join('\n')}\n`);
    if (peers.length > 0) {
      ctx.io.stdout.write(`\n`);
      printResult({ ...ctx, args: { ...ctx.args, options: {} } }, peers, peerRows(peers), '');
    }
  },
});

export const roomsCloseCommand = roomCommand({
  name: 'rooms close',
  summary: 'Closes a room: every peer gets room.closed with the reason. Needs a read-write key.',
  options: { reason: { type: 'string', value: 'text', description: 'Told to the peers (default: closed by the backend)' } },
  async run(ctx, roomId) {
    const reason = optionalString(ctx.args, 'reason');
    await controlClient(ctx).delete(`/v1/rooms/${path(roomId)}${reason === undefined ? '' : `?reason=${encodeURIComponent(reason)}`}`);
    ctx.io.stdout.write(`Closed room ${roomId}\n`);
  },
});

export const peersListCommand = roomCommand({
  name: 'peers list',
  summary: 'Lists the peers of a room: id, user, name, joined, permissions.',
  options: JSON_OPTION,
  async run(ctx, roomId) {
    const { peers } = await controlClient(ctx).get<{ peers: PeerRow[] }>(`/v1/rooms/${path(roomId)}/peers`);
    printResult(ctx, peers, peerRows(peers), `No peers in room ${roomId}.`);
  },
});

export const peersKickCommand = roomCommand({
  name: 'peers kick',
  more: ['<peer>'],
  summary: 'Removes a peer from its room (it gets room.kicked, the others peer.left). Needs a read-write key.',
  options: { reason: { type: 'string', value: 'text', description: 'Told to the peer (default: removed by the backend)' } },
  async run(ctx, roomId) {
    const [, peerId = ''] = ctx.args.positionals;
    const reason = optionalString(ctx.args, 'reason');
    await controlClient(ctx).post(`/v1/rooms/${path(roomId, 'peers', peerId)}/kick`, reason === undefined ? {} : { reason });
    ctx.io.stdout.write(`Kicked ${peerId} from room ${roomId}\n`);
  },
});

export const sendCommand = roomCommand({
  name: 'send',
  summary: 'Sends data (a `data` event from "server") to every peer of a room, or to one. Needs a read-write key.',
  details: 'The payload is JSON: `heliograph send demo --data \'{"notice":"closing in 5 minutes"}\'`.',
  options: {
    ...JSON_OPTION,
    data: { type: 'string', value: 'json', required: true, description: 'The payload, as JSON' },
    peer: { type: 'string', value: 'peer', description: 'Only this peer' },
  },
  async run(ctx, roomId) {
    const text = requireString(ctx.args, 'data');
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new CliError(`--data must be JSON, not ${JSON.stringify(text)}`, USAGE_EXIT);
    }
    const peer = optionalString(ctx.args, 'peer');
    const target = peer === undefined ? `/v1/rooms/${path(roomId)}/data` : `/v1/rooms/${path(roomId, 'peers', peer)}/data`;
    const result = await controlClient(ctx).post<{ recipients: number }>(target, { payload });
    if (ctx.args.options.json === true) {
      ctx.io.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      ctx.io.stdout.write(`Sent to ${result.recipients} peer${result.recipients === 1 ? '' : 's'}\n`);
    }
  },
});

export const ROOMS_COMMANDS: readonly Command[] = [roomsListCommand, roomsShowCommand, roomsCloseCommand, peersListCommand, peersKickCommand, sendCommand];
