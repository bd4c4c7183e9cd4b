import fc from 'fast-check';
import { deflateSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { countParameters } from '../model/models';
import { findPreset, PRESETS } from '../presets';
import type { RunConfig } from '../protocol';
import { choicesForRun, choiceSpec, withArchitecture } from '../store/choices';
import { fieldsForRun, fieldSpec, validateRunFields } from '../store/fields';
import { copyRun, encodeRunQuery, ENGINE_PREFERENCES, withTaskKind } from '../store/url';
import {
  compareLinkUrl, COMPARE_PARAM, decodeCompareLink, encodeCompareLink, MAX_COMPARE_RUNS, randomId, readCompareParam, studioRunsFromLink,
} from './compareLink';
import { gridStudioRuns } from './grids';
import { INDUCTION_EXTRAPOLATION_SMALL, PAPER_TABLE1_SMALL } from './paperPresets';

const tiny = (): RunConfig => copyRun(findPreset('e2e-tiny')!.run);
const withDState = (value: number) => fieldSpec('d_state').write(tiny(), value);

/** Encodes any JSON value the way encodeCompareLink encodes its payload, for links a person edited. */
function rawLink(payload: unknown): string {
  const bytes = deflateSync(strToU8(typeof payload === 'string' ? payload : JSON.stringify(payload)));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `v1.${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

describe('encodeCompareLink and decodeCompareLink', () => {
  it('round-trips runs and their names', () => {
    const runs = [
      { config: withDState(1), name: 'd_state = 1' },
      { config: withDState(16) },
      { config: withArchitecture(tiny(), 'transformer'), name: 'attention' },
    ];
    const decoded = decodeCompareLink(encodeCompareLink(runs));
    expect(decoded.messages).toEqual([]);
    expect(decoded.runs.map((run) => run.config)).toEqual(runs.map((run) => run.config));
    expect(decoded.runs.map((run) => run.name)).toEqual(['d_state = 1', null, 'attention']);
    expect(decoded.runs.every((run) => Object.keys(run.errors).length === 0)).toBe(true);
  });

  it('writes URL-safe text with a version prefix', () => {
    const value = encodeCompareLink(PRESETS.map((preset) => ({ config: preset.run, name: preset.label })));
    expect(value).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    // Five full runs fit well inside a link.
    expect(value.length).toBeLessThan(1200);
  });

  it('opens an empty comparison', () => {
    expect(decodeCompareLink(encodeCompareLink([]))).toEqual({ runs: [], messages: [] });
  });

  it('round-trips random valid runs', () => {
    fc.assert(
      fc.property(fc.array(validRun(), { minLength: 1, maxLength: 4 }), fc.array(fc.string({ maxLength: 30 })), (runs, names) => {
        const input = runs.map((config, i) => ({ config, name: names[i]?.trim() || undefined }));
        const decoded = decodeCompareLink(encodeCompareLink(input));
        expect(decoded.messages).toEqual([]);
        expect(decoded.runs.map((run) => run.config)).toEqual(runs);
        expect(decoded.runs.map((run) => run.name)).toEqual(input.map((run) => run.name ?? null));
      }),
      { numRuns: 150 },
    );
  });
});

describe('decodeCompareLink on tampered links', () => {
  const twoRuns = (second: string) => rawLink({ runs: [{ name: 'base', query: encodeRunQuery(tiny()) }, { name: 'edited', query: second }] });

  it("rejects a bad field value and uses the preset's value", () => {
    const query = encodeRunQuery(withDState(1)).replace('d_state=1', 'd_state=abc');
    const decoded = decodeCompareLink(twoRuns(query));
    expect(decoded.runs).toHaveLength(2);
    expect(decoded.runs[1].config.model).toEqual(tiny().model);
    expect(decoded.runs[1].errors.d_state).toContain('d_state = "abc" is not a number');
    expect(decoded.messages).toEqual([
      'Run 2 ("edited"): d_state = "abc" is not a number: use an integer from 1 to 64, such as 16; the run uses its preset\'s value instead.',
    ]);
  });

  it('rejects a value out of range by its rule', () => {
    const query = encodeRunQuery(tiny()).replace('n_layer=1', 'n_layer=99');
    const decoded = decodeCompareLink(twoRuns(query));
    expect(decoded.runs[1].config.model.n_layer).toBe(1);
    expect(decoded.messages).toHaveLength(1);
    expect(decoded.messages[0]).toMatch(/^Run 2 \("edited"\): n_layer = 99 is out of range/);
  });

  it('rejects a bad choice and keeps the rest', () => {
    const query = encodeRunQuery(choiceSpec('selective_delta').write(withDState(2), false)).replace('selective_delta=false', 'selective_delta=maybe');
    const decoded = decodeCompareLink(twoRuns(query));
    expect(decoded.runs[1].config.model).toMatchObject({ d_state: 2 });
    expect((decoded.runs[1].config.model as { selective_delta?: boolean }).selective_delta).toBeUndefined();
    expect(decoded.messages[0]).toBe(
      'Run 2 ("edited"): selective_delta = "maybe" is not known: use true, false; the run uses its preset\'s value instead.',
    );
  });

  it('starts an unknown preset from the default preset', () => {
    const query = encodeRunQuery(tiny()).replace('preset=e2e-tiny', 'preset=huge');
    const decoded = decodeCompareLink(twoRuns(query));
    expect(decoded.runs).toHaveLength(2);
    // Every field is in the link, so the run keeps the tiny sizes.
    expect(decoded.runs[1].config.model).toEqual(tiny().model);
    expect(decoded.messages[0]).toMatch(/^Run 2 \("edited"\): preset = "huge" is not known: .*; the run starts from the default preset instead\.$/);
  });

  it('drops a run whose architecture or task is unknown', () => {
    const badArchitecture = encodeRunQuery(tiny()).replace('architecture=mamba', 'architecture=rnn');
    const badTask = encodeRunQuery(tiny()).replace('task=selective-copying', 'task=sorting');
    const decoded = decodeCompareLink(rawLink({ runs: [{ query: badArchitecture }, { query: encodeRunQuery(tiny()) }, { query: badTask }] }));
    expect(decoded.runs.map((run) => run.config)).toEqual([tiny()]);
    expect(decoded.messages).toEqual([
      'Run 1 was dropped: architecture = "rnn" is not known: use mamba, transformer.',
      'Run 3 was dropped: task = "sorting" is not known: use selective-copying or induction-heads.',
    ]);
  });

  it('drops entries that are not runs', () => {
    const decoded = decodeCompareLink(rawLink({ runs: [42, null, { name: 'no query' }, { query: 7 }, { query: '' }, { query: 'preset=e2e-tiny' }] }));
    expect(decoded.runs.map((run) => run.config)).toEqual([tiny()]);
    expect(decoded.messages).toEqual([
      'Run 1 was dropped: it has no query string of its settings.',
      'Run 2 was dropped: it has no query string of its settings.',
      'Run 3 was dropped: it has no query string of its settings.',
      'Run 4 was dropped: it has no query string of its settings.',
      'Run 5 was dropped: its query string of settings is empty.',
    ]);
  });

  it('ignores a name that is not text', () => {
    const decoded = decodeCompareLink(rawLink({ runs: [{ name: { html: '<b>' }, query: encodeRunQuery(tiny()) }, { name: 'x'.repeat(201), query: 'preset=e2e-tiny' }] }));
    expect(decoded.runs.map((run) => run.name)).toEqual([null, null]);
    expect(decoded.messages).toEqual([
      'Run 1: its name was ignored, because it is not text of 1 to 200 characters.',
      'Run 2: its name was ignored, because it is not text of 1 to 200 characters.',
    ]);
  });

  it('reports fields of the other architecture', () => {
    const query = `${encodeRunQuery(withArchitecture(tiny(), 'transformer'))}&d_state=8`;
    const decoded = decodeCompareLink(rawLink({ runs: [{ query }] }));
    expect(decoded.runs[0].config.model.architecture).toBe('transformer');
    expect(decoded.messages).toEqual(['Run 1: d_state does not apply to the transformer architecture, so it was ignored.']);
  });

  it('opens at most MAX_COMPARE_RUNS runs', () => {
    const runs = Array.from({ length: MAX_COMPARE_RUNS + 2 }, () => ({ config: tiny() }));
    const decoded = decodeCompareLink(encodeCompareLink(runs));
    expect(decoded.runs).toHaveLength(MAX_COMPARE_RUNS);
    expect(decoded.messages).toEqual([`The comparison link holds ${MAX_COMPARE_RUNS + 2} runs; only the first ${MAX_COMPARE_RUNS} were opened.`]);
  });
});

describe('decodeCompareLink on unreadable links', () => {
  const link = encodeCompareLink([{ config: withDState(1) }, { config: withDState(8) }]);
  const cases: [string, string, RegExp][] = [
    ['empty', '', /the compare parameter is empty/],
    ['no version', 'abcdef', /has no version prefix; links from this app start with "v1."/],
    ['unknown version', `v9.${link.slice(3)}`, /starts with "v9\.", a version this app does not know/],
    ['not base64url', 'v1.ab+c/d==', /is not base64url text/],
    ['truncated', link.slice(0, link.length - 12), /its data is truncated or corrupt \(unexpected EOF\)/],
    ['cut to one character of a group', link.slice(0, 3 + 4 * 5 + 1), /is not base64url text/],
    ['corrupt', `v1.${'A'.repeat(40)}`, /its data is truncated or corrupt|its data is not JSON/],
    ['not JSON', rawLink('runs: [1, 2]'), /its data is not JSON/],
    ['JSON without runs', rawLink({ run: [] }), /its data has no list of runs/],
    ['JSON of another type', rawLink('"v1"'), /its data has no list of runs/],
    ['too long', `v1.${'A'.repeat(40_000)}`, /has 40003 characters, more than the 32000/],
  ];
  for (const [name, value, pattern] of cases) {
    it(`reports a link that is ${name}`, () => {
      const decoded = decodeCompareLink(value);
      expect(decoded.runs).toEqual([]);
      expect(decoded.messages).toHaveLength(1);
      expect(decoded.messages[0]).toMatch(/^The comparison link could not be read: /);
      expect(decoded.messages[0]).toMatch(pattern);
      expect(decoded.messages[0]).toContain('copy the whole link again');
    });
  }

  it('rejects data that unpacks too far', () => {
    const decoded = decodeCompareLink(rawLink(`{"runs":[${'0,'.repeat(400_000)}0]}`));
    expect(decoded.runs).toEqual([]);
    expect(decoded.messages[0]).toContain('unpacks to more than 524288 bytes');
  });

  it('never throws on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const decoded = decodeCompareLink(`v1.${text}`);
        expect(Array.isArray(decoded.runs)).toBe(true);
      }),
    );
  });
});

describe('compareLinkUrl and readCompareParam', () => {
  it('builds a link to the Compare view that reads back', () => {
    const runs = [{ config: withDState(1) }, { config: withDState(4) }];
    const url = new URL(compareLinkUrl('http://127.0.0.1:4173/app/?preset=e2e-tiny&d_state=2#scan', runs));
    expect(url.pathname).toBe('/app/');
    expect(url.hash).toBe('#compare');
    expect([...url.searchParams.keys()]).toEqual([COMPARE_PARAM]);
    expect(readCompareParam(url.search)!.runs.map((run) => run.config)).toEqual(runs.map((run) => run.config));
  });

  it('returns null without the parameter', () => {
    expect(readCompareParam('?preset=e2e-tiny')).toBeNull();
    expect(studioRunsFromLink('')).toBeNull();
  });
});

describe('studioRunsFromLink', () => {
  it('queues each run with its parameter count and a name', () => {
    const transformer = withArchitecture(tiny(), 'transformer');
    const search = `?${COMPARE_PARAM}=${encodeCompareLink([{ config: withDState(1), name: 'small state' }, { config: withDState(4) }, { config: transformer }])}`;
    let next = 0;
    const restored = studioRunsFromLink(search, { now: 1234, createId: () => `id-${next++}` })!;
    expect(restored.messages).toEqual([]);
    expect(restored.runs.map((run) => [run.id, run.name, run.status, run.createdAt])).toEqual([
      ['id-0', 'small state', 'queued', 1234],
      ['id-1', 'Mamba, d_state = 4', 'queued', 1234],
      ['id-2', 'Transformer', 'queued', 1234],
    ]);
    expect(restored.runs.map((run) => run.parameterCount)).toEqual([withDState(1), withDState(4), transformer].map((c) => countParameters(c.model)));
    expect(restored.runs[0]).toMatchObject({ metrics: [], probe: null, step: 0, elapsedMs: 0, paperAccuracy: null, engine: null });
  });
});

describe('comparison links of grid runs', () => {
  /** The link of the studio runs of a grid, as the Compare view's button and the URL write it. */
  function gridLink(runs: ReturnType<typeof gridStudioRuns>): string {
    return `?${COMPARE_PARAM}=${encodeCompareLink(runs.map((run) => ({ config: run.config, name: run.name, grid: run.grid })))}`;
  }

  it('restores the paper column of Table 1', () => {
    const runs = gridStudioRuns(PAPER_TABLE1_SMALL, 'webgpu');
    let next = 0;
    const restored = studioRunsFromLink(gridLink(runs), { createId: () => `id-${next++}` })!;
    expect(restored.messages).toEqual([]);
    expect(restored.runs.map((run) => run.grid)).toEqual(runs.map(() => 'paper-table1-small'));
    expect(restored.runs.map((run) => run.paperRow)).toEqual(PAPER_TABLE1_SMALL.runs.map((row) => row.paperRow));
    expect(restored.runs.map((run) => run.paperAccuracy)).toEqual([0.183, 0.97, 0.57, 0.997, 0.564, 0.998]);
    // The config is the grid's own, with the link's engine, so a reload finds the stored run equal.
    expect(restored.runs.map((run) => JSON.stringify(run.config))).toEqual(runs.map((run) => JSON.stringify(run.config)));
    expect(restored.runs[0].config.engine).toBe('webgpu');
  });

  it('restores the paper curve of extrapolation runs', () => {
    const runs = gridStudioRuns(INDUCTION_EXTRAPOLATION_SMALL, 'auto');
    const restored = studioRunsFromLink(gridLink(runs))!;
    expect(restored.messages).toEqual([]);
    const rope = restored.runs.find((run) => run.paperRow === 'MHA-RoPE')!;
    expect(rope.paperCurve!.map((point) => point.length)).toEqual([16, 32, 64, 128, 256, 512, 1024]);
    expect(rope.paperCurve![1]).toEqual({ length: 32, accuracy: 0.836 });
    expect(rope.extrapolation).toBeNull();
  });

  it('decodes a link without grid as before', () => {
    const restored = studioRunsFromLink(`?${COMPARE_PARAM}=${encodeCompareLink([{ config: withDState(2), name: 'plain' }])}`)!;
    expect(restored.messages).toEqual([]);
    expect(restored.runs[0]).toMatchObject({ grid: null, paperAccuracy: null, paperRow: null, paperCurve: null, extrapolation: null });
  });

  it('reads a v1 link from before grids', () => {
    // Written by the app before runs carried a grid: a name and a query per run, and nothing else.
    const value = rawLink({ runs: [{ name: 'old', query: encodeRunQuery(withDState(8)) }] });
    const decoded = decodeCompareLink(value);
    expect(decoded.messages).toEqual([]);
    expect(decoded.runs[0].config).toEqual(withDState(8));
    expect(decoded.runs[0].grid).toBeNull();
  });

  it('ignores an unknown grid with a message', () => {
    const value = rawLink({ runs: [{ name: 'odd', query: encodeRunQuery(withDState(8)), grid: 'paper-table9' }] });
    const decoded = decodeCompareLink(value);
    expect(decoded.messages).toEqual(['Run 1 ("odd"): its grid "paper-table9" is not known, so the paper\'s results are not shown.']);
    expect(decoded.runs[0].config).toEqual(withDState(8));
    expect(decoded.runs[0].grid).toBeNull();
  });

  it('ignores a grid that is not text', () => {
    const value = rawLink({ runs: [{ query: encodeRunQuery(withDState(8)), grid: { name: 'paper-table1' } }] });
    const decoded = decodeCompareLink(value);
    expect(decoded.messages).toEqual(["Run 1: its grid was ignored, because it is not text, so the paper's results are not shown."]);
    expect(decoded.runs[0].grid).toBeNull();
  });

  it('rejects paper results for a changed grid run', () => {
    const [first] = gridStudioRuns(PAPER_TABLE1_SMALL, 'auto');
    const changed = fieldSpec('d_state').write(first.config, 3);
    const decoded = decodeCompareLink(encodeCompareLink([{ config: changed, name: 'edited', grid: first.grid }]));
    expect(decoded.messages[0]).toBe(
      'Run 1 ("edited"): its settings differ from every run of the grid "Selective copying, paper Table 1 (small)", so the paper\'s results are not shown.',
    );
    expect(decoded.runs[0].grid).toBeNull();
    expect(decoded.runs[0].gridRow).toBeNull();
  });
});

describe('randomId', () => {
  const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('returns distinct version 4 UUIDs', () => {
    const ids = Array.from({ length: 50 }, randomId);
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(50);
  });

  it('builds a UUID without crypto.randomUUID', () => {
    const original = crypto.randomUUID;
    Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true, writable: true });
    try {
      const ids = Array.from({ length: 50 }, randomId);
      for (const id of ids) expect(id).toMatch(UUID_V4);
      expect(new Set(ids).size).toBe(50);
    } finally {
      Object.defineProperty(crypto, 'randomUUID', { value: original, configurable: true, writable: true });
    }
    expect(randomId()).toMatch(UUID_V4);
  });
});

/** Arbitrary valid run: a preset, an architecture, its choices and in-range field values. */
function validRun(): fc.Arbitrary<RunConfig> {
  return fc
    .record({
      preset: fc.constantFrom(...PRESETS.map((preset) => preset.name)),
      task: fc.constantFrom('selective-copying' as const, 'induction-heads' as const),
      architecture: fc.constantFrom('mamba' as const, 'transformer' as const),
      engine: fc.constantFrom(...ENGINE_PREFERENCES),
      choiceSeeds: fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
      fields: fc.record({
        vocab_size: fc.integer({ min: 3, max: 64 }),
        d_model: fc.integer({ min: 1, max: 128 }),
        n_layer: fc.integer({ min: 1, max: 4 }),
        d_state: fc.integer({ min: 1, max: 64 }),
        expand: fc.integer({ min: 1, max: 4 }),
        d_conv: fc.integer({ min: 1, max: 8 }),
        learning_rate: fc.double({ min: 1e-6, max: 1, noNaN: true, noDefaultInfinity: true }),
        batch_size: fc.integer({ min: 1, max: 512 }),
        seq_len: fc.integer({ min: 8, max: 512 }),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        weight_decay: fc.double({ min: 0, max: 1, noNaN: true, noDefaultInfinity: true }),
        grad_clip: fc.double({ min: 0, max: 1000, noNaN: true, noDefaultInfinity: true }),
        max_steps: fc.integer({ min: 0, max: 100_000 }),
        n_data_fraction: fc.double({ min: 0, max: 1, noNaN: true }),
        max_len_extra: fc.integer({ min: 0, max: 100 }),
      }),
    })
    .map(({ preset, task, architecture, engine, choiceSeeds, fields }) => {
      let run = withArchitecture(withTaskKind(copyRun(findPreset(preset)!.run), task), architecture);
      run = { ...run, engine };
      choicesForRun(run)
        .filter((choice) => choice.key !== 'architecture')
        .forEach((choice, i) => {
          run = choice.write(run, choice.options[choiceSeeds[i] % choice.options.length].value);
        });
      // -0 reads back as 0, so weights are drawn without it.
      const values: Record<string, number> = { ...fields, weight_decay: fields.weight_decay || 0, grad_clip: fields.grad_clip || 0 };
      values.n_data = Math.max(1, Math.floor((fields.n_data_fraction * fields.seq_len) / 2));
      values.max_len = fields.seq_len + fields.max_len_extra;
      values.n_head = [4, 2, 1].find((heads) => fields.d_model % heads === 0)!;
      for (const field of fieldsForRun(run)) run = field.write(run, values[field.key]);
      return run;
    })
    .filter((run) => Object.keys(validateRunFields(run)).length === 0);
}
