// The command line's argument parsing (node:util parseArgs): help exits 0 without starting
// anything, a usage problem exits 2 with one clear line and the usage.
import { describe, expect, it } from 'vitest';
import { DEMO_CONFIG, main } from '../../services/cli.ts';

async function tend(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

describe('tend command line', () => {
  it('prints the usage for --help, -h and help, and exits 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await tend(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toContain('usage:');
      expect(r.err).toBe('');
    }
  });

  it('prints the usage and exits 2 without a command', async () => {
    const r = await tend();
    expect(r.code).toBe(2);
    expect(r.out).toContain('usage:');
  });

  it('answers --help on every command without running it', async () => {
    // `demo` would start a village and wait for Ctrl-C: returning at all shows it did not
    for (const cmd of ['demo', 'run', 'config', 'dashboards', 'history', 'simulate']) {
      for (const help of ['--help', '-h']) {
        const r = await tend(cmd, help);
        expect(r, `${cmd} ${help}`).toMatchObject({ code: 0, err: '' });
        expect(r.out).toContain('tend demo');
      }
    }
  });

  it('refuses unknown options and stray arguments with exit 2 and a clear line', async () => {
    const port = await tend('demo', '--web-port', '9');
    expect(port.code).toBe(2);
    expect(port.err.split('\n')[0]).toBe('tend demo: unknown option --web-port');
    expect(port.err).toContain('usage:');
    expect((await tend('run', '--bogus')).err.split('\n')[0]).toBe('tend run: unknown option --bogus');
    expect((await tend('run', '--config')).err.split('\n')[0]).toBe('tend run: --config needs a value');
    expect((await tend('demo', 'extra')).err.split('\n')[0]).toBe('tend demo: unexpected argument "extra"');
    expect((await tend('config', 'check', DEMO_CONFIG, 'more')).err.split('\n')[0]).toBe('tend config: unexpected argument "more"');
    expect((await tend('dashboards', '--nope=1')).code).toBe(2);
    expect((await tend('frobnicate')).err.split('\n')[0]).toBe('tend: unknown command "frobnicate"');
  });

  it('keeps the missing-argument messages of each command', async () => {
    expect(await tend('run')).toMatchObject({ code: 2, err: expect.stringContaining('tend run needs --config FILE') });
    expect(await tend('config', 'check')).toMatchObject({ code: 2, err: expect.stringContaining('tend config check FILE') });
    expect(await tend('history')).toMatchObject({ code: 2, err: expect.stringContaining('tend history flush --config FILE') });
    expect(await tend('history', 'flush')).toMatchObject({ code: 2, err: expect.stringContaining('tend history flush needs --config FILE') });
  });

  it('takes --flag value and --flag=value alike', async () => {
    const a = await tend('config', 'check', DEMO_CONFIG);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/: ok — village ashgrove/);
    expect((await tend('run', '--config=/nonexistent/tend.yaml')).code).toBe(2);
    expect((await tend('run', '--config', '/nonexistent/tend.yaml')).code).toBe(2);
  });
});
