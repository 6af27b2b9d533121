// tend's command line (docs/architecture.md, "CLI"). Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { ruleParams } from '../config/rules.ts';
import { configWarnings } from '../config/warnings.ts';
import { type Config, configSchema } from '../config/schema.ts';
import { systemClock } from '../core/types.ts';
import { stderrSink, type LogSink } from '../core/log.ts';
import { DASHBOARD_JSON_DIR, DEMO_CONFIG, ROOT } from '../core/paths.ts';
import type { DashboardSettings } from '../dashboards/generate.ts';
import { POWER_HOURS_LEFT } from './reserve/levels.ts';
import { lanLines } from './lan.ts';
import { PortInUseError, startVillage, type Village } from './village.ts';

export { DEMO_CONFIG };

const USAGE = `tend — watches a village's shared reserves and opens assembly prompts

usage:
  tend run --config FILE          run a village from a config file
  tend demo [--storage DIR] [--host ADDR] [--port N] [--mqtt-port N] [--show-token-qr]
                                  a simulated 180-person village on embedded defaults;
                                  --host 0.0.0.0 opens the page and broker to the village
                                  network and prints the page's address and a QR code for
                                  phones (--show-token-qr: a second code with the write key)
  tend calibrate --tank ID --csv FILE [--config FILE]
                                  a strapping table from level_mm,litres lines: prints the
                                  tank's config snippet (compared with its shape with --config)
  tend simulate storm [--speed N] [--json]
                                  replay the crisis scenario, accelerated
  tend simulate --config FILE --scenario FILE.jsonl [--speed N] [--json]
                                  replay a recorded or written scenario on a simulated clock
  tend config check FILE          validate a config; prints path: message lines, exit 2 on problems
  tend dashboards [--config FILE] [--out DIR]
                                  generate the Grafana dashboards (dashboards/json), coloured
                                  by the config's alert rules (the rule defaults without one)
  tend history flush --config FILE
                                  drain the InfluxDB outbox by hand, with progress
  tend backup FILE (--config FILE | --storage DIR)
                                  copy the state (alerts, prompts, notes, history outbox)
                                  to FILE while tend runs
  tend restore FILE (--config FILE | --storage DIR) [--replace]
                                  put a backup in place on a new card, tend stopped; an
                                  existing state is moved aside only with --replace
  tend secret hash [--stdin]      read a device's secret from stdin, print its secret_hash
                                  for the config (keeps the plain secret out of the file)
  tend --version                  print tend's version
`;

type Out = { write(s: string): unknown };

/** The options each command takes; anything else is a usage error (exit 2). */
const COMMANDS = {
  run: { options: { config: { type: 'string' } }, positionals: 0 },
  demo: {
    options: {
      storage: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'show-token-qr': { type: 'boolean' },
    },
    positionals: 0,
  },
  calibrate: { options: { tank: { type: 'string' }, csv: { type: 'string' }, config: { type: 'string' } }, positionals: 0 },
  config: { options: {}, positionals: 2 },
  dashboards: { options: { out: { type: 'string' }, config: { type: 'string' } }, positionals: 0 },
  history: { options: { config: { type: 'string' } }, positionals: 1 },
  backup: { options: { config: { type: 'string' }, storage: { type: 'string' } }, positionals: 1 },
  restore: { options: { config: { type: 'string' }, storage: { type: 'string' }, replace: { type: 'boolean' } }, positionals: 1 },
  secret: { options: { stdin: { type: 'boolean' } }, positionals: 2 },
} as const satisfies Record<string, { options: ParseArgsConfig['options']; positionals: number }>;
type Command = keyof typeof COMMANDS;

/** A command line that does not parse: the message goes out with the usage, exit 2. */
class UsageError extends Error {}

/**
 * Parse one command's arguments (node:util parseArgs, strict). `--help`/`-h` is accepted by every
 * command; `help` is true when it was given.
 */
function parseCommand<C extends Command>(cmd: C, args: string[]) {
  const spec = COMMANDS[cmd];
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: spec.positionals > 0,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(parseArgsMessage(`tend ${cmd}`, e as Error & { code?: string }));
  }
  const help = parsed.values.help === true;
  if (!help && parsed.positionals.length > spec.positionals) {
    throw new UsageError(`tend ${cmd}: unexpected argument "${parsed.positionals[spec.positionals]}"`);
  }
  return { values: parsed.values as { [K in keyof (typeof spec)['options']]?: string }, positionals: parsed.positionals, help };
}

