// POST /api/assembly/:id/notes: the assembly checks a note (core/limits.ts NOTE_LIMITS), the web
// server only picks the answer: 201, 400 for an invalid note, 413 for one over the limits, 404 for
// an unknown prompt, 409 for a closed one. One limit, so the two layers cannot disagree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { WebServer, type WebSources } from '../../../services/web/server.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { NOTE_LIMITS } from '../../../core/limits.ts';
import { fixtureStatus } from './fixture-server.ts';

const TOKEN = 'notes-test-token';
const added: { id: string; author: string; text: string }[] = [];
const logs: string[] = [];

/** the assembly's checks as it makes them (services/assembly), on the shared limits */
function addNote(id: string, note: { author: string; text: string }): never {
  const fail = (code: string, message: string) => {
    throw Object.assign(new Error(message), { code });
  };
  if (id === 'boom') throw new Error('storage exploded');
  if (id !== 'p-1' && id !== 'p-closed') fail('not_found', `no assembly prompt "${id}"`);
  if (id === 'p-closed') fail('closed', `assembly prompt ${id} is closed`);
  const author = note.author.trim();
  const text = note.text.trim();
  if (!author) fail('invalid', 'a note needs an author');
  if (author.length > NOTE_LIMITS.author) fail('invalid', `author is too long (${author.length} characters, at most ${NOTE_LIMITS.author})`);
  if (!text) fail('invalid', 'a note needs some text');
  if (text.length > NOTE_LIMITS.text) fail('invalid', `note is too long (${text.length} characters, at most ${NOTE_LIMITS.text})`);
  added.push({ id, author, text });
  return { id, notes: added } as never;
}

const src: WebSources = {
  events: new VillageEventHub(),
  token: TOKEN,
  status: () => fixtureStatus(Date.now()),
  sensors: () => [],
  links: () => [],
  history: () => null,
  metrics: new Registry(),
  health: () => ({ ok: true }),
  assembly: { prompts: () => [], prompt: () => undefined, notes: () => [], addNote, cap: () => '', startDrill: () => null, stopDrill: () => false },
  log: (line) => logs.push(line),
};
const web = new WebServer(src, { host: '127.0.0.1', port: 0 });

beforeAll(() => web.start());
afterAll(() => web.stop());

async function post(id: string, body: unknown): Promise<{ status: number; body: { error?: string; notes?: unknown[] } }> {
  const res = await fetch(`${web.url}/api/assembly/${id}/notes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('notes through the web API', () => {
  it('takes a note at the limits, and names someone when no author is given', async () => {
    expect((await post('p-1', { author: 'a'.repeat(NOTE_LIMITS.author), text: 'x'.repeat(NOTE_LIMITS.text) })).status).toBe(201);
    expect((await post('p-1', { text: '  the pump is fixed  ' })).status).toBe(201);
    expect(added.at(-1)).toEqual({ id: 'p-1', author: 'someone', text: 'the pump is fixed' });
  });

  it("answers 413 past NOTE_LIMITS with the assembly's message", async () => {
    const long = await post('p-1', { author: 'Ana', text: 'x'.repeat(NOTE_LIMITS.text + 1) });
    expect(long).toEqual({ status: 413, body: { error: `note is too long (${NOTE_LIMITS.text + 1} characters, at most ${NOTE_LIMITS.text})` } });
    expect((await post('p-1', { author: 'a'.repeat(NOTE_LIMITS.author + 1), text: 'hi' })).status).toBe(413);
  });

  it('answers 400 for an empty note, 404 for an unknown prompt, 409 for a closed one', async () => {
    expect(await post('p-1', { author: 'Ana', text: '   ' })).toEqual({ status: 400, body: { error: 'a note needs some text' } });
    expect((await post('p-1', { author: 'Ana' })).status).toBe(400);
    expect((await post('p-9', { author: 'Ana', text: 'hi' })).status).toBe(404);
    expect((await post('p-closed', { author: 'Ana', text: 'hi' })).status).toBe(409);
  });

  it('answers 500 and logs a failure that is not about the note', async () => {
    expect((await post('boom', { author: 'Ana', text: 'hi' })).status).toBe(500);
    expect(logs.some((l) => l.startsWith('web: POST /api/assembly/boom/notes: Error: storage exploded'))).toBe(true);
  });
});
