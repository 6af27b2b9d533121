// tend's command line (DESIGN.md "CLI"). Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { startDemoDevices } from '../firmware-bridge/simulator/demo-village.ts';
import { systemClock } from '../core/types.ts';
import { DASHBOARD_JSON_DIR, DEMO_CONFIG } from '../core/paths.ts';
import { PortInUseError, startVillage, type Village } from './village.ts';

export { DEMO_CONFIG };

const USAGE = `tend — watches a village's shared reserves and opens assembly prompts

usage:
  tend run --config FILE          run a village from a config file
  tend demo [--storage DIR]       a simulated 180-person village on embedded defaults
  tend simulate storm [--speed N] [--json]
                                  replay the crisis scenario, accelerated
  tend simulate --config FILE --scenario FILE.jsonl [--speed N] [--json]
                                  replay a recorded or written scenario on a simulated clock
  tend config check FILE          validate a config; prints path: message lines, exit 2 on problems
  tend dashboards [--out DIR]     generate the Grafana dashboards (dashboards/json)
  tend history flush --config FILE
                                  drain the InfluxDB outbox by hand, with progress
`;

type Out = { write(s: string): unknown };

export async function main(argv: string[], out: Out = process.stdout, err: Out = process.stderr): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': {
        const file = flag(rest, '--config');
        if (!file) return usage(err, 'tend run needs --config FILE');
        return await runUntilSignal(loadConfig(file), { out, err, portFallback: false });
      }
      case 'demo': {
        const config = loadConfig(DEMO_CONFIG);
        const storage = flag(rest, '--storage');
        if (storage) config.storage.dir = storage;
        return await runUntilSignal(config, { out, err, portFallback: true, demo: true });
      }
      case 'config': {
        if (rest[0] !== 'check' || !rest[1]) return usage(err, 'tend config check FILE');
        const config = loadConfig(rest[1]);
        out.write(`${rest[1]}: ok — village ${config.village.id}, ${config.devices.length} devices, ${config.sensors.length} sensors\n`);
        return 0;
      }
      case 'simulate': {
        const { runSimulate } = await import('./simulate.ts');
        return await runSimulate(rest, out as NodeJS.WritableStream);
      }
      case 'dashboards': {
        const { generateDashboards } = await import('../dashboards/generate.ts');
        const dir = flag(rest, '--out') ?? DASHBOARD_JSON_DIR;
        const files = await generateDashboards(dir);
        out.write(`wrote ${files.length} dashboards to ${dir}\n`);
        return 0;
      }
      case 'history': {
        if (rest[0] !== 'flush') return usage(err, 'tend history flush --config FILE');
        const file = flag(rest, '--config');
        if (!file) return usage(err, 'tend history flush needs --config FILE');
        const { flushHistory } = await import('./history/flush-cli.ts');
        return await flushHistory(loadConfig(file), out, err);
      }
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

function usage(err: Out, message: string): number {
  err.write(`tend: ${message}\n\n${USAGE}`);
  return 2;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

async function runUntilSignal(config: Config, o: { out: Out; err: Out; portFallback: boolean; demo?: boolean }): Promise<number> {
  const started = Date.now();
  const log = (m: string) => o.err.write(`${new Date().toISOString()} ${m}\n`);
  const village: Village = await startVillage({ config, portFallback: o.portFallback, log });
  let devices: { stop(): Promise<void> } | null = null;
  if (o.demo) devices = await startDemoDevices({ config, brokerUrl: village.brokerUrl, clock: systemClock, log });
  o.out.write(
    `tend: ${config.village.name} (${config.village.id}) is running${o.demo ? ' — demo village with simulated devices' : ''}\n` +
    `  page:   ${village.webUrl}\n` +
    `  mqtt:   ${village.brokerUrl}\n` +
    `  token:  ${village.tokenFile} (for notes and other writes)\n` +
    `  ready in ${Date.now() - started} ms; Ctrl-C stops\n`,
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