/** parseArgs' own messages are long and speak of positionals; say what was wrong in a line. */
function parseArgsMessage(what: string, e: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${what}: unknown option ${option ?? e.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option ? `${what}: ${option} needs a value` : `${what}: ${e.message}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `${what}: unexpected argument "${/'([^']*)'/.exec(e.message)?.[1] ?? e.message}"`;
    default:
      return `${what}: ${e.message}`;
  }
}

export async function main(
  argv: string[],
  out: Out = process.stdout,
  err: Out = process.stderr,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': {
        const { values, help } = parseCommand('run', rest);
        if (help) return showHelp(out);
        if (!values.config) return usage(err, 'tend run needs --config FILE');
        const config = loadConfig(values.config);
        // the same warnings as `tend config check`, in the log at every start (the journal under systemd)
        for (const line of configWarnings(config)) err.write(`${line}\n`);
        return await runUntilSignal(config, { out, err, portFallback: false });
      }
      case 'demo': {
        const { values, help } = parseCommand('demo', rest);
        if (help) return showHelp(out);
        const config = loadConfig(DEMO_CONFIG);
        if (values.storage) config.storage.dir = values.storage;
        // the village network sees the page and broker only when asked; loopback stays the default
        if (values.host) {
          config.web.host = values.host;
          if ('embedded' in config.broker) config.broker.embedded.host = values.host;
        }
        const ports = { web: portOption('--port', values.port), broker: portOption('--mqtt-port', values['mqtt-port']) };
        const showTokenQr = (values as { 'show-token-qr'?: boolean })['show-token-qr'] === true;
        return await runUntilSignal(config, { out, err, portFallback: true, demo: true, ports, showTokenQr });
      }
      case 'calibrate': {
        const { values, help } = parseCommand('calibrate', rest);
        if (help) return showHelp(out);
        if (!values.tank || !values.csv) return usage(err, 'tend calibrate needs --tank ID and --csv FILE');
        const config = values.config ? loadConfig(values.config) : null;
        let text: string;
        try {
          text = readFileSync(values.csv, 'utf8');
        } catch (e) {
          err.write(`tend calibrate: cannot read ${values.csv}: ${(e as Error).message}\n`);
          return 2;
        }
        const { calibrateFromCsv } = await import('./strapping.ts');
        const r = calibrateFromCsv(text, values.csv, values.tank, config);
        if ('error' in r) {
          err.write(`${r.error}\n`);
          return 2;
        }
        out.write(r.text);
        return 0;
      }
      case 'config': {
        const { positionals, help } = parseCommand('config', rest);
        if (help) return showHelp(out);
        const [sub, file] = positionals;
        if (sub !== 'check' || !file) return usage(err, 'tend config check FILE');
        const config = loadConfig(file);
        // implausible values (metres in mm fields, a sensor below the tank's top) warn; only errors fail
        const warnings = configWarnings(config);
        for (const line of warnings) err.write(`${line}\n`);
        const warned = warnings.length ? `; ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : '';
        out.write(`${file}: ok — village ${config.village.id}, ${config.devices.length} devices, ${config.sensors.length} sensors${warned}\n`);
        return 0;
      }
      case 'simulate': {
        // simulate reads its own options (services/simulate.ts); only help is answered here
        if (rest.includes('--help') || rest.includes('-h')) return showHelp(out);
        const { runSimulate } = await import('./simulate.ts');
        return await runSimulate(rest, out as NodeJS.WritableStream);
      }
      case 'dashboards': {
        const { values, help } = parseCommand('dashboards', rest);
        if (help) return showHelp(out);
        const { generateDashboards } = await import('../dashboards/generate.ts');
        const dir = values.out ?? DASHBOARD_JSON_DIR;
        const config = values.config ? loadConfig(values.config) : null;
        const files = await generateDashboards(dir, dashboardSettings(config));
        out.write(`wrote ${files.length} dashboards to ${dir}${config ? ` with the alert thresholds of ${values.config}` : ''}\n`);
        return 0;
      }
      case 'history': {
        const { values, positionals, help } = parseCommand('history', rest);
        if (help) return showHelp(out);
        if (positionals[0] !== 'flush') return usage(err, 'tend history flush --config FILE');
        if (!values.config) return usage(err, 'tend history flush needs --config FILE');
        const { flushHistory } = await import('./history/flush-cli.ts');
        return await flushHistory(loadConfig(values.config), out, err);
      }
      case 'backup':
      case 'restore': {
        const { values, positionals, help } = parseCommand(cmd, rest);
        if (help) return showHelp(out);
        const file = positionals[0];
        const dir = values.storage ?? (values.config ? loadConfig(values.config).storage.dir : undefined);
        if (!file || !dir) return usage(err, `tend ${cmd} FILE needs --config FILE or --storage DIR (where the state is)`);
        const { BackupError, STATE_FILE, restoreBackup, takeBackup } = await import('./backup.ts');
        try {
          if (cmd === 'backup') {
            // a bar for a large state on a slow card: a line each tenth
            let shown = -1;
            const note = await takeBackup(join(dir, STATE_FILE), file, {
              progress: (done, total) => {
                const tenth = Math.floor((10 * done) / Math.max(1, total));
                if (tenth === shown) return;
                shown = tenth;
                out.write(`[${'#'.repeat(tenth)}${'.'.repeat(10 - tenth)}] ${done}/${total} pages\n`);
              },
            });
            out.write(`backup of ${join(dir, STATE_FILE)} written to ${note.file} (${note.bytes.toLocaleString('en')} bytes)\n`);
          } else {
            const { movedAside } = restoreBackup(file, dir, { replace: (values as { replace?: boolean }).replace === true });
            out.write(`restored ${file} as ${join(dir, STATE_FILE)}${movedAside ? `; the state that was there is kept as ${movedAside}` : ''}\n`);
          }
          return 0;
        } catch (e) {
          if (e instanceof BackupError) {
            err.write(`tend ${cmd}: ${e.message}\n`);
            return 2;
          }
          throw e;
        }
      }
      case 'secret': {
        const { values, positionals, help } = parseCommand('secret', rest);
        if (help) return showHelp(out);
        const [sub, secret] = positionals;
        if (sub !== 'hash') return usage(err, 'tend secret hash [--stdin]');
        const both = secret !== undefined && (values as { stdin?: boolean }).stdin;
        if (both) return usage(err, 'tend secret hash takes the secret from --stdin or as an argument, not both');
        const { runSecretHash } = await import('./secret-hash.ts');
        return await runSecretHash(secret, stdin, out, err);
      }
      case '--version':
      case '-V':
      case 'version':
        out.write(`tend ${packageVersion()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        return usage(err, `unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      err.write(`${e.problems.join('\n')}\n`);
      return 2;
    }
    if (e instanceof PortInUseError) {
      err.write(`tend: ${e.message}\n`);
      return 2;
    }
    err.write(`tend: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

/**
 * What the dashboards colour by: the alert rules as the village sets them (config/rules.ts merged
 * with its `alerts.rules`), the reserve status's power-hour levels, and its minimum water use.
 * Without a config, the defaults: what the committed dashboards/json holds.
 */
export function dashboardSettings(config: Config | null): DashboardSettings {
  return {
    rules: ruleParams(config?.alerts.rules),
    power_hours: { ...POWER_HOURS_LEFT },
    minimum_water_lpd: config?.village.minimum_water_lpd ?? configSchema.shape.village.shape.minimum_water_lpd.parse(undefined),
  };
}

/** the version in tend's package.json (found from the sources or the bundle alike) */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function showHelp(out: Out): number {
  out.write(USAGE);
  return 0;
}

function usage(err: Out, message: string): number {
  err.write(`tend: ${message}\n\n${USAGE}`);
  return 2;
}

/** A port option: a whole number 0–65535 (0: any free port), or a usage error. */
function portOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`tend demo: ${name} needs a port number 0–65535 (0: any free port)`);
  return n;
}

async function runUntilSignal(
  config: Config,
  o: { out: Out; err: Out; portFallback: boolean; demo?: boolean; ports?: { web?: number; broker?: number }; showTokenQr?: boolean },
): Promise<number> {
  const started = Date.now();
  // the village's lines with time and level; stderr honours TEND_LOG_LEVEL (default info)
  const log: LogSink =
    o.err === process.stderr ? stderrSink() : (line, level) => o.err.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${line}\n`);
  const village: Village = await startVillage({ config, portFallback: o.portFallback, log, webPort: o.ports?.web, brokerPort: o.ports?.broker });
  let devices: { stop(): Promise<void> } | null = null;
  // the simulated boards (and mqtt.js with them) are loaded only for the demo
  if (o.demo) {
    const { startDemoDevices } = await import('../firmware-bridge/simulator/demo-village.ts');
    devices = await startDemoDevices({ config, brokerUrl: village.brokerUrl, clock: systemClock, log: (m) => log(m, 'warn') });
  }
  o.out.write(
    `tend: ${config.village.name} (${config.village.id}) is running${o.demo ? ' — demo village with simulated devices' : ''}\n` +
      `  page:   ${village.webUrl}\n` +
      `  mqtt:   ${village.brokerUrl}\n` +
      `  token:  ${village.tokenFile} (for notes and other writes)\n` +
      `  ready in ${Date.now() - started} ms; Ctrl-C stops\n`,
  );
  // open to the village network: the page's address there, and a QR code for phones
  o.out.write(
    await lanLines({
      host: config.web.host,
      port: village.webPort,
      tls: !!config.web.tls,
      broker: 'embedded' in config.broker ? { host: config.broker.embedded.host, port: village.brokerPort } : undefined,
      token: village.token,
      showTokenQr: o.showTokenQr,
      terminal: o.out === process.stdout && process.stdout.isTTY === true,
    }),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  o.out.write('tend: stopping…\n');
  await devices?.stop();
  await village.stop();
  o.out.write('tend: stopped cleanly\n');
  return 0;
}

// run directly (tsx services/cli.ts …, or the bundle dist/tend.mjs)
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && /(cli\.ts|tend\.mjs)$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
