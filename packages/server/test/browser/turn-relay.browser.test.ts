import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { haveTool } from '../helpers/require-tool.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** The veth address of the test namespace (scripts/netns-run.sh); coturn listens and relays on it. */
const TURN_IP = '192.0.2.1';
const TURN_PORT = 3478;
const TURN_SECRET = 'coturn-static-auth-secret-0123';
const TURN_URL = `turn:${TURN_IP}:${TURN_PORT}?transport=udp`;

interface Joined {
  peerId: string;
  iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }>;
}

/**
 * Puts a minimal Heliograph client in the page: it joins `room` over the real WebSocket, builds a
 * relay-only RTCPeerConnection from the `iceServers` the server gave it, and exchanges offers,
 * answers and candidates through `signal.send`.
 */
function joinInPage(page: Page, wsUrl: string, token: string, room: string): Promise<Joined> {
  return page.evaluate(
    async ({ wsUrl, token, room }) => {
      type Frame = { id?: number; ok?: boolean; data?: any; type?: string };
      const state = { messages: [] as string[], errors: [] as Array<{ code: number; text: string; url: string }>, candidates: [] as string[] };
      const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
      const pending = new Map<number, (f: Frame) => void>();
      let nextId = 1;
      const request = (type: string, data: unknown) =>
        new Promise<Frame>((resolve) => {
          const id = nextId++;
          pending.set(id, resolve);
          ws.send(JSON.stringify({ id, type, data }));
        });
      let pc: RTCPeerConnection | undefined;
      let remote: string | undefined;
      let chain = Promise.resolve();
      const onSignal = async (from: string, signal: { description?: RTCSessionDescriptionInit; candidate?: RTCIceCandidateInit | null }) => {
        remote = from;
        if (!pc) {
          return;
        }
        if (signal.description) {
          await pc.setRemoteDescription(signal.description);
          if (signal.description.type === 'offer') {
            await pc.setLocalDescription();
            await request('signal.send', { to: from, signal: { description: pc.localDescription?.toJSON() } });
          }
        } else if (signal.candidate) {
          await pc.addIceCandidate(signal.candidate);
        }
      };
      ws.onmessage = (m) => {
        const frame = JSON.parse(String(m.data)) as Frame;
        if (frame.id !== undefined && 'ok' in frame) {
          pending.get(frame.id)?.(frame);
        } else if (frame.type === 'signal') {
          chain = chain
            .then(() => onSignal(frame.data.from, frame.data.signal))
            .catch((e: unknown) => {
              state.errors.push({ code: -1, text: String(e), url: '' });
            });
        }
      };
      await new Promise((resolve) => (ws.onopen = resolve));
      const joined = await request('room.join', { room });
      pc = new RTCPeerConnection({ iceServers: joined.data.iceServers, iceTransportPolicy: 'relay' });
      pc.onicecandidateerror = (e) => state.errors.push({ code: e.errorCode, text: e.errorText, url: e.url });
      pc.onicecandidate = (e) => {
        if (e.candidate) {
          state.candidates.push(e.candidate.candidate);
        }
        if (remote) {
          void request('signal.send', { to: remote, signal: { candidate: e.candidate ? e.candidate.toJSON() : null } });
        }
      };
      pc.ondatachannel = (e) => {
        e.channel.onmessage = (m) => {
          state.messages.push(String(m.data));
          e.channel.send(`echo:${String(m.data)}`);
        };
      };
      const w = window as unknown as Record<string, unknown>;
      w.hg = {
        state,
        pc,
        async call(to: string) {
          remote = to;
          const dc = pc!.createDataChannel('chat');
          dc.onmessage = (m) => state.messages.push(String(m.data));
          dc.onopen = () => dc.send('hello through the relay');
          await pc!.setLocalDescription();
          await request('signal.send', { to, signal: { description: pc!.localDescription?.toJSON() } });
        },
        /** Gathers candidates alone (no remote side) and resolves when gathering is complete. */
        async gather() {
          pc!.createDataChannel('probe');
          const done = new Promise<void>((resolve) => {
            if (pc!.iceGatheringState === 'complete') resolve();
            pc!.addEventListener('icegatheringstatechange', () => pc!.iceGatheringState === 'complete' && resolve());
          });
          await pc!.setLocalDescription();
          await done;
        },
        async selectedPair() {
          const stats = await pc!.getStats();
          const all = [...stats.values()] as Array<Record<string, any>>;
          const transport = all.find((s) => s.type === 'transport');
          const pair = all.find((s) => s.id === transport?.selectedCandidatePairId);
          const local = all.find((s) => s.id === pair?.localCandidateId);
          const remoteCandidate = all.find((s) => s.id === pair?.remoteCandidateId);
          return {
            state: pair?.state,
            local: local?.candidateType,
            remote: remoteCandidate?.candidateType,
            url: local?.url,
            relayProtocol: local?.relayProtocol,
          };
        },
      };
      return { peerId: joined.data.peer.id as string, iceServers: joined.data.iceServers };
    },
    { wsUrl, token, room },
  );
}

