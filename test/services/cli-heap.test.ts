// bin/tend.js sizes V8's heap for a gateway before the bundle loads: the young generation stays at
// its first size, unless TEND_V8_HEAP=default. Seen from inside a real `tend demo` process, through
// a preloaded probe that reports the young generation's size once the village runs.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../core/paths.ts';
import { tempDir, waitFor } from '../helpers/net.ts';

const PROBE = `
import v8 from 'node:v8';
setInterval(() => {
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  process.stderr.write('young-generation-bytes ' + young.space_size + '\\n');
}, 200).unref();
`;

async function youngGenerationOfDemo(env: Record<string, string>): Promise<number> {
  const tmp = tempDir('tend-heap-');
  const probe = join(tmp.dir, 'probe.mjs');
  writeFileSync(probe, PROBE);
  const child = spawn(
    process.execPath,
    ['--import', probe, join(ROOT, 'bin', 'tend.js'), 'demo', '--storage', join(tmp.dir, 's'), '--port', '0', '--mqtt-port', '0'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  try {
    await waitFor(() => out.includes('is running'), 30_000, `tend demo to run (got: ${out.slice(-1000)})`);
    const at = out.length;
    // the first report after the village runs: start-up and the demo's first readings are behind it
    const size = await waitFor(() => out.slice(at).match(/young-generation-bytes (\d+)/)?.[1], 10_000, 'a probe report');
    return Number(size);
  } finally {
    child.kill('SIGKILL');
    tmp.remove();
  }
}

describe('bin/tend.js and the heap', () => {
  it('keeps the young generation at its first size, and leaves V8 its own sizing with TEND_V8_HEAP=default', async () => {
    const small = await youngGenerationOfDemo({ TEND_V8_HEAP: '' });
    const own = await youngGenerationOfDemo({ TEND_V8_HEAP: 'default' });
    expect(small).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(own).toBeGreaterThan(small);
  });
});
