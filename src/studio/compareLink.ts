/**
 * A comparison in the URL: the configurations and seeds of the compared runs, without
 * their results, in the `compare` query parameter, so that a link reopens the same
 * comparison. The value is versioned: "v1." followed by base64url text of the raw
 * DEFLATE (RFC 1951, compressed with fflate) of this JSON:
 *
 *   { "runs": [ { "name": "d_state = 1", "query": "preset=e2e-tiny&task=…&d_state=1&…" }, … ] }
 *
 * Each run's query is the single-run link's query string (encodeRunQuery), so a run
 * carries the same keys as a single-run link and is checked by the same rules when
 * decoded: decodeRunQuery rejects a bad value field by field and uses the preset's
 * value in its place. Decoding never throws. A link that cannot be read gives no runs
 * and a message, so the app still opens.
 *
 * A run added from a grid preset also has an optional "grid" key with the grid's
 * name, such as "paper-table1-small". Its query's preset is the grid's name. Decoding
 * takes the run's config and the paper's results from the grid's own row, so a link
 * cannot change the published numbers. Links without "grid" read as before, and
 * versions of the app that do not know the key ignore it.
 */
import { deflateSync, inflateSync, strFromU8, strToU8 } from 'fflate';
import { countParameters } from '../model/models';
import type { RunConfig } from '../protocol';
import { decodeRunQuery, encodeRunQuery, type LinkErrors } from '../store/url';
import { runLabels } from './differences';
import { findGridRow, findStudioGrid } from './grids';
import type { GridRun } from './paperPresets';
import type { StudioRun } from './types';

/** Name of the query parameter that contains a comparison. */
export const COMPARE_PARAM = 'compare';

/** Prefix of the current encoding; a later format gets a new prefix, so old links stay readable. */
export const COMPARE_VERSION_PREFIX = 'v1.';

/** Maximum number of runs a link opens; the rest are left out with a message. */
export const MAX_COMPARE_RUNS = 24;

/** Maximum length of the encoded value, in characters; 24 runs take about 2,000. */
export const MAX_COMPARE_TEXT = 32_000;

/** Maximum size of the decompressed JSON in bytes, so that a crafted link cannot fill memory. */
const MAX_JSON_BYTES = 512 * 1024;

/** Maximum length of a run name kept from a link, in characters. */
export const MAX_RUN_NAME = 200;

/** A run to put into a link: its config and, optionally, its display name and grid preset. */
export interface CompareLinkRun {
  config: RunConfig;
  name?: string;
  /** Name of the grid preset the run was added from; null or absent for other runs. */
  grid?: string | null;
}

interface LinkPayload {
  runs: { name?: string; query: string; grid?: string }[];
}

/** One run read back from a link. */
export interface LinkedRun {
  /** The name the link gave the run; null when it had none or an invalid one. */
  name: string | null;
  config: RunConfig;
  /** Values the link held that were rejected; config has the preset's value for each. */
  errors: LinkErrors;
  /** Name of the run's grid preset, when the link names a known grid and the run is one of its rows; null otherwise. */
  grid: string | null;
  /** The grid's row that the run is, with the paper's results; null when grid is null. */
  gridRow: GridRun | null;
}

export interface DecodedCompareLink {
  runs: LinkedRun[];
  /** One sentence per problem, naming the run, the field and the value; empty for a clean link. */
  messages: string[];
}

/** Encodes runs as the value of the `compare` parameter. */
export function encodeCompareLink(runs: CompareLinkRun[]): string {
  const payload: LinkPayload = {
    runs: runs.map((run) => ({
      ...(run.name ? { name: run.name } : {}),
      query: encodeRunQuery(run.config),
      ...(run.grid ? { grid: run.grid } : {}),
    })),
  };
  const compressed = deflateSync(strToU8(JSON.stringify(payload)), { level: 9 });
  return COMPARE_VERSION_PREFIX + toBase64Url(compressed);
}

/**
 * Builds a link that opens the comparison in the Compare view: `base` without its
 * query string and hash, then `?compare=…#compare`.
 */
export function compareLinkUrl(base: string, runs: CompareLinkRun[]): string {
  const url = new URL(base);
  url.search = `?${COMPARE_PARAM}=${encodeCompareLink(runs)}`;
  url.hash = 'compare';
  return url.toString();
}

