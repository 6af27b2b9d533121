// HTTP over a plain socket, for requests fetch would refuse or normalise (bad percent-encoding,
// `//`, a 5,000-character path) and for SSE streams held open from a chosen local address.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawOptions {
  method?: string;
  /** bind the client end here (any 127.x.y.z on Linux), to look like another address */
  localAddress?: string;
}

/** Parse `HTTP/1.1 NNN …\r\nheaders\r\n\r\n` from the front of `buf`; null until it is all there. */
function parseHead(buf: Buffer): { status: number; headers: Record<string, string>; rest: Buffer } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, rest: buf.subarray(end + 4) };
}

function open(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * One request with `Connection: close`; resolves with the whole answer when the server closes.
 * `target` goes on the request line exactly as given.
 */
export async function rawRequest(port: number, target: string, opts: RawOptions = {}): Promise<RawResponse> {
  const s = await open(port, opts.localAddress);
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.write(`${opts.method ?? 'GET'} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    s.once('close', () => resolve());
    s.once('error', reject);
  });
  const head = parseHead(Buffer.concat(chunks));
  if (!head) throw new Error(`no HTTP answer to ${target.slice(0, 80)}`);
  const body = head.headers['transfer-encoding'] === 'chunked' ? dechunk(head.rest) : head.rest;
  return { status: head.status, headers: head.headers, body: body.toString('utf8') };
}

/** The body of a `Transfer-Encoding: chunked` answer: size line, bytes, CRLF, … up to size 0. */
function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export interface RawStream {
  status: number;
  headers: Record<string, string>;
  /** everything received after the head so far (the first SSE event, or a refusal's JSON) */
  text(): string;
  close(): void;
}

/**
 * Open `GET /api/stream` and resolve once the head has arrived; the socket stays open until
 * close(). A refusal (503) carries its body in text() once the server has sent it.
 */
export async function rawStream(port: number, opts: RawOptions = {}): Promise<RawStream> {
  const s = await open(port, opts.localAddress);
  let received = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d]);
  });
  s.write('GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  const head = await new Promise<NonNullable<ReturnType<typeof parseHead>>>((resolve, reject) => {
    const check = () => {
      const got = parseHead(received);
      if (!got) return;
      s.off('data', check);
      resolve(got);
    };
    s.on('data', check);
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before an answer')));
  });
  const headLength = received.length - head.rest.length;
  return {
    status: head.status,
    headers: head.headers,
    text: () => {
      const body = received.subarray(headLength);
      return (head.headers['transfer-encoding'] === 'chunked' ? dechunk(body) : body).toString('utf8');
    },
    close: () => s.destroy(),
  };
}
