// The hub's questions for the window (no ssh here): one stands open at a time, each answered by
// its own id, one not answered in time is cancelled, and a host's words are escaped and bounded.
import { describe, expect, it } from 'vitest';
import type { EventData, EventName } from '../../shared/ipc.js';
import { HubPrompts, promptKindFor } from '../../electron/node/remote/hub-prompts.js';

function window() {
  const sent: Array<{ event: EventName; data: unknown }> = [];
  const emit = (event: EventName, data: unknown) => void sent.push({ event, data });
  const asked = () => sent.filter((s) => s.event === 'host-prompt').map((s) => s.data as EventData<'host-prompt'>);
  const closed = () => sent.filter((s) => s.event === 'host-prompt-closed').map((s) => (s.data as { promptId: string }).promptId);
  return { emit, asked, closed };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('hub prompts', () => {
  it('asks one question at a time and routes each answer by its id', async () => {
    const w = window();
    const prompts = new HubPrompts(w.emit);
    const first = prompts.ask({ host: 'u@a:22', kind: 'passphrase', text: "Enter passphrase for key '/k': " }, 'passphrase');
    const second = prompts.ask({ host: 'u@b:22', kind: 'password', text: 'Password: ' }, 'password');
    await tick();
    expect(w.asked().map((p) => p.host)).toEqual(['u@a:22']);
    const [a] = w.asked();
    expect(prompts.answer('not-this-one', 'x')).toBe(false);
    expect(prompts.answer(a!.promptId, 'secret')).toBe(true);
    expect(await first).toBe('secret');
    expect(prompts.answer(a!.promptId, 'again')).toBe(false);
    await tick();
    const [, b] = w.asked();
    expect(b).toMatchObject({ host: 'u@b:22', kind: 'password' });
    expect(prompts.answer(b!.promptId, null)).toBe(true);
    expect(await second).toBeNull();
    expect(w.closed()).toEqual([a!.promptId, b!.promptId]);
    // The answers went back to the asker only: no event carries them.
    expect(JSON.stringify(w.asked())).not.toContain('secret');
  });

  it('cancels a question not answered in time, and everything waiting on close', async () => {
    const w = window();
    const prompts = new HubPrompts(w.emit, 50);
    expect(await prompts.ask({ host: 'h', kind: 'other', text: 'Say?' }, 'other')).toBeNull();
    expect(w.closed()).toHaveLength(1);
    const waiting = prompts.ask({ host: 'h', kind: 'other', text: 'Say?' }, 'other');
    const after = prompts.ask({ host: 'h', kind: 'other', text: 'Again?' }, 'other');
    await tick();
    prompts.close();
    expect(await waiting).toBeNull();
    expect(await after).toBeNull();
    expect(w.asked()).toHaveLength(2);
  });

  it("shows a host's words escaped and bounded, and names sudo's questions whatever they say", async () => {
    const w = window();
    const prompts = new HubPrompts(w.emit);
    const text = `Enter passphrase\u001b[2J\u202e for key${'x'.repeat(5000)}`;
    void prompts.ask({ host: 'h', kind: 'passphrase', text }, promptKindFor({ host: 'h', kind: 'passphrase', text }, true));
    await tick();
    const [p] = w.asked();
    expect(p!.kind).toBe('sudo');
    expect([...p!.text].some((c) => c === '\u001b' || c === '\u202e')).toBe(false);
    expect(p!.text.length).toBeLessThan(1200);
    prompts.close();
    expect(promptKindFor({ host: 'h', kind: 'host-key', text: 'fingerprint?' }, false)).toBe('other');
  });
});
