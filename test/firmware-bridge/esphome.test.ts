// The ESPHome examples: valid YAML, and the tend config in each header validates and names the
// topics the node actually publishes on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../../config/schema.ts';
import { ROOT } from './helpers/firmware.ts';

const dir = join(ROOT, 'firmware-bridge/esphome');
const secret = { tag: '!secret', resolve: (s: string) => `secret:${s}` };

// biome-ignore lint/suspicious/noExplicitAny: the parsed ESPHome YAML, whatever its shape: the tests walk it and assert on what they find
function load(file: string): { node: any; tendConfig: Record<string, unknown>; text: string } {
  const text = readFileSync(join(dir, file), 'utf8');
  const node = parse(text, { customTags: [secret] });
  // the commented block after "tend config for this node" is YAML too
  const lines = text.split('\n');
  const startAt = lines.findIndex((l) => /tend config for this node/.test(l));
  const block: string[] = [];
  for (let i = startAt + 1; i < lines.length && lines[i]!.startsWith('#'); i++) {
    const l = lines[i]!.replace(/^# ?/, '');
    if (/^\s*devices:|^\s*sensors:/.test(l) || block.length) {
      if (!l.startsWith('  ') && block.length && !/^(devices|sensors):/.test(l.trim())) break;
      block.push(l.replace(/^ {2}/, ''));
    }
  }
  const tendConfig = parse(block.join('\n'));
  return { node, tendConfig, text };
}

const subst = (s: string, vars: Record<string, string>) => s.replace(/\$\{(\w+)\}/g, (_m, k: string) => vars[k] ?? `<${k}>`);

describe('ESPHome examples', () => {
  it('tank-tend-mqtt.yaml publishes readings and status under the device prefix the config allows', () => {
    const { node, tendConfig } = load('tank-tend-mqtt.yaml');
    const vars = node.substitutions as Record<string, string>;
    const cfg = configSchema.parse({ version: 1, village: { id: vars.village, name: 'A', population: 180 }, ...tendConfig });
    const dev = cfg.devices.find((d) => d.id === vars.device)!;
    expect(dev.transport).toBe('mqtt');
    const prefix = `tend/${vars.village}/dev/${vars.device}/`;
    expect(subst(node.mqtt.birth_message.topic, vars)).toBe(`${prefix}status`);
    expect(subst(node.mqtt.will_message.topic, vars)).toBe(`${prefix}status`);
    expect(node.mqtt.will_message.payload).toBe('offline');
    expect(subst(node.mqtt.topic_prefix, vars).startsWith(prefix)).toBe(true);
    expect(subst(node.mqtt.username, vars)).toBe(vars.device);
    const sensor = node.sensor[0];
    const publishes = JSON.stringify(sensor.on_value);
    expect(subst(publishes, vars)).toContain(`${prefix}reading`);
    expect(publishes).toContain('root[\\"distance_mm\\"]');
    expect(publishes).toContain('root[\\"seq\\"]');
    expect(cfg.sensors[0]).toMatchObject({ device: vars.device, metric: 'distance_mm', kind: 'tank_distance' });
  });

  it('tank-esphome-default.yaml is read through source.topic on the topic ESPHome uses by default', () => {
    const { node, tendConfig } = load('tank-esphome-default.yaml');
    const vars = node.substitutions as Record<string, string>;
    const cfg = configSchema.parse({ version: 1, village: { id: 'ashgrove', name: 'A', population: 180 }, ...tendConfig });
    const sensor = node.sensor[0];
    // ESPHome: <name>/sensor/<object id>/state, object id = name lower-cased, spaces to _
    const objectId = String(sensor.name)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_');
    const topic = `${subst(node.esphome.name, vars)}/sensor/${objectId}/state`;
    expect(cfg.sensors[0]!.source?.topic).toBe(topic);
    expect(node.mqtt.topic_prefix).toBeUndefined(); // default prefix: the node name
    // online/offline on tend's status topic, the only other place the broker lets it publish
    expect(subst(node.mqtt.will_message.topic, vars)).toBe(`tend/${vars.village}/dev/${vars.device}/status`);
    expect(node.mqtt.log_topic).toBeNull();
    expect(sensor.filters.some((f: { multiply?: number }) => f.multiply === 1000)).toBe(true); // metres → mm
  });
});