/** Reads the `compare` parameter of a query string such as location.search; null when it has none. */
export function readCompareParam(search: string): DecodedCompareLink | null {
  const value = new URLSearchParams(search).get(COMPARE_PARAM);
  return value === null ? null : decodeCompareLink(value);
}

/** Decodes the value of the `compare` parameter, returning problems as messages rather than throwing (see the file's header). */
export function decodeCompareLink(value: string): DecodedCompareLink {
  const payload = readPayload(value.trim());
  if ('error' in payload) return { runs: [], messages: [`The comparison link could not be read: ${payload.error}`] };

  const messages: string[] = [];
  const entries = payload.runs;
  if (entries.length > MAX_COMPARE_RUNS) {
    messages.push(`The comparison link holds ${entries.length} runs; only the first ${MAX_COMPARE_RUNS} were opened.`);
  }
  const runs: LinkedRun[] = [];
  entries.slice(0, MAX_COMPARE_RUNS).forEach((entry, index) => {
    const run = readRun(entry, index, messages);
    if (run) runs.push(run);
  });
  return { runs, messages };
}

/** Decodes the parameter's value down to a list of run entries, or returns why it cannot be read. */
function readPayload(value: string): { runs: unknown[] } | { error: string } {
  const again = 'copy the whole link again, or open the app without it.';
  if (value === '') return { error: `the compare parameter is empty: ${again}` };
  if (value.length > MAX_COMPARE_TEXT) {
    return { error: `the compare parameter has ${value.length} characters, more than the ${MAX_COMPARE_TEXT} a link may have: ${again}` };
  }
  if (!value.startsWith(COMPARE_VERSION_PREFIX)) {
    const prefix = /^[^.]{0,12}\./.exec(value)?.[0];
    const found = prefix ? `starts with "${prefix}", a version this app does not know` : 'has no version prefix';
    return { error: `the compare parameter ${found}; links from this app start with "${COMPARE_VERSION_PREFIX}": ${again}` };
  }

  const bytes = fromBase64Url(value.slice(COMPARE_VERSION_PREFIX.length));
  if (!bytes) return { error: `the compare parameter is not base64url text (letters, digits, "-" and "_"): ${again}` };

  let json: string;
  try {
    const out = inflateSync(bytes, { out: new Uint8Array(MAX_JSON_BYTES + 1) });
    if (out.length > MAX_JSON_BYTES) return { error: `its data unpacks to more than ${MAX_JSON_BYTES} bytes: ${again}` };
    json = strFromU8(out);
  } catch (error) {
    // fflate throws on truncated or corrupt DEFLATE data, such as "unexpected EOF".
    return { error: `its data is truncated or corrupt (${error instanceof Error ? error.message : String(error)}): ${again}` };
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { error: `its data is not JSON: ${again}` };
  }
  const runs = typeof parsed === 'object' && parsed !== null ? (parsed as { runs?: unknown }).runs : undefined;
  if (!Array.isArray(runs)) return { error: `its data has no list of runs: ${again}` };
  return { runs };
}

/**
 * Reads one run entry. A rejected value falls back to the preset's value with a
 * message. The run is dropped when the entry has no query string, or when its task or
 * architecture was rejected, because every other field depends on those two.
 */
function readRun(entry: unknown, index: number, messages: string[]): LinkedRun | null {
  const position = `Run ${index + 1}`;
  if (typeof entry !== 'object' || entry === null || typeof (entry as { query?: unknown }).query !== 'string') {
    messages.push(`${position} was dropped: it has no query string of its settings.`);
    return null;
  }
  const { query, name: rawName, grid: rawGrid } = entry as { query: string; name?: unknown; grid?: unknown };

  let name: string | null = null;
  if (typeof rawName === 'string' && rawName.trim() !== '' && rawName.length <= MAX_RUN_NAME) name = rawName.trim();
  else if (rawName !== undefined) messages.push(`${position}: its name was ignored, because it is not text of 1 to ${MAX_RUN_NAME} characters.`);
  const who = name ? `${position} ("${name}")` : position;

  if ([...new URLSearchParams(query).keys()].length === 0) {
    messages.push(`${who} was dropped: its query string of settings is empty.`);
    return null;
  }
  const gridRun = readGridRun(rawGrid, query, who, messages);
  if (gridRun) return { name, ...gridRun };

  const { run, errors } = decodeRunQuery(query);
  const fatal = (['task', 'architecture'] as const).filter((key) => errors[key] !== undefined);
  if (fatal.length > 0) {
    messages.push(`${who} was dropped: ${fatal.map((key) => errors[key]).join('; ')}.`);
    return null;
  }
  for (const [key, message] of Object.entries(errors)) {
    if (message !== undefined) messages.push(`${who}: ${message}${fallbackNote(key, message)}`);
  }
  return { name, config: run, errors, grid: null, gridRow: null };
}

