// A scripted OpenAI-compatible chat server for tests, examples and benchmarks.
// It listens on 127.0.0.1 only and answers with whatever the script says, in the
// wire shape @ax-llm/ax's `openai` provider reads (non-streaming JSON and SSE).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tool the request offers the model (the `tools` of an OpenAI chat request). */
export interface ScriptedTool {
  name: string;
  description: string;
  parameters: unknown;
}

/** A tool the model called earlier in this conversation, with what it returned. */
export interface ScriptedToolResult {
  name: string;
  arguments: Record<string, unknown>;
  /** The tool message's content, as the client sent it. */
  result: string;
}

export interface ScriptedCall {
  model: string;
  stream: boolean;
  messages: { role: string; content: string }[];
  tools: ScriptedTool[];
  toolResults: ScriptedToolResult[];
  system: string;
  user: string;
  outputs: string[];
  inputs: Record<string, string>;
  requestIndex: number;
  /** The request body as sent (model settings such as temperature, max_tokens). */
  body: Record<string, unknown>;
}
/** A reply that calls tools instead of answering: the client runs them and asks again with their results. */
export class ToolCallReply {
  constructor(readonly calls: readonly { name: string; arguments: Record<string, unknown> }[]) {}
}
export type ScriptedReply = string | Record<string, unknown> | ToolCallReply;
export type Script = (call: ScriptedCall) => ScriptedReply | Promise<ScriptedReply>;
/** What a chat request gets instead of the script's reply. */
export type Fault =
  | { status: number; retryAfter?: string; message?: string }
  | 'reset' // the connection is closed without an answer
  | 'hang' // no answer until the client gives up or the server closes
  | 'malformed'; // HTTP 200 with a body that is not JSON
export interface ModelServerOptions {
  script?: Script;
  latencyMs?: number;
  port?: number;
}
export interface ModelServer {
  url: string;
  readonly requests: number;
  /** The most requests in flight at once (waiting out their latency) since start or reset(). */
  readonly maxInFlight: number;
  /** Requests waiting out their latency now: their answers have not been sent. */
  readonly inFlight: number;
  readonly calls: ScriptedCall[];
  readonly authorizationSeen: boolean;
  setScript(script: Script): void;
  setLatency(ms: number): void;
  /** The next `count` chat requests fail with `fault` (a status code, default 500, or a Fault). */
  failNext(count: number, fault?: number | Fault): void;
  reset(): void;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const CREATED = 1_700_000_000; // fixed so replies are byte-for-byte deterministic
const MODELS = ['gpt-4o-mini', 'gpt-4o'];

// ---------------------------------------------------------------------------
// Prompt parsing (ax 24 prompt format)
// ---------------------------------------------------------------------------

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => {
        if (typeof part === 'string') return part;
        if (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string') {
          return part.text;
        }
        return '';
      })
      .filter((t) => t.length > 0)
      .join('\n');
  }
  return '';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function toolsOf(body: Record<string, unknown>): ScriptedTool[] {
  return (Array.isArray(body.tools) ? body.tools : []).flatMap((tool: unknown) => {
    const fn = isObject(tool) && isObject(tool.function) ? tool.function : undefined;
    return fn ? [{ name: String(fn.name ?? ''), description: String(fn.description ?? ''), parameters: fn.parameters }] : [];
  });
}

/** Each tool call of the assistant turns, paired with the tool message that answered it. */
function toolResultsOf(messages: unknown[]): ScriptedToolResult[] {
  const calls = new Map<string, { name: string; arguments: Record<string, unknown> }>();
  const results: ScriptedToolResult[] = [];
  for (const message of messages.filter(isObject)) {
    for (const call of Array.isArray(message.tool_calls) ? message.tool_calls.filter(isObject) : []) {
      const fn = isObject(call.function) ? call.function : {};
      let args: unknown = {};
      try {
        args = JSON.parse(String(fn.arguments ?? '{}'));
      } catch {
        // arguments that are not JSON stay empty
      }
      calls.set(String(call.id), { name: String(fn.name ?? ''), arguments: isObject(args) ? args : {} });
    }
    const answered = message.role === 'tool' ? calls.get(String(message.tool_call_id)) : undefined;
    if (answered) results.push({ ...answered, result: textOf(message.content) });
  }
  return results;
}

function section(system: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(system);
  return m?.[1];
}

