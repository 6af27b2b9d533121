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
