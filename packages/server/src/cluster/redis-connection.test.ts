import { describe, expect, it } from 'vitest';
import { AppError } from '../shared/app-error.js';
import { parseClusterUrl, parseSentinelUrl, redisError } from './redis-connection.js';

describe('parseSentinelUrl', () => {
  it('reads sentinels, master name, password and db', () => {
    expect(parseSentinelUrl('redis-sentinel://10.0.0.1:26379,10.0.0.2:26380/mymaster')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
      ],
      name: 'mymaster',
    });
    expect(parseSentinelUrl('redis-sentinel://:s%40cret@s1/main/2')).toEqual({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'main',
      password: 's@cret',
      db: 2,
    });
  });

  it('leaves other URLs to ioredis and refuses a malformed Sentinel URL', () => {
    expect(parseSentinelUrl('redis://127.0.0.1:6379')).toBeUndefined();
    expect(() => parseSentinelUrl('redis-sentinel://s1:26379')).toThrow(AppError);
  });
});

describe('parseClusterUrl', () => {
  it('reads the seed nodes and the password', () => {
    expect(parseClusterUrl('redis-cluster://:pw@10.0.0.1:7000,10.0.0.2')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
      ],
      password: 'pw',
    });
    expect(parseClusterUrl('redis://127.0.0.1')).toBeUndefined();
    expect(() => parseClusterUrl('redis-cluster://a:1/db')).toThrow(AppError);
  });
});

describe('redisError', () => {
  it('keeps the code of errors our scripts raise, and makes connection trouble UNAVAILABLE', () => {
    const reply = Object.assign(new Error('ROOM_FULL Room "r" is full (2 peers)'), { name: 'ReplyError' });
    expect(redisError(reply)).toMatchObject({ code: 'ROOM_FULL', message: 'Room "r" is full (2 peers)' });
    const other = Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' });
    expect(redisError(other)).toMatchObject({ code: 'INTERNAL' });
    expect(redisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toMatchObject({ code: 'UNAVAILABLE' });
    expect(redisError(new Error('Command timed out'))).toMatchObject({ code: 'UNAVAILABLE' });
    for (const transient of [
      'CLUSTERDOWN The cluster is down',
      'LOADING Redis is loading the dataset in memory',
      "READONLY You can't write against a read only replica.",
    ]) {
      expect(redisError(Object.assign(new Error(transient), { name: 'ReplyError' }))).toMatchObject({ code: 'UNAVAILABLE' });
    }
  });
});