/**
 * Reads a run that the link marks as a row of a grid preset. Returns the row's own
 * config with the link's engine, or null when the entry names no grid, or a grid or
 * row this app does not have. Then the run is read as a plain run, with a message.
 */
function readGridRun(rawGrid: unknown, query: string, who: string, messages: string[]): Omit<LinkedRun, 'name'> | null {
  if (rawGrid === undefined) return null;
  if (typeof rawGrid !== 'string') {
    messages.push(`${who}: its grid was ignored, because it is not text, so the paper's results are not shown.`);
    return null;
  }
  const grid = findStudioGrid(rawGrid);
  if (!grid) {
    const shown = rawGrid.length > 60 ? `${rawGrid.slice(0, 59)}…` : rawGrid;
    messages.push(`${who}: its grid ${JSON.stringify(shown)} is not known, so the paper's results are not shown.`);
    return null;
  }

  // A grid run's preset is the grid's name, which decodeRunQuery does not know, so the query is read without it.
  const params = new URLSearchParams(query);
  if (params.get('preset') === grid.name) params.delete('preset');
  const { run, errors } = decodeRunQuery(params.toString());
  const row = Object.keys(errors).length === 0 ? findGridRow(grid, { ...run, preset: grid.name }) : undefined;
  if (!row) {
    messages.push(`${who}: its settings differ from every run of the grid "${grid.label}", so the paper's results are not shown.`);
    return null;
  }
  const config: RunConfig = { ...structuredClone(row.config), engine: run.engine };
  return { config, errors: {}, grid: grid.name, gridRow: row };
}

/** Ends a rejected value's message with what the run uses in its place. */
function fallbackNote(key: string, message: string): string {
  if (key === 'preset') return '; the run starts from the default preset instead.';
  // decodeRunQuery's messages on fields that do not apply already end with "so it was ignored".
  if (message.endsWith('ignored')) return '.';
  return "; the run uses its preset's value instead.";
}

/**
 * Turns a `compare` parameter into studio runs for the run list: each run is queued
 * with a fresh id and no results, named as the link names it, or else by what differs
 * between the runs. Returns null when the query string has no `compare` parameter.
 */
export function studioRunsFromLink(
  search: string,
  options: { now?: number; createId?: () => string } = {},
): { runs: StudioRun[]; messages: string[] } | null {
  const decoded = readCompareParam(search);
  if (!decoded) return null;
  const now = options.now ?? Date.now();
  const createId = options.createId ?? randomId;
  const labels = runLabels(decoded.runs.map((run, i) => ({ config: run.config, name: run.name ?? `Run ${i + 1}` })));
  const runs = decoded.runs.map(
    (linked, i): StudioRun => ({
      id: createId(),
      name: linked.name ?? labels[i],
      config: linked.config,
      status: 'queued',
      message: null,
      step: 0,
      metrics: [],
      probe: null,
      parameterCount: countParameters(linked.config.model),
      engine: null,
      createdAt: now,
      elapsedMs: 0,
      paperAccuracy: linked.gridRow?.paperAccuracy ?? null,
      paperRow: linked.gridRow?.paperRow ?? null,
      grid: linked.grid,
      paperCurve: linked.gridRow?.paperCurve?.map((point) => ({ ...point })) ?? null,
      extrapolation: null,
      checkpointStep: null,
      onHold: false,
    }),
  );
  return { runs, messages: decoded.messages };
}

/**
 * Returns a random version 4 UUID. crypto.randomUUID exists only in secure contexts
 * (https and localhost), so a page served over plain http builds one from
 * crypto.getRandomValues, which every context has.
 */
export function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Returns the bytes of base64url text without padding, or null for other text. */
function fromBase64Url(text: string): Uint8Array | null {
  // A length of 1 mod 4 cannot come from whole bytes.
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
