// Every limit on what comes in from outside, defined once. Each layer that checks an input reads
// its limit here, so the web server, the assembly and the wire decoders cannot disagree.

/** a device's reading payload (MQTT) or sentence; aedes itself has no limit */
export const MAX_PAYLOAD_BYTES = 4096;

/** device clocks further off than this are replaced by receive time and flagged */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

/** a note people add to an assembly prompt */
export const NOTE_LIMITS = { author: 60, text: 1000 } as const;

/**
 * Notes a prompt carries to the page, SSE, the retained topic and webhooks: the latest ones, with
 * the count of all. Every note is kept in SQLite; a busy assembly must not make every status
 * message megabytes long.
 */
export const NOTES_SHOWN = 20;

/** A request target (path and query) on the web server; a longer one is a 400, never decoded. */
export const MAX_URL_LENGTH = 2048;

/**
 * Live page streams (SSE, GET /api/stream) held open at once, in all and from one address: each
 * costs a socket and a write per event. Defaults of `web.sse_max_clients` and
 * `web.sse_max_per_address`; past them a new stream is a 503 with Retry-After.
 */
export const SSE_LIMITS = { clients: 200, perAddress: 10, retryAfterS: 30 } as const;

/** A config file: a village's is a few KB; past this it is refused unread (a wrong file, or a bomb). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** YAML aliases a config may expand (the yaml package's guard against "billion laughs"). */
export const MAX_CONFIG_ALIASES = 100;

/**
 * Messages the embedded broker keeps for persistent sessions (clean: false) whose client is away:
 * per session, and in all (count and payload bytes, each queued copy counted). Past a bound the
 * oldest is dropped and counted. Mosquitto's `max_queued_messages` defaults to 1000 too.
 */
export const BROKER_QUEUE_LIMITS = { perSession: 1000, total: 100_000, totalBytes: 64 * 1024 * 1024 } as const;

/**
 * Login backoff on the embedded broker: after `freeFailures` failed logins for one username (or
 * `freeFailuresPerAddress` from one address) each further try must wait `firstDelayMs`, doubling
 * per failure up to `maxDelayMs`; a good login forgives both. `maxKeys` bounds each table (the
 * least recently failed are forgotten first), since usernames come from the wire.
 */
export const LOGIN_BACKOFF = { freeFailures: 5, freeFailuresPerAddress: 20, firstDelayMs: 1000, maxDelayMs: 60_000, maxKeys: 10_000 } as const;
