import { afterEach, describe, expect, it, vi } from 'vitest';
import { HOLD_LIMIT, heldCount, hold, release, setHoldTimeout } from './holds.ts';

const challenge = () => new Response('{"error":"insufficient_scope"}', { status: 403 });
let servers = 0;
const serverId = () => `server-${++servers}`;

afterEach(() => {
  vi.useRealTimers();
  setHoldTimeout(2 * 60_000);
});

describe('held requests', () => {
  it('after a grant, every request held for the server is sent again and answered with its new response', async () => {
    const id = serverId();
    const resends: number[] = [];
    const answers = [1, 2, 3].map((n) => hold(id, challenge(), 10, async () => (resends.push(n), new Response(`ok ${n}`)), () => undefined)!);
    expect(heldCount(id)).toBe(3);
    await release(id, 'granted', () => undefined);
    expect(await Promise.all(answers.map(async (a) => (await a).text()))).toEqual(['ok 1', 'ok 2', 'ok 3']);
    expect(resends).toEqual([1, 2, 3]);
    expect(heldCount(id)).toBe(0);
  });

  for (const reason of ['declined', 'popup-closed', 'cancelled'] as const) {
    it(`when the authorization ends otherwise (${reason}), each held request gets its original challenge and is never sent again`, async () => {
      const id = serverId();
      const resend = vi.fn(async () => new Response('ok'));
      const answer = hold(id, challenge(), 10, resend, () => undefined)!;
      await release(id, reason, () => undefined);
      expect((await answer).status).toBe(403);
      expect(resend).not.toHaveBeenCalled();
    });
  }

  it('a hold that nobody ends gives its requests their challenge after the timeout', async () => {
    vi.useFakeTimers();
    setHoldTimeout(5_000);
    const id = serverId();
    const answer = hold(id, challenge(), 10, async () => new Response('ok'), () => undefined)!;
    await vi.advanceTimersByTimeAsync(4_999);
    expect(heldCount(id)).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await answer).status).toBe(403);
  });

  it('holds at most HOLD_LIMIT requests and bytes per server: the rest are answered at once', () => {
    const id = serverId();
    for (let i = 0; i < HOLD_LIMIT.requests; i++) expect(hold(id, challenge(), 1, async () => new Response('ok'), () => undefined)).toBeDefined();
    expect(hold(id, challenge(), 1, async () => new Response('ok'), () => undefined)).toBeUndefined();
    const other = serverId();
    expect(hold(other, challenge(), HOLD_LIMIT.bytes, async () => new Response('ok'), () => undefined)).toBeDefined();
    expect(hold(other, challenge(), 1, async () => new Response('ok'), () => undefined)).toBeUndefined();
  });

  it('a resend that fails answers with the original challenge rather than leaving the fetch hanging', async () => {
    const id = serverId();
    const answer = hold(id, challenge(), 10, async () => Promise.reject(new TypeError('Failed to fetch')), () => undefined)!;
    await release(id, 'granted', () => undefined);
    expect((await answer).status).toBe(403);
  });
});
