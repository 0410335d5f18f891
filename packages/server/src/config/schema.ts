import Type, { type Static } from 'typebox';
import { DEFAULT_MAX_DEPTH, IceServer, RoomGrant } from '@heliograph/protocol';
import { DEFAULT_MAX_TOKEN_TTL_SECONDS } from '../auth/token-verifier.js';
import { PixelStreamingConfigSchema } from '../pixel-streaming/config.js';
import { Burst, PositiveInt, Rate, Section } from './schema-kinds.js';

/**
 * The whole server configuration: one schema, with a default for every field that has one.
 * Sources, later ones winning: defaults, the JSON file, `HELIOGRAPH_*` environment variables,
 * command-line flags (see `load.ts`). Fields marked `secret` can also be read from a file.
 */
export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', description: 'Address to listen on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'HTTP/WebSocket port; 0 picks a free one' }),
    dataDir: Type.String({ default: './data', description: 'Where the SQLite database and the generated signing secret live' }),
    log: Section({
      level: Type.Union(
        [
          Type.Literal('fatal'),
          Type.Literal('error'),
          Type.Literal('warn'),
          Type.Literal('info'),
          Type.Literal('debug'),
          Type.Literal('trace'),
          Type.Literal('silent'),
        ],
        { default: 'info', description: 'Log level' },
      ),
      format: Type.Union([Type.Literal('auto'), Type.Literal('pretty'), Type.Literal('json')], {
        default: 'auto',
        description: 'Log lines as text for people (`pretty`) or one JSON object each (`json`); `auto`: pretty when stdout is a terminal, else JSON',
      }),
    }),
    tls: Section({
      cert: Type.Optional(Type.String({ description: 'Path to a PEM certificate (chain); with `key`, the port serves HTTPS and WSS' })),
      key: Type.Optional(Type.String({ description: 'Path to the PEM private key of `cert`' })),
    }),
    http: Section({
      trustProxy: Type.Optional(
        Type.String({
          minLength: 1,
          description:
            'Reverse proxies whose `X-Forwarded-For` is believed, comma-separated addresses or CIDRs (`127.0.0.1,10.0.0.0/8`; also `loopback`, `uniquelocal`). Unset: the peer address of the TCP connection is the client address',
        }),
      ),
      headersTimeoutMs: PositiveInt(
        10_000,
        'A client must send its request headers (with TLS, finish the handshake first) within this, or the socket is closed; also closes sockets that send nothing. At most `requestTimeoutMs`. All ports',
      ),
      requestTimeoutMs: PositiveInt(
        30_000,
        'A client must send its whole request, body included, within this, or is closed (with 408 on the main port). All ports',
      ),
      keepAliveTimeoutMs: PositiveInt(5_000, 'An idle keep-alive HTTP socket is closed after this long. All ports'),
      idleTimeoutMs: PositiveInt(
        30_000,
        'A socket with no traffic either way for this long is closed (an HTTP client that stops reading); never an open WebSocket. All ports',
      ),
    }),
    auth: Section({
      jwtSecret: Type.Optional(
        Type.String({ minLength: 32, secret: true, description: 'HS256 secret shared with the business backend; generated under dataDir when absent' }),
      ),
      jwksUrl: Type.Optional(Type.String({ description: "URL of the business auth server's JWKS, for RS256/ES256 tokens" })),
      issuer: Type.Optional(Type.String({ description: 'Required `iss` claim, when set' })),
      audience: Type.Optional(Type.String({ description: 'Required `aud` claim, when set' })),
      clockToleranceSeconds: Type.Integer({ minimum: 0, default: 5, description: 'Leeway for `exp`/`nbf`' }),
      tokenTtlSeconds: Type.Integer({ minimum: 60, default: 3600, description: 'Lifetime of tokens minted by login' }),
      maxTokenTtlSeconds: Type.Integer({
        minimum: 60,
        default: DEFAULT_MAX_TOKEN_TTL_SECONDS,
        description:
          'Longest token lifetime accepted or minted: tokens whose `exp` is further ahead (or whose `exp - iat` is longer) are refused. One day, because a token cannot be revoked and travels in URLs (`?token=`, proxy logs), while it is only checked when a connection opens: clients with a token provider get a fresh one per connection',
      }),
      loginGrants: Type.Array(RoomGrant, {
        default: [{ room: '*', join: true, create: true }],
        description: 'Room grants put in tokens minted by login for built-in accounts',
      }),
      accounts: Type.Boolean({ default: true, description: 'Enable built-in accounts and POST /v1/auth/login' }),
      signup: Type.Boolean({
        default: true,
        description: 'Let anyone create a built-in account with POST /v1/auth/signup (the demo uses it); turn off in production',
      }),
      loginMaxFailuresPerUserAndAddress: PositiveInt(
        5,
        'Failed logins for one username from one client address before that pair gets 429 with a backoff (a success resets it)',
      ),
      loginBackoffSeconds: PositiveInt(1, 'First backoff of a (username, address) pair; it doubles with each further failure'),
      loginBackoffMaxSeconds: PositiveInt(900, 'Longest backoff of a (username, address) pair'),
      loginMaxFailuresPerAddress: PositiveInt(20, 'Failed logins per client address, across usernames, within the window before 429 (refills over the window)'),
      loginSlowdownFailuresPerUser: PositiveInt(
        10,
        'Failed logins for one username from all addresses within the window past which every address that fails for it backs off from its first failure; an address that has not failed is never refused',
      ),
      signupMaxPerAddress: PositiveInt(5, 'Sign-ups per client address within the window before 429'),
      loginWindowSeconds: PositiveInt(
        900,
        'Window over which the per-address and per-username counts refill; a pair is forgotten this long after its last backoff ends',
      ),
    }),
    rooms: Section({
      maxPeers: Type.Integer({ minimum: 1, maximum: 10_000, default: 50, description: 'Default peer limit per room' }),
      emptyTimeoutMs: Type.Integer({ minimum: 0, default: 300_000, description: 'How long an empty room lives before it is deleted' }),
    }),
    limits: Section({
      maxFrameBytes: Type.Integer({ minimum: 1024, default: 65_536, description: 'Larger frames are answered with PAYLOAD_TOO_LARGE' }),
      hardFrameBytes: Type.Integer({ minimum: 1024, default: 1_048_576, description: 'Larger frames close the connection with 1009' }),
      maxDepth: Type.Integer({
        minimum: 2,
        maximum: 1000,
        default: DEFAULT_MAX_DEPTH,
        description:
          'Most levels a JSON document from outside may nest (a WebSocket frame, a Pixel Streaming message, a REST body; `{}` and `[]` are one level each); deeper ones are refused with BAD_REQUEST',
      }),
      messagesPerSecond: Rate(100, 'Sustained request rate per connection (token bucket refill)'),
      messageBurst: Burst(200, 'Token bucket size per connection'),
      userMessagesPerSecond: Rate(200, "Sustained request rate per user, shared by all the user's connections to this node"),
      userMessageBurst: Burst(400, 'Token bucket size per user'),
      addressMessagesPerSecond: Rate(2000, 'Sustained request rate per client address (all its users, e.g. an office behind one NAT), per node'),
      addressMessageBurst: Burst(4000, 'Token bucket size per client address'),
      floodCloseAfter: PositiveInt(100, 'Rate-limited requests in a row before the connection is closed with 4429'),
      invalidCloseAfter: PositiveInt(50, 'Invalid frames in a row before the connection is closed with 4400'),
      maxConnections: PositiveInt(10_000, 'Open WebSocket connections per node, upgrades being verified included; more are closed with 4503'),
      maxSockets: Type.Integer({
        minimum: 0,
        default: 0,
        description:
          'Open TCP sockets per node, all ports together (HTTP, WebSockets, upgrades); past it clients get 503 while `/healthz` and `/readyz` still answer on 32 reserve sockets, and past those sockets are closed at once. 0 = the open-file limit (`ulimit -n`) less a reserve for files',
      }),
      maxPendingUpgrades: PositiveInt(1_000, 'WebSocket upgrades whose token is being verified, per node (all ports); more get HTTP 503 with `Retry-After`'),
      maxPendingUpgradesPerAddress: PositiveInt(
        50,
        'WebSocket upgrades whose token is being verified, per client address (an IPv6 /64); more get HTTP 429 with `Retry-After`',
      ),
      upgradesPerSecondPerAddress: Rate(
        50,
        'WebSocket upgrades a client address (an IPv6 /64) may start per second, sustained, before its token is checked; more get HTTP 429 with `Retry-After`',
      ),
      upgradeBurstPerAddress: Burst(200, 'WebSocket upgrades a client address may start at once'),
      connectionsPerSecondPerUser: Rate(
        2,
        'WebSocket connections a user (token `sub`) may open per second, sustained; more are closed with 4429 (Pixel Streaming: HTTP 429)',
      ),
      connectionBurstPerUser: Burst(10, 'WebSocket connections a user may open at once'),
      maxBufferedBytes: Type.Integer({
        minimum: 1024,
        default: 1_048_576,
        description: 'Bytes buffered for one slow recipient before it is dropped with 4508',
      }),
      requestTimeoutMs: PositiveInt(10_000, 'A request not answered within this time gets TIMEOUT'),
    }),
    resume: Section({
      windowMs: Type.Integer({
        minimum: 0,
        maximum: 600_000,
        default: 30_000,
        description:
          'How long a session outlives its dropped connection: its peer stays in its room (the others see peer.reconnecting), events for it are kept, and the client may resume with session.resume. 0 turns resume off',
      }),
      maxEvents: PositiveInt(1000, 'Events kept per session for a resume; a reconnecting session sent more ends with resume_overflow'),
      maxBytes: Type.Integer({
        minimum: 1024,
        default: 524_288,
        description: 'Bytes of events kept per session for a resume; a reconnecting session sent more ends with resume_overflow',
      }),
      maxTotalBytes: Type.Integer({
        minimum: 1024,
        default: 268_435_456,
        description: 'Bytes of events kept for resumes by the whole node; past it connected sessions keep less and reconnecting ones end with resume_overflow',
      }),
    }),
    ping: Section({
      intervalMs: Type.Integer({ minimum: 100, default: 20_000, description: 'WebSocket ping interval' }),
      maxMissed: PositiveInt(2, 'Missed pongs before the connection is dropped'),
    }),
    drain: Section({
      timeoutMs: Type.Integer({ minimum: 0, default: 15_000, description: 'On SIGTERM, how long clients get to reconnect elsewhere before the node closes' }),
      reconnectWithinMs: Type.Integer({
        minimum: 0,
        default: 5_000,
        description: 'Clients are told to reconnect within this window (spread at random), so they do not all arrive at once',
      }),
    }),
    redis: Section({
      url: Type.Optional(
        Type.String({
          pattern: '^(redis|rediss|redis-sentinel|redis-cluster)://',
          secret: true,
          description:
            'Joins this node to a cluster sharing rooms and routing over Redis: `redis://host:port`, `rediss://`, `redis-sentinel://host:port[,…]/<master>`, `redis-cluster://host:port[,…]`. Unset: a one-node service. Flag shortcut: `--redis <url>`',
        }),
      ),
      prefix: Type.String({
        pattern: '^[A-Za-z0-9_.-]{1,32}$',
        default: 'hg',
        description: 'Prefix of every Redis key and channel, so that several clusters can share one Redis',
      }),
      commandTimeoutMs: Type.Integer({
        minimum: 100,
        default: 2_000,
        description: 'A Redis command not answered within this fails with UNAVAILABLE (a hung or partitioned Redis)',
      }),
    }),
    cluster: Section({
      heartbeatIntervalMs: Type.Integer({ minimum: 50, default: 2_000, description: 'How often a node tells the cluster it is alive' }),
      heartbeatTtlMs: Type.Integer({
        minimum: 150,
        default: 6_000,
        description: 'A node not heard from for this long is lost: its peers leave their rooms with reason `node_lost` (reported within TTL + one interval)',
      }),
      requestTimeoutMs: Type.Integer({
        minimum: 100,
        default: 5_000,
        description: 'How long a node waits for another to hand a signal to its peer before the sender gets TIMEOUT',
      }),
      linkSecret: Type.Optional(
        Type.String({
          minLength: 32,
          secret: true,
          description:
            'Shared by every node of the cluster: turns on direct authenticated links between nodes for relays and other node-to-node requests (Redis keeps the directory, liveness and room broadcasts). Unset: those requests go through Redis',
        }),
      ),
      linkHost: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address the direct-link listener binds to (with `cluster.linkSecret`)' }),
      linkPort: Type.Integer({
        minimum: 0,
        maximum: 65535,
        default: 0,
        description: 'Port of the direct-link listener; 0 picks a free one (the address is published through Redis)',
      }),
      linkAdvertiseHost: Type.Optional(
        Type.String({
          minLength: 1,
          description:
            "Host the other nodes dial for this node's links; by default `cluster.linkHost`, or this machine's first external IPv4 address when that is a wildcard",
        }),
      ),
    }),
    metrics: Section({
      enabled: Type.Boolean({ default: true, description: 'Serve Prometheus metrics at GET /metrics (restrict it at the proxy or firewall)' }),
    }),
    demo: Section({
      enabled: Type.Boolean({ default: true, description: 'Serve the demo web app at / and the client SDK bundle at /sdk/' }),
    }),
    iceServers: Type.Array(IceServer, { default: [], description: 'STUN/TURN servers handed to clients on join' }),
    pixelStreaming: PixelStreamingConfigSchema,
    turn: Section({
      urls: Type.Array(Type.String({ pattern: '^turns?:' }), {
        default: [],
        description: 'TURN URLs given to clients with credentials minted per connection from `turn.secret` (coturn `use-auth-secret`)',
      }),
      secret: Type.Optional(Type.String({ minLength: 16, secret: true, description: "coturn's `static-auth-secret`; required when `turn.urls` is set" })),
      ttlSeconds: Type.Integer({
        minimum: 10,
        default: 3600,
        description: 'Lifetime of minted TURN credentials; fresh ones are sent (`ice.servers`) at 80% of it',
      }),
    }),
    controlApi: Section({
      keys: Type.Array(
        Type.Object(
          {
            id: Type.String({ minLength: 1, maxLength: 64 }),
            key: Type.String({ minLength: 32, maxLength: 256 }),
            scope: Type.Union([Type.Literal('read'), Type.Literal('read-write')]),
          },
          { additionalProperties: false },
        ),
        {
          default: [],
          secret: true,
          description:
            'API keys of the control REST API under /v1 (JSON: `[{"id","key","scope":"read"|"read-write"}]`); keys made with `heliograph keys create` are accepted too; with none at all every call is refused',
        },
      ),
    }),
    roomService: Section({
      url: Type.Optional(Type.String({ description: 'Business room service asked before every join and room creation; unset means no callout' })),
      secret: Type.Optional(Type.String({ minLength: 16, secret: true, description: 'HMAC-SHA256 key that signs callout requests (and verifies replies)' })),
      timeoutMs: PositiveInt(2000, 'A callout not answered within this time counts as failed'),
      maxConcurrent: PositiveInt(64, 'Callouts in flight at once; more wait their turn within their timeout'),
      failOpen: Type.Boolean({ default: false, description: 'Allow joins when the room service fails (timeout, 5xx, bad reply); refused by default' }),
      cacheTtlMs: Type.Integer({
        minimum: 0,
        default: 0,
        description: 'How long an answer is reused for the same action, user and room; 0 turns the cache off',
      }),
      verifyReplies: Type.Boolean({ default: false, description: 'Require replies signed like the requests; unsigned or badly signed ones count as failed' }),
    }),
    webhooks: Section({
      url: Type.Optional(Type.String({ description: 'Where signed webhook events are POSTed; unset means no webhooks' })),
      secret: Type.Optional(Type.String({ minLength: 16, secret: true, description: 'HMAC-SHA256 key that signs webhook requests' })),
      events: Type.Array(Type.String(), { default: [], description: 'Event types to send (for example `["peer.joined","peer.left"]`); empty means all' }),
      timeoutMs: PositiveInt(5000, 'A delivery not answered with 2xx within this time is retried'),
      concurrency: PositiveInt(8, 'Deliveries in flight at once (one per room at a time, to keep each room in order)'),
      initialBackoffMs: PositiveInt(1000, 'Delay before the first retry; doubled on each failure'),
      maxBackoffMs: PositiveInt(300_000, 'Longest delay between retries'),
      maxAttempts: PositiveInt(15, 'Attempts before an event becomes a dead letter (listed and redeliverable over the control API)'),
    }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
