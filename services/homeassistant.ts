// Home Assistant MQTT discovery: with `homeassistant.discovery: true` tend publishes one retained
// config per village figure under `homeassistant/<component>/tend_<village>_<figure>/config`, so
// Home Assistant (logged in as a reader) shows the village's reserves without any YAML of its own.
// Every entity reads the village's retained `reserve` topic through a value template, so there is
// one source of truth and nothing extra to publish; `availability` is tend's own status topic.
// Only figures the village has are announced (no battery sensor: no battery entity). A figure
// tend does not know is null in the reserve JSON, which Home Assistant shows as unknown.
import type { Config } from '../config/schema.ts';
import { type Say, sayIn } from '../core/i18n.ts';
import { moduleLog, type LogSink } from '../core/log.ts';
import { topics } from '../firmware-bridge/protocol/topics.ts';

/** Home Assistant's default discovery prefix (its MQTT integration's `discovery_prefix`) */
export const DISCOVERY_PREFIX = 'homeassistant';

export interface DiscoveryConfig {
  /** `homeassistant/<component>/<object id>/config` */
  topic: string;
  /** the config as Home Assistant reads it (full key names, no abbreviations) */
  payload: Record<string, unknown>;
}

/** Publishing one retained message (the village broker's publish). */
export type PublishRetained = (topic: string, payload: string, opts: { retain: boolean; qos: 0 | 1 }) => void;

interface Figure {
  id: string;
  component: 'sensor' | 'binary_sensor';
  name: string;
  value_template: string;
  unit_of_measurement?: string;
  device_class?: string;
  state_class?: string;
  icon?: string;
  /** what tells whether the figure is current: shown as the entity's attributes */
  json_attributes_template?: string;
}

/** a quoted Jinja string literal (ids are [a-z0-9_-], so nothing needs escaping) */
const lit = (s: string) => `'${s}'`;

/**
 * The village's figures as Home Assistant entities. Paths are those of the reserve status
 * (docs/architecture.md, "The reserve status"): the same numbers the page and /api/status show.
 */
export function figures(config: Config, say: Say): Figure[] {
  const kinds = new Set(config.sensors.map((s) => s.kind));
  const hasTank = config.sensors.some((s) => s.kind.startsWith('tank_'));
  const out: Figure[] = [];
  const waterStale = "{{ {'status': value_json.water.status, 'stale_tanks': value_json.water.stale_tanks} | tojson }}";
  const powerStale = "{{ {'status': value_json.power.status, 'stale': value_json.power.stale} | tojson }}";
  if (hasTank) {
    out.push({
      id: 'water_liters',
      component: 'sensor',
      name: say('homeassistant.water_liters', 'Water stored'),
      value_template: '{{ value_json.water.liters }}',
      unit_of_measurement: 'L',
      // stored volume, not a meter reading: Home Assistant's class for a tank's contents
      device_class: 'volume_storage',
      state_class: 'measurement',
      icon: 'mdi:water',
      json_attributes_template: waterStale,
    });
    out.push({
      id: 'water_days_left',
      component: 'sensor',
      name: say('homeassistant.water_days_left', 'Days of water left'),
      value_template: '{{ value_json.water.days_left_current }}',
      unit_of_measurement: 'd',
      device_class: 'duration',
      state_class: 'measurement',
      json_attributes_template: waterStale,
    });
  }
  if (kinds.has('battery_soc')) {
    out.push({
      id: 'battery_percent',
      component: 'sensor',
      name: say('homeassistant.battery_percent', 'Battery charge'),
      value_template: '{{ value_json.power.soc_percent }}',
      unit_of_measurement: '%',
      device_class: 'battery',
      state_class: 'measurement',
      json_attributes_template: powerStale,
    });
    out.push({
      id: 'power_hours_left',
      component: 'sensor',
      name: say('homeassistant.power_hours_left', 'Hours of power left'),
      value_template: '{{ value_json.power.hours_left }}',
      unit_of_measurement: 'h',
      device_class: 'duration',
      state_class: 'measurement',
      json_attributes_template: powerStale,
    });
  }
  for (const s of config.sensors) {
    if (s.kind !== 'cold_temp') continue;
    // picked by id, not by position, so a unit added to the config does not shift the others
    const unit = `(value_json.cold.units | selectattr('id', 'eq', ${lit(s.id)}) | first)`;
    out.push({
      id: `cold_${s.id}_temp`,
      component: 'sensor',
      name: say('homeassistant.cold_temp', '{unit} temperature', { unit: s.name ?? s.id }),
      value_template: `{{ ${unit}.temp_c }}`,
      unit_of_measurement: '°C',
      device_class: 'temperature',
      state_class: 'measurement',
      json_attributes_template: `{{ ${unit} | tojson }}`,
    });
  }
  // an incident is open while one of its alerts is active (the same count as history's incidents_open)
  out.push({
    id: 'incident_open',
    component: 'binary_sensor',
    name: say('homeassistant.incident_open', 'Incident open'),
    value_template: "{{ 'ON' if value_json.alerts | selectattr('incident_id') | selectattr('state', 'ne', 'resolved') | list | count > 0 else 'OFF' }}",
    device_class: 'problem',
  });
  return out;
}

/** The discovery configs of the village, pure: what startHomeAssistant publishes. */
export function discoveryConfigs(config: Config, say: Say = sayIn(config.village.language)): DiscoveryConfig[] {
  const v = config.village.id;
  const device = {
    identifiers: [`tend_${v}`],
    name: config.village.name,
    manufacturer: 'tend',
    model: say('homeassistant.model', 'Village reserves'),
  };
  return figures(config, say).map((f) => {
    const objectId = `tend_${v}_${f.id}`;
    const { id: _id, component, json_attributes_template, ...shown } = f;
    return {
      topic: `${DISCOVERY_PREFIX}/${component}/${objectId}/config`,
      payload: {
        ...shown,
        unique_id: objectId,
        // the entity id Home Assistant gives it first (`object_id` before Home Assistant 2025.10)
        default_entity_id: `${component}.${objectId}`,
        state_topic: topics.reserve(v),
        ...(json_attributes_template ? { json_attributes_topic: topics.reserve(v), json_attributes_template } : {}),
        availability: [{ topic: topics.tendStatus(v), payload_available: 'online', payload_not_available: 'offline' }],
        device,
        origin: { name: 'tend' },
      },
    };
  });
}

export interface HomeAssistantOptions {
  config: Config;
  publish: PublishRetained;
  log?: LogSink;
}

/**
 * Publish the discovery configs, retained, once: the broker keeps them for Home Assistant
 * whenever it (re)connects. Does nothing unless `homeassistant.discovery` is true.
 */
export function startHomeAssistant(o: HomeAssistantOptions): DiscoveryConfig[] {
  if (!o.config.homeassistant.discovery) return [];
  const configs = discoveryConfigs(o.config);
  for (const c of configs) o.publish(c.topic, JSON.stringify(c.payload), { retain: true, qos: 1 });
  moduleLog(o.log, 'homeassistant').info(`published ${configs.length} Home Assistant discovery configs under ${DISCOVERY_PREFIX}/`);
  return configs;
}