/** Output wire keys, in order: ax renders `Title (wire key: \`name\`): (...)`. */
export function parseOutputKeys(system: string): string[] {
  const src = section(system, 'output_fields') ?? system;
  return [...src.matchAll(/\(wire key: `([^`]+)`\)/g)].map((m) => m[1] ?? '');
}

/** Input field titles, from the identity line or else the <input_fields> section. */
function parseInputTitles(system: string): string[] {
  const identity = /You will be provided with the following fields: (.*?)\. Your task is/.exec(system);
  if (identity?.[1]) {
    return [...identity[1].matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  }
  const src = section(system, 'input_fields');
  if (!src) return [];
  return src
    .split('\n')
    .filter((l) => !l.startsWith('**'))
    .map((l) => /^([A-Za-z][A-Za-z0-9 ]*):/.exec(l)?.[1] ?? '')
    .filter((t) => t.length > 0);
}

/**
 * Inverse of ax's field title rule (`customer_query` -> "Customer query",
 * `productName` -> "Product Name"). Ambiguous only for digits (`item_2` vs `item2`);
 * snake_case wins there.
 */
export function titleToWireName(title: string): string {
  const words = title.trim().split(/\s+/);
  const first = (words[0] ?? '').charAt(0).toLowerCase() + (words[0] ?? '').slice(1);
  const rest = words.slice(1);
  if (rest.some((w) => /^[A-Z]/.test(w))) return first + rest.join('');
  return [first, ...rest].join('_').toLowerCase();
}

/** ax renders each input as `<Title>: value`; a value runs until the next known title. */
export function parseInputs(user: string, titles: readonly string[]): Record<string, string> {
  const known = [...titles].sort((a, b) => b.length - a.length);
  const startOf = (line: string): [string, string] | undefined => {
    if (known.length > 0) {
      const t = known.find((k) => line.startsWith(`${k}:`));
      return t === undefined ? undefined : [t, line.slice(t.length + 1)];
    }
    const m = /^([A-Z][A-Za-z0-9 ]*):(.*)$/.exec(line);
    return m ? [m[1] ?? '', m[2] ?? ''] : undefined;
  };
  const out: Record<string, string> = {};
  let current: string | undefined;
  for (const line of user.split('\n')) {
    const start = startOf(line);
    if (start) {
      current = titleToWireName(start[0]);
      out[current] = start[1].replace(/^ /, '');
    } else if (current !== undefined) {
      out[current] += `\n${line}`;
    }
  }
  for (const k of Object.keys(out)) out[k] = (out[k] ?? '').trimEnd();
  return out;
}

// ---------------------------------------------------------------------------
// Default script
// ---------------------------------------------------------------------------

/** The rendered output line for `key`, e.g. "Label (wire key: `label`): (This classification class field ...". */
function outputLine(system: string, key: string): string {
  return system.split('\n').find((l) => l.includes(`(wire key: \`${key}\`)`)) ?? '';
}

function defaultValue(call: ScriptedCall, key: string): unknown {
  const line = outputLine(call.system, key);
  const type = /\((?:This|Only include this) (.+?) field/.exec(line)?.[1] ?? 'string';
  const allowed = /Allowed values: ([^\n]+)/.exec(line)?.[1]?.split(',')[0]?.trim();
  const quoted = Object.entries(call.inputs)
    .map(([k, v]) => `${k} "${v.replace(/\s+/g, ' ').trim()}"`)
    .join(', ');
  const sentence = `Scripted ${key.replace(/_/g, ' ')} for ${quoted || 'the request'}.`;
  const scalar = (t: string): unknown => {
    if (t.startsWith('number')) return 1;
    if (t.startsWith('boolean')) return true;
    if (t.startsWith('classification class')) return allowed ?? 'unknown';
    if (t.startsWith('datetime range')) return { start: '2024-01-01T00:00:00Z', end: '2024-01-02T00:00:00Z' };
    if (t.startsWith('date range')) return { start: '2024-01-01', end: '2024-01-02' };
    if (t.startsWith('datetime')) return '2024-01-01T00:00:00Z';
    if (t.startsWith('date')) return '2024-01-01';
    if (t.startsWith('JSON object') || t.startsWith('object')) return {};
    return sentence;
  };
  const array = /^json array of (.+) items$/.exec(type);
  return array ? [scalar(array[1] ?? 'string')] : scalar(type);
}

/** Fills ax's JSON shape placeholders (`"<string>"`, `"<YYYY-MM-DD>"`, ...) with concrete values. */
function fillShape(value: unknown, sentence: string): unknown {
  if (Array.isArray(value)) return value.map((v) => fillShape(v, sentence));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillShape(v, sentence)]));
  }
  if (value === '<YYYY-MM-DD>') return '2024-01-01';
  if (value === '<ISO 8601 datetime>') return '2024-01-01T00:00:00Z';
  if (typeof value === 'string' && /^<.*>$/.test(value)) return sentence;
  return value;
}

