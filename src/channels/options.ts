/**
 * The channel flags, declared for yargs (spread into the CLI's option specs). Nchan's directives map
 * onto them: nchan_message_buffer_length -> --channel-buffer, nchan_message_timeout -> --channel-ttl,
 * nchan_subscriber_first_message -> --channel-first, nchan_redis_url -> --channel-store.
 */
import type { Options } from 'yargs';

const G_CHANNELS = 'Channels (Nchan-style publish/subscribe):';

export const channelOptionSpecs = {
  channels: {
    type: 'string',
    group: G_CHANNELS,
    describe:
      'Serve channels on [host:]port (alone, or beside a target/tokens); empty: on the listen address',
  },
  'channel-pub-path': {
    type: 'string',
    default: '/pub',
    group: G_CHANNELS,
    describe: 'Publisher path prefix',
  },
  'channel-sub-path': {
    type: 'string',
    default: '/sub',
    group: G_CHANNELS,
    describe: 'Subscriber path prefix',
  },
  'channel-buffer': {
    type: 'number',
    default: 10,
    group: G_CHANNELS,
    describe: 'Messages kept per channel for replay (0: none)',
  },
  'channel-ttl': {
    type: 'number',
    default: 3600,
    group: G_CHANNELS,
    describe: 'Seconds a message is kept (0: until evicted)',
  },
  'channel-first': {
    type: 'string',
    default: 'oldest',
    group: G_CHANNELS,
    describe: 'Where new subscribers start: oldest, newest, N (N-th oldest) or -N (N newest)',
  },
  'channel-nodelay': {
    type: 'boolean',
    default: false,
    group: G_CHANNELS,
    describe:
      'Send each message to subscribers at once (TCP_NODELAY); default: let the kernel coalesce small ones, as Nchan does',
  },
  'channel-slow': {
    type: 'string',
    default: 'close',
    choices: ['close', 'skip'],
    group: G_CHANNELS,
    describe: 'A subscriber past its queue: close it (1013) or skip messages until it catches up',
  },
  'channel-queue': {
    type: 'number',
    default: 1024,
    group: G_CHANNELS,
    describe: 'KiB waiting for one subscriber before it counts as slow',
  },
  'channel-max-channels': {
    type: 'number',
    default: 10000,
    group: G_CHANNELS,
    describe: 'Channels held in memory at most (503 beyond)',
  },
  'channel-max-bytes': {
    type: 'number',
    default: 16,
    group: G_CHANNELS,
    describe: 'MiB of messages per channel (also the largest message: 413 beyond)',
  },
  'publish-allow': {
    type: 'string',
    // Repeatable; `array: true` would also swallow the positional arguments after it.
    group: G_CHANNELS,
    describe: 'Also allow publishing from this network (CIDR); default: loopback only',
  },
  'publish-auth': {
    type: 'string',
    group: G_CHANNELS,
    describe: 'Publishers need these Basic credentials (user:pass or an htpasswd file); any address then',
  },
  'channel-feed': {
    type: 'string',
    // Repeatable; `array: true` would also swallow the positional arguments after it.
    group: G_CHANNELS,
    describe:
      "ID=TARGET: publish what TARGET (host:port, unix_socket:/path, or 'cmd:COMMAND ARGS': its stdout, restarted when it exits) sends to channel ID",
  },
  'channel-feed-mode': {
    type: 'string',
    default: 'lines',
    choices: ['lines', 'chunks'],
    group: G_CHANNELS,
    describe: 'Publish feeds line by line or chunk by chunk',
  },
  'channel-store': {
    type: 'string',
    group: G_CHANNELS,
    describe: 'Share channels through Redis: redis://[user:pass@]host:port/db[?prefix=ns] or rediss://',
  },
} as const satisfies Record<string, Options>;