const hasCoturn = haveTool('turnserver', 'coturn');

describe.runIf(hasCoturn)('TURN credentials against a real coturn', () => {
  let coturn: Coturn;
  let chrome: TestBrowser;
  const servers: TestServer[] = [];
  beforeAll(async () => {
    coturn = await startCoturn({ ip: TURN_IP, port: TURN_PORT, secret: TURN_SECRET, realm: 'heliograph.test' });
    chrome = await launchChromium();
  });
  afterAll(async () => {
    await chrome?.close();
    await Promise.all(servers.map((s) => s.close()));
    await coturn?.stop();
  });

  async function pageOn(server: TestServer): Promise<Page> {
    const context = await chrome.browser.newContext();
    const page = await context.newPage();
    // An http://127.0.0.1 origin is a secure context, unlike about:blank.
    await page.goto(`${server.url}/healthz`);
    return page;
  }

  it('two browsers forced to relay-only ICE connect through coturn with the credentials Heliograph minted', async () => {
    const server = await startServer({ turn: { urls: [TURN_URL], secret: TURN_SECRET, ttlSeconds: 600 } });
    servers.push(server);
    const [pa, pb] = [await pageOn(server), await pageOn(server)];
    const ada = await joinInPage(pa, server.wsUrl, await server.token('ada'), 'relay');
    const bob = await joinInPage(pb, server.wsUrl, await server.token('bob'), 'relay');
    expect(ada.iceServers).toEqual([{ urls: [TURN_URL], username: expect.stringMatching(/^\d+:ada$/) as string, credential: expect.any(String) as string }]);

    await pa.evaluate((to) => (window as any).hg.call(to), bob.peerId);
    await pa.waitForFunction(() => (window as any).hg.state.messages.includes('echo:hello through the relay'), undefined, { timeout: 20_000 });
    expect(await pb.evaluate(() => (window as any).hg.state.messages)).toEqual(['hello through the relay']);
    for (const page of [pa, pb]) {
      // The answering side's stats can report the pair in progress for a moment after data flows.
      await expect
        .poll(() => page.evaluate(() => (window as any).hg.selectedPair()), { timeout: 10_000 })
        .toMatchObject({ state: 'succeeded', local: 'relay', remote: 'relay', relayProtocol: 'udp' });
    }
    const username = ada.iceServers[0]?.username ?? '';
    expect(coturn.log()).toContain(`username=<${username}>`);
  });

  it('expired credentials are refused by coturn: no relay candidate, a 401', async () => {
    // The same minting, on a node whose clock is two hours behind: its credentials expired long ago.
    const clock = new FakeClock(Date.now() - 2 * 3600_000);
    const server = await startServer({ turn: { urls: [TURN_URL], secret: TURN_SECRET, ttlSeconds: 600 }, ping: { intervalMs: 3_600_000 } }, { clock });
    servers.push(server);
    const page = await pageOn(server);
    const eve = await joinInPage(page, server.wsUrl, await server.token('eve'), 'expired');
    const username = eve.iceServers[0]?.username ?? '';
    expect(Number(username.split(':')[0])).toBeLessThan(Date.now() / 1000);

    await page.evaluate(() => (window as any).hg.gather());
    const { candidates, errors } = await page.evaluate(() => (window as any).hg.state as { candidates: string[]; errors: Array<{ code: number }> });
    expect(candidates.filter((c) => / typ relay/.test(c))).toEqual([]);
    expect(errors.map((e) => e.code)).toContain(401);
    expect(coturn.log()).toContain(`Cannot find credentials of user <${username}>`);
  });
});
