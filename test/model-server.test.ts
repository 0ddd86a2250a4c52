import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import { AxAIOpenAIModel, ai, ax, f } from '@ax-llm/ax';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultScript, startModelServer, type ModelServer, type ScriptedCall } from './support/model-server.js';

const API_KEY = 'sk-test-model-server-secret';

// ax 24 retries a 5xx twice over: the HTTP layer (apiCall: 500/408/429/502/503/504/529,
// maxRetries 3, backoff 1 s, 2 s, 4 s) and forward()'s infrastructure loop (any 5xx,
// maxRetries 3, same backoff). A 4xx other than 408/429 is never retried. So a single
// failed request needs both retry knobs off.
const NO_RETRY = { retry: { maxRetries: 0 }, maxRetries: 0 } as const;

describe('scripted model server', () => {
  let server: ModelServer;
  let llm: ReturnType<typeof ai>;

  beforeAll(async () => {
    server = await startModelServer();
    llm = ai({ name: 'openai', apiKey: API_KEY, apiURL: server.url, config: { model: AxAIOpenAIModel.GPT4OMini } });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    server.setScript(defaultScript);
    server.setLatency(0);
  });

  const support = () => ax('customer_query:string -> polite_reply:string');
  const classify = () =>
    ax('review_text:string, productName:string -> label:class "a, b", confidence:number');

  it('binds 127.0.0.1 only', async () => {
    const url = new URL(server.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/v1');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) {
      const refused = await new Promise<boolean>((resolve) => {
        const s = connect(Number(url.port), external.address);
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    }
  });

  it('answers a single-output program through the real openai provider', async () => {
    server.setScript(() => ({ polite_reply: 'Your order ships today.' }));
    const out = await support().forward(llm, { customer_query: 'Where is my order?' }, { stream: false });
    expect(out.polite_reply).toBe('Your order ships today.');
    expect(server.requests).toBe(1);
    const call = server.calls[0] as ScriptedCall;
    expect(call).toMatchObject({
      model: 'gpt-4o-mini',
      stream: false,
      outputs: ['polite_reply'],
      inputs: { customer_query: 'Where is my order?' },
      user: 'Customer query: Where is my order?\n',
      requestIndex: 0,
    });
    expect(call.system).toContain('Polite reply (wire key: `polite_reply`)');
    expect(call.messages.map((m) => m.role)).toEqual(['system', 'user']);
  });

  it('parses several outputs and multi-line, camelCase inputs', async () => {
    server.setScript(() => ({ label: 'b', confidence: 0.75 }));
    const review = 'The lamp works.\nWould buy: again';
    const out = await classify().forward(llm, { review_text: review, productName: 'Lamp' }, { stream: false });
    expect(out).toEqual({ label: 'b', confidence: 0.75 });
    const call = server.calls[0] as ScriptedCall;
    expect(call.outputs).toEqual(['label', 'confidence']);
    expect(call.inputs).toEqual({ review_text: review, productName: 'Lamp' });
  });

  it('streams over SSE and yields the same result', async () => {
    server.setScript(() => ({ label: 'a', confidence: 0.5 }));
    const input = { review_text: 'Fine.', productName: 'Mug' };
    const [a, b] = [classify(), classify()];
    const plain = await a.forward(llm, input, { stream: false });
    const streamed = await b.forward(llm, input, { stream: true });
    expect(streamed).toEqual(plain);
    // usage reaches ax on both paths (streamed: from the final chunk)
    expect(b.getUsage()).toEqual(a.getUsage());
    expect(a.getUsage()[0]?.tokens?.promptTokens).toBeGreaterThan(0);
    expect(server.calls.map((c) => c.stream)).toEqual([false, true]);
    expect(server.calls.map((c) => c.requestIndex)).toEqual([0, 1]);
    expect(server.requests).toBe(2);
  });

  it('sends SSE chunks with usage in the last chunk, and deterministic usage', async () => {
    server.setScript(() => 'polite_reply: Hello there, friend.');
    const messages = [
      { role: 'system', content: 'You are scripted.' },
      { role: 'user', content: [{ type: 'text', text: 'Customer query: Hi' }] },
    ];
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages, stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text()).split('\n\n').filter((e) => e.length > 0);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')) as {
      choices: { delta: { content?: string }; finish_reason: string | null }[];
      usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    });
    const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
    expect(text).toBe('polite_reply: Hello there, friend.');
    expect(chunks.filter((c) => c.choices.some((ch) => ch.delta.content)).length).toBeGreaterThan(1);
    const prompt = Math.ceil(('You are scripted.'.length + 'Customer query: Hi'.length) / 4);
    const completion = Math.ceil(text.length / 4);
    expect(chunks.at(-1)?.usage).toEqual({
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    });
    expect(server.calls[0]?.user).toBe('Customer query: Hi');
  });

  it('gives any program a parseable answer with the default script', async () => {
    const p = ax('customer_query:string -> polite_reply:string, label:class "x, y", score:number, urgent:boolean');
    const out = await p.forward(llm, { customer_query: 'Where is my order?' }, { stream: false });
    expect(out).toEqual({
      polite_reply: 'Scripted polite reply for customer_query "Where is my order?".',
      label: 'x',
      score: 1,
      urgent: true,
    });
  });

  it('answers object outputs as one JSON object with the default script', async () => {
    const sig = f()
      .input('customer_query', f.string())
      .output('details', f.object({ city: f.string(), zip: f.number() }))
      .build();
    const out = await ax(sig).forward(llm, { customer_query: 'Ship to Paris' }, { stream: false });
    expect(out).toEqual({ details: { city: 'Scripted details.', zip: 0 } });
  });

  it('applies latency to concurrent requests at the same time', async () => {
    const latency = 200;
    server.setLatency(latency);
    const answeredAt: number[] = [];
    server.setScript(() => {
      answeredAt.push(performance.now());
      return { polite_reply: 'ok' };
    });
    await Promise.all(
      [1, 2, 3, 4].map((n) => support().forward(llm, { customer_query: `q${n}` }, { stream: false })),
    );
    expect(server.requests).toBe(4);
    // Each request waited [answer - latency, answer]; concurrent waits all overlap.
    const intervals = answeredAt.map((end) => ({ start: end - latency, end }));
    for (const a of intervals) for (const b of intervals) expect(a.start).toBeLessThan(b.end);
  });

  it('failNext with a 4xx makes forward reject once, counting the failure', async () => {
    server.failNext(1, 400);
    await expect(support().forward(llm, { customer_query: 'Hi' }, { stream: false })).rejects.toThrow(/400/);
    expect(server.requests).toBe(1);
    const ok = await support().forward(llm, { customer_query: 'Hi' }, { stream: false });
    expect(typeof ok.polite_reply).toBe('string');
    expect(server.requests).toBe(2);
    expect(server.calls).toHaveLength(2);
  });

  it('failNext with a 5xx rejects when retries are off', async () => {
    server.failNext(2, 503);
    await expect(support().forward(llm, { customer_query: 'Hi' }, { stream: false, ...NO_RETRY })).rejects.toThrow(/503/);
    await expect(support().forward(llm, { customer_query: 'Hi' }, { stream: true, ...NO_RETRY })).rejects.toThrow(/503/);
    expect(server.requests).toBe(2);
    await support().forward(llm, { customer_query: 'Hi' }, { stream: false, ...NO_RETRY });
    expect(server.requests).toBe(3);
  });

  it('ax retries a 5xx at the HTTP layer, and the failed attempt counts', async () => {
    server.failNext(1, 500);
    const out = await support().forward(
      llm,
      { customer_query: 'Hi' },
      { stream: false, retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1 } },
    );
    expect(typeof out.polite_reply).toBe('string');
    expect(server.requests).toBe(2);
    expect(server.calls.map((c) => c.requestIndex)).toEqual([0, 1]);
  });

  it('sees the Authorization header without recording the key', async () => {
    await support().forward(llm, { customer_query: 'Hi' }, { stream: false });
    expect(server.authorizationSeen).toBe(true);
    expect(JSON.stringify(server.calls)).not.toContain(API_KEY);
    expect(JSON.stringify(server)).not.toContain(API_KEY);
  });

  it('answers 500 with the message when the script throws', async () => {
    server.setScript(() => {
      throw new Error('script exploded');
    });
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: { message: 'script exploded', type: 'server_error', param: null, code: null },
    });
    await expect(support().forward(llm, { customer_query: 'Hi' }, { stream: false, ...NO_RETRY })).rejects.toThrow(/500/);
    expect(server.requests).toBe(2);
  });

  it('serves /v1/models, the path without /v1, and 404 JSON otherwise', async () => {
    const base = server.url.replace(/\/v1$/, '');
    const models = (await (await fetch(`${server.url}/models`)).json()) as { object: string; data: { id: string }[] };
    expect(models.object).toBe('list');
    expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');

    server.setScript(() => 'plain text');
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
    expect(body.choices[0]).toMatchObject({ message: { content: 'plain text' }, finish_reason: 'stop' });

    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/nope/);
    expect(server.requests).toBe(1);
  });

  it('reset zeroes counters and the call log', async () => {
    await support().forward(llm, { customer_query: 'Hi' }, { stream: false });
    server.reset();
    expect(server.requests).toBe(0);
    expect(server.calls).toEqual([]);
    expect(server.authorizationSeen).toBe(false);
    await support().forward(llm, { customer_query: 'Hi' }, { stream: false });
    expect(server.calls[0]?.requestIndex).toBe(0);
  });
});
