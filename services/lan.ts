// First contact: where phones on the village network reach the page, and a QR code for it.
// tend listens on loopback unless the config or `tend demo --host` says otherwise; when it opens
// to the village network, the start-up lines give the page's address on each network card (from
// os.networkInterfaces, the internal ones skipped) and a QR code a phone's camera opens.
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { hostPort } from '../core/listen.ts';

/** 127.0.0.0/8, ::1 and localhost: only this machine reaches them. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || /^::ffff:127\./.test(h);
}

/** listening on every address (0.0.0.0, ::) */
export function isAnyAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * The addresses phones on the village network can use for a listen host: every non-internal
 * address of this machine for 0.0.0.0 (IPv4) or :: (IPv4 and IPv6, link-local left out: a
 * browser cannot open them without a zone), the host itself when it is one address, none for
 * loopback.
 */
export function lanAddresses(host: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  if (isLoopback(host)) return [];
  if (!isAnyAddress(host)) return [host];
  const out: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') out.push(a.address);
      else if (host !== '0.0.0.0' && !a.address.toLowerCase().startsWith('fe80:')) out.push(a.address);
    }
  }
  // IPv4 first: the address people read out and type
  return [...new Set(out)].sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

/** `http://addr:port` for each address the page is reached at from the village network. */
export function lanUrls(host: string, port: number, tls = false, interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  return lanAddresses(host, interfaces).map((a) => `${tls ? 'https' : 'http'}://${hostPort(a, port)}`);
}

/**
 * A QR code of `text` to print in a terminal: black on white with ANSI colours on a terminal
 * (it scans on dark and light themes alike), plain block characters otherwise (a log file).
 */
export async function qrText(text: string, terminal: boolean): Promise<string> {
  // loaded here, not at start: only `--host` prints a code, and a village runs without it
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(text, terminal ? { type: 'terminal', small: true } : { type: 'utf8', margin: 2 });
}

/**
 * The start-up lines for the village network: each address of the page, a QR code of the first,
 * and, only when asked, a second code that also carries the write token (whoever scans it can
 * write: add notes, enter readings, start drills).
 */
export async function lanLines(o: {
  host: string;
  port: number;
  tls?: boolean;
  /** the embedded broker's host and port, when it too is open to the network */
  broker?: { host: string; port: number };
  token?: string;
  showTokenQr?: boolean;
  terminal?: boolean;
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}): Promise<string> {
  if (isLoopback(o.host)) return '';
  const urls = lanUrls(o.host, o.port, o.tls, o.interfaces);
  if (!urls.length) return `  network: listening on ${o.host}, but this machine has no address on a network yet\n`;
  let out = urls.map((u, i) => `  ${i ? '        ' : 'network:'} ${u}\n`).join('');
  const broker = o.broker && !isLoopback(o.broker.host) ? lanAddresses(o.broker.host, o.interfaces)[0] : undefined;
  if (broker && o.broker) out += `  devices: mqtt://${hostPort(broker, o.broker.port)}\n`;
  out += `  a phone on the same network opens the page with this code (${urls[0]}):\n`;
  out += await qrText(`${urls[0]}/`, o.terminal === true);
  if (o.showTokenQr && o.token) {
    out += `\n  write key: this second code opens the page with the write token; whoever scans it can add notes, enter readings and start drills\n`;
    out += await qrText(`${urls[0]}/?token=${encodeURIComponent(o.token)}`, o.terminal === true);
  }
  return out.endsWith('\n') ? out : `${out}\n`;
}
