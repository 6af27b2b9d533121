// A real Mosquitto broker for tests: Debian's `mosquitto` on a free loopback port, with its own
// temp dir, password file (made with `mosquitto_passwd -b -c`), ACL file and persistence. It can
// be stopped (SIGTERM) and started again on the same port, to cut and restore a link.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { freePort, tempDir } from './net.ts';
import { serverProcess } from './process.ts';

/** The ACL the federation README documents: read all news, write only under your own prefix. */
export const FEDERATION_ACL = [
  '# every village may read the whole federation',
  'pattern read fed/#',
  '# and publish only under its own prefix; %u is the login name, which is the village id',
  'pattern write fed/%u/#',
  '',
].join('\n');

/**
 * The listener setting the README and the federation README recommend beside their ACLs: the
 * broker takes each client's login name as its client id, so a client cannot connect under
 * another's client id (a device as tend, a village as `tend-<village>`) and knock it off
 * (MQTT 5 [MQTT-3.1.4-3], 3.1.1 [MQTT-3.1.4-2]: the broker drops the older connection). Pass it
 * as `extraConfig`.
 */
export const USERNAME_AS_CLIENT_ID = ['use_username_as_clientid true'];

export interface MosquittoOptions {
  /** username → password; written with mosquitto_passwd */
  users: Record<string, string>;
  /** ACL file text; FEDERATION_ACL by default */
  acl?: string;
  port?: number;
  /** more mosquitto.conf lines, e.g. 'max_queued_messages 100000' */
  extraConfig?: string[];
  /** bridge this broker to another one (a `connection` block, written last in mosquitto.conf) */
  bridge?: MosquittoBridge;
}

/** A Mosquitto bridge: this broker logs in to `port` and carries the listed topic patterns. */
export interface MosquittoBridge {
  name: string;
  /** the other broker's port on loopback */
  port: number;
  username: string;
  password: string;
  /** `topic` lines as Mosquitto reads them: `pattern direction qos`, e.g. `fed/# both 1` */
  topics: string[];
}

function bridgeConfig(b: MosquittoBridge): string[] {
  return [
    `connection ${b.name}`,
    `address 127.0.0.1:${b.port}`,
    `remote_username ${b.username}`,
    `remote_password ${b.password}`,
    `remote_clientid bridge-${b.name}`,
    // a persistent session on the other side: QoS 1 news queued there survives a cut of the bridge
    'cleansession false',
    // no $SYS/broker/connection/… notifications: the other broker's ACL would refuse them anyway
    'notifications false',
    'restart_timeout 1 5',
    ...b.topics.map((t) => `topic ${t}`),
  ];
}

export interface Mosquitto {
  port: number;
  url: string;
  dir: string;
  /** true while the broker process runs */
  running(): boolean;
  /** stop with SIGTERM and wait for the process to exit (retained messages are saved) */
  stop(): Promise<void>;
  /** start again on the same port and wait until it accepts connections */
  start(): Promise<void>;
  /** the broker's log so far (for failure messages) */
  log(): string;
  /** stop and remove the temp dir */
  close(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startMosquitto(opts: MosquittoOptions): Promise<Mosquitto> {
  const tmp = tempDir('tend-mosquitto-');
  const dir = tmp.dir;
  const port = opts.port ?? (await freePort());
  const passwd = join(dir, 'passwd');
  const acl = join(dir, 'acl');
  const logFile = join(dir, 'mosquitto.log');
  const entries = Object.entries(opts.users);
  if (entries.length === 0) writeFileSync(passwd, '', { mode: 0o600 });
  else {
    const [[user, password], ...rest] = entries as [[string, string], ...[string, string][]];
    execFileSync('mosquitto_passwd', ['-b', '-c', passwd, user, password]);
    if (rest.length) {
      // many users (the bench's 100 villages): hash a plain file in one call instead of one each
      const more = join(dir, 'passwd.more');
      writeFileSync(more, `${rest.map(([u, p]) => `${u}:${p}`).join('\n')}\n`, { mode: 0o600 });
      execFileSync('mosquitto_passwd', ['-U', more]);
      appendFileSync(passwd, readFileSync(more));
      rmSync(more);
    }
  }
  writeFileSync(acl, opts.acl ?? FEDERATION_ACL);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      // run as ourselves: as root mosquitto would switch to user "mosquitto", who cannot read the temp dir
      `user ${userInfo().username}`,
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      ...(opts.extraConfig ?? []),
      ...(opts.bridge ? bridgeConfig(opts.bridge) : []),
      '',
    ].join('\n'),
  );

  let stderr = '';
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const { start, stop, running } = serverProcess({
    name: 'mosquitto',
    command: 'mosquitto',
    args: ['-c', conf],
    cwd: dir,
    out: (d) => {
      stderr += d.toString();
    },
    log: () => stderr + readLog(),
    ready: () => canConnect(port),
    readyWhat: `accept connections on ${port}`,
    startTimeoutMs: 15_000,
    pollMs: 50,
    killAfterMs: 10_000,
  });

  try {
    await start();
  } catch (err) {
    await stop();
    tmp.remove();
    throw err;
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    running,
    stop,
    start,
    log: () => stderr + readLog(),
    close: async () => {
      await stop();
      tmp.remove();
    },
  };
}