/**
 * Answers every output key with a deterministic value derived from the inputs.
 * Object outputs follow the "**Exact JSON shape**" ax adds to the system prompt for them.
 */
/** The instruction ax put in the system prompt (its <task_definition>), or ''. */
export const instructionOf = (call: ScriptedCall): string => /<task_definition>\n([\s\S]*?)\n<\/task_definition>/.exec(call.system)?.[1] ?? '';

/** An input ax rendered as JSON (json fields, objects), parsed; text that is not JSON comes back as it is. */
export function jsonInput(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

export const defaultScript: Script = (call) => {
  const shapeText = /\*\*Exact JSON shape\*\*: `(.+)`/.exec(call.system)?.[1];
  let shape: Record<string, unknown> = {};
  try {
    if (shapeText) shape = JSON.parse(shapeText) as Record<string, unknown>;
  } catch {
    // not JSON: fall back to per-field defaults
  }
  return Object.fromEntries(
    call.outputs.map((key) => {
      const value = defaultValue(call, key);
      const shaped = shape[key];
      const nested = shaped !== null && typeof shaped === 'object';
      return [key, nested ? fillShape(shaped, typeof value === 'string' ? value : `Scripted ${key}.`) : value];
    }),
  );
};

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

function wantsJson(system: string, body: Record<string, unknown>): boolean {
  const format = body.response_format;
  const formatType =
    format && typeof format === 'object' && 'type' in format ? String(format.type) : undefined;
  // ax switches to one JSON object when the signature has object/complex outputs.
  return formatType === 'json_object' || formatType === 'json_schema' || system.includes('Return one valid JSON object');
}

function renderReply(reply: string | Record<string, unknown>, json: boolean): string {
  if (typeof reply === 'string') return reply;
  if (json) return JSON.stringify(reply);
  return Object.entries(reply)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n');
}

function errorBody(status: number, message: string): string {
  return JSON.stringify({
    error: {
      message,
      type: status >= 500 ? 'server_error' : 'invalid_request_error',
      param: null,
      code: status === 404 ? 'not_found' : null,
    },
  });
}

function sendJson(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendFault(res: http.ServerResponse, fault: Fault): void {
  if (fault === 'reset') res.socket?.destroy();
  else if (fault === 'malformed') sendJson(res, 200, '{"id": "chatcmpl-truncated", "choices": [');
  else if (fault !== 'hang') {
    const message = fault.message ?? `Scripted failure (HTTP ${fault.status})`;
    sendJson(res, fault.status, errorBody(fault.status, message), fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
  }
}

/** Splits content into up to 4 roughly equal pieces (at least one, even when empty). */
function pieces(content: string): string[] {
  const size = Math.max(1, Math.ceil(content.length / 4));
  const out: string[] = [];
  for (let i = 0; i < content.length; i += size) out.push(content.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  let script: Script = options.script ?? defaultScript;
  let latencyMs = options.latencyMs ?? 0;
  let requests = 0;
  let calls: ScriptedCall[] = [];
  let authorizationSeen = false;
  let failures: Fault[] = []; // queued faults for the next chat requests
  let inFlight = 0;
  let maxInFlight = 0; // most requests waiting out their latency at once
  let closed = false;
  const timers = new Map<NodeJS.Timeout, () => void>();

  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, ms);
          timers.set(t, resolve);
        });

  async function chat(raw: string, res: http.ServerResponse): Promise<void> {
    const requestIndex = requests++;
    const fault = failures.shift();
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('body must be a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (e) {
      sendJson(res, 400, errorBody(400, `Invalid JSON body: ${(e as Error).message}`));
      return;
    }

    const messages = (Array.isArray(body.messages) ? (body.messages as unknown[]) : []).map((m) => {
      const msg = (m && typeof m === 'object' ? m : {}) as { role?: unknown; content?: unknown };
      return { role: String(msg.role ?? ''), content: textOf(msg.content) };
    });
    const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
    const user = messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
    const call: ScriptedCall = {
      model: String(body.model ?? ''),
      stream: body.stream === true,
      messages,
      tools: toolsOf(body),
      toolResults: toolResultsOf(Array.isArray(body.messages) ? (body.messages as unknown[]) : []),
      system,
      user,
      outputs: parseOutputKeys(system),
      inputs: parseInputs(user, parseInputTitles(system)),
      requestIndex,
      body,
    };
    calls.push(call);

    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await sleep(latencyMs);
    inFlight--;
    if (closed) return;

    if (fault !== undefined) {
      sendFault(res, fault);
      return;
    }

    let reply: ScriptedReply;
    try {
      reply = await script(call);
    } catch (e) {
      sendJson(res, 500, errorBody(500, e instanceof Error ? e.message : String(e)));
      return;
    }
    const toolCalls =
      reply instanceof ToolCallReply
        ? reply.calls.map((tool, index) => ({
            id: `call_${requestIndex}_${index}`,
            type: 'function',
            function: { name: tool.name, arguments: JSON.stringify(tool.arguments) },
          }))
        : undefined;
    const content = reply instanceof ToolCallReply ? '' : renderReply(reply, wantsJson(system, body));
    const finishReason = toolCalls ? 'tool_calls' : 'stop';

    const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
    const usage = {
      prompt_tokens: Math.ceil(promptChars / 4),
      completion_tokens: Math.ceil(content.length / 4),
      total_tokens: Math.ceil(promptChars / 4) + Math.ceil(content.length / 4),
    };
    const id = `chatcmpl-scripted-${requestIndex}`;
    const head = { id, created: CREATED, model: call.model };

    if (!call.stream) {
      sendJson(
        res,
        200,
        JSON.stringify({
          ...head,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: toolCalls ? null : content, ...(toolCalls ? { tool_calls: toolCalls } : {}) }, finish_reason: finishReason }],
          usage,
        }),
      );
      return;
    }

    if (res.destroyed) return;
    const streamOptions = body.stream_options;
    const includeUsage =
      !!streamOptions && typeof streamOptions === 'object' && 'include_usage' in streamOptions && streamOptions.include_usage === true;
    const chunk = (extra: Record<string, unknown>): string =>
      `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', ...extra })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (toolCalls) {
      const delta = { role: 'assistant', tool_calls: toolCalls.map((call, index) => ({ index, ...call })) };
      res.write(chunk({ choices: [{ index: 0, delta, finish_reason: null }] }));
    } else {
      pieces(content).forEach((piece, i) => {
        const delta = i === 0 ? { role: 'assistant', content: piece } : { content: piece };
        res.write(chunk({ choices: [{ index: 0, delta, finish_reason: null }] }));
      });
    }
    if (includeUsage) {
      // OpenAI's shape: a finish chunk, then a usage chunk with empty choices.
      res.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: finishReason }] }));
      res.write(chunk({ choices: [], usage }));
    } else {
      res.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: finishReason }], usage }));
    }
    res.end('data: [DONE]\n\n');
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.headers.authorization !== undefined) authorizationSeen = true;
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]?.replace(/\/+$/, '').replace(/^\/v1(?=\/|$)/, '') ?? '';

    if (req.method === 'POST' && path === '/chat/completions') {
      await chat(raw, res);
    } else if (req.method === 'GET' && path === '/models') {
      sendJson(
        res,
        200,
        JSON.stringify({
          object: 'list',
          data: MODELS.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'vitest-learn' })),
        }),
      );
    } else {
      sendJson(res, 404, errorBody(404, `Unknown route: ${req.method ?? ''} ${req.url ?? ''}`));
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(500, e instanceof Error ? e.message : String(e)));
      else res.destroy();
    });
  });
  // Neither the listener nor idle keep-alive sockets may keep the process alive.
  server.on('connection', (socket) => socket.unref());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${HOST}:${port}/v1`,
    get requests() {
      return requests;
    },
    get calls() {
      return calls;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
    get authorizationSeen() {
      return authorizationSeen;
    },
    setScript(next) {
      script = next;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    failNext(count, fault = 500) {
      for (let i = 0; i < count; i++) failures.push(typeof fault === 'number' ? { status: fault } : fault);
    },
    // Also forgets authorizationSeen and queued failures; keeps script and latency.
    reset() {
      requests = 0;
      calls = [];
      failures = [];
      authorizationSeen = false;
      maxInFlight = 0;
    },
    close() {
      closed = true;
      // Wake requests still waiting out their latency; they see `closed` and stop.
      for (const [t, wake] of timers) {
        clearTimeout(t);
        wake();
      }
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
