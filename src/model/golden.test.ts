/**
 * Checks the CPU reference against golden vectors computed in float64 by
 * state-spaces/mamba's selective_scan_ref and johnma2006/mamba-minimal (see
 * fixtures/golden/README.md). Every .json case in that folder is checked, so a
 * new case file needs no code change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertClose } from '../testing/compare';
import { resolveConfig } from './config';
import { MambaModel } from './mamba';
import { MambaDecoder } from './recurrent';
import { selectiveScanBackward, selectiveScanForward, type ScanDims, type ScanInputs } from './ops';
import { buildLayout, view } from './params';

interface Tensor {
  shape: number[];
  dtype: 'float32' | 'int64';
  data: number[];
}

interface GoldenCase {
  name: string;
  kind: 'selective_scan' | 'mamba_lm';
  inputs: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  params: Record<string, unknown>;
}

const dir = join(import.meta.dirname, 'fixtures', 'golden');
const cases: GoldenCase[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as GoldenCase);

const f32 = (t: Tensor) => Float32Array.from(t.data);

/** (b, x, l) → (b, l, x): the golden scan layout is channel-major, ours token-major. */
function toTokenMajor(t: Tensor): Float32Array {
  const [b, x, l] = t.shape;
  const out = new Float32Array(b * x * l);
  for (let bi = 0; bi < b; bi++) {
    for (let i = 0; i < x; i++) {
      for (let j = 0; j < l; j++) out[(bi * l + j) * x + i] = t.data[(bi * x + i) * l + j];
    }
  }
  return out;
}

/** (b, l, x) → (b, x, l), to compare against golden outputs. */
function toChannelMajor(data: Float32Array, b: number, x: number, l: number): Float32Array {
  const out = new Float32Array(b * x * l);
  for (let bi = 0; bi < b; bi++) {
    for (let i = 0; i < x; i++) {
      for (let j = 0; j < l; j++) out[(bi * x + i) * l + j] = data[(bi * l + j) * x + i];
    }
  }
  return out;
}

function checkScanCase(c: GoldenCase) {
  const p = c.params as { batch: number; d_inner: number; d_state: number; seqlen: number; delta_softplus: boolean; variable_B: boolean; variable_C: boolean };
  const dims: ScanDims = {
    b: p.batch, l: p.seqlen, d: p.d_inner, n: p.d_state,
    variableB: p.variable_B, variableC: p.variable_C, softplus: p.delta_softplus,
  };
  const inp = c.inputs;
  const bc = (t: Tensor, variable: boolean) => (variable ? toTokenMajor(t) : f32(t));
  const inputs: ScanInputs = {
    u: toTokenMajor(inp.u), delta: toTokenMajor(inp.delta), A: f32(inp.A),
    B: bc(inp.B, dims.variableB), C: bc(inp.C, dims.variableC),
    D: inp.D ? f32(inp.D) : null, z: inp.z ? toTokenMajor(inp.z) : null,
    deltaBias: inp.delta_bias ? f32(inp.delta_bias) : null,
  };
  const { b, l, d, n } = dims;
  const out = new Float32Array(b * l * d);
  const last = new Float32Array(b * d * n);
  selectiveScanForward(out, last, null, null, inputs, dims);
  assertClose(`${c.name} out`, toChannelMajor(out, b, d, l), c.outputs.out.data);
  assertClose(`${c.name} last_state`, last, c.outputs.last_state.data);

  const bcSize = (variable: boolean) => (variable ? b * l * n : d * n);
  const grads = {
    du: new Float32Array(b * l * d), dDelta: new Float32Array(b * l * d), dA: new Float32Array(d * n),
    dB: new Float32Array(bcSize(dims.variableB)), dC: new Float32Array(bcSize(dims.variableC)),
    dD: inputs.D ? new Float32Array(d) : null, dz: inputs.z ? new Float32Array(b * l * d) : null,
    dDeltaBias: inputs.deltaBias ? new Float32Array(d) : null,
  };
  selectiveScanBackward(grads, toTokenMajor(inp.g), inputs, dims);

  const want = c.outputs;
  const tm = (x: Float32Array) => toChannelMajor(x, b, d, l);
  const bcOut = (x: Float32Array, variable: boolean) => (variable ? toChannelMajor(x, b, n, l) : x);
  const checks: [string, Float32Array | null][] = [
    ['grad_u', tm(grads.du)], ['grad_delta', tm(grads.dDelta)], ['grad_A', grads.dA],
    ['grad_B', bcOut(grads.dB, dims.variableB)], ['grad_C', bcOut(grads.dC, dims.variableC)],
    ['grad_D', grads.dD], ['grad_z', grads.dz && tm(grads.dz)], ['grad_delta_bias', grads.dDeltaBias],
  ];
  let checked = 0;
  for (const [key, got] of checks) {
    expect(got === null, `${c.name}: ${key} presence`).toBe(!(key in want));
    if (got) {
      assertClose(`${c.name} ${key}`, got, want[key].data);
      checked++;
    }
  }
  expect(checked).toBeGreaterThanOrEqual(5);
}

function checkModelCase(c: GoldenCase) {
  const p = c.params as { config: { vocab_size: number; d_model: number; n_layer: number; d_state: number; expand: number; d_conv: number; dt_rank: number }; batch: number; seqlen: number };
  const cfg = resolveConfig({ ...p.config });
  const layout = buildLayout(cfg);
  const params = new Float32Array(layout.totalSize);
  for (const e of layout.entries) {
    const t = c.inputs[e.name];
    expect(t, `golden input ${e.name}`).toBeDefined();
    expect(t.shape).toEqual(e.shape);
    view(layout, params, e.name).set(t.data);
  }

  const ids = Int32Array.from(c.inputs.input_ids.data);
  const targets = Int32Array.from(c.inputs.targets.data);
  const { batch: b, seqlen: l } = p;
  const mask = new Float32Array(b * l).fill(1); // the golden loss is the mean over every position
  const model = new MambaModel(cfg, layout);
  const result = model.lossAndGrad(params, ids, targets, mask, b, l);

  const want = c.outputs;
  assertClose(`${c.name} logits`, result.fwd.logits, want.logits.data);
  assertClose(`${c.name} loss`, [result.loss], want.loss.data);
  assertClose(`${c.name} hidden.embedding`, result.fwd.embedded, want['hidden.embedding'].data);
  for (let i = 0; i < cfg.n_layer; i++) {
    assertClose(`${c.name} hidden.layers.${i}.mixer`, result.fwd.layers[i].mixer, want[`hidden.layers.${i}.mixer`].data);
  }
  assertClose(`${c.name} hidden.norm_f`, result.fwd.hidden, want['hidden.norm_f'].data);

  let checked = 0;
  for (const e of layout.entries) {
    assertClose(`${c.name} grad.${e.name}`, view(layout, result.grads, e.name), want[`grad.${e.name}`].data);
    checked++;
  }
  expect(checked).toBe(Object.keys(want).filter((k) => k.startsWith('grad.')).length);
}

describe('golden vectors', () => {
  it('fixture folder holds every known case', () => {
    const names = cases.map((c) => c.name);
    for (const expected of ['model_tiny', 'ss_bare', 'ss_lti', 'ss_medium', 'ss_noz_nosoftplus', 'ss_small']) {
      expect(names).toContain(expected);
    }
  });

  for (const c of cases) {
    it(`${c.name} matches reference outputs and gradients`, () => {
      if (c.kind === 'selective_scan') checkScanCase(c);
      else if (c.kind === 'mamba_lm') checkModelCase(c);
      else throw new Error(`${c.name}: unknown golden kind ${String(c.kind)}; add a checker for it`);
    });
  }
});

describe('recurrent inference', () => {
  it('step by step reproduces golden logits', () => {
    const c = cases.find((x) => x.kind === 'mamba_lm');
    if (!c) throw new Error('no mamba_lm golden case in the fixtures');
    const p = c.params as { config: { vocab_size: number; d_model: number; n_layer: number; d_state: number; expand: number; d_conv: number; dt_rank: number }; batch: number; seqlen: number };
    const cfg = resolveConfig({ ...p.config });
    const layout = buildLayout(cfg);
    const params = new Float32Array(layout.totalSize);
    for (const e of layout.entries) view(layout, params, e.name).set(c.inputs[e.name].data);

    const { batch: b, seqlen: l } = p;
    const ids = c.inputs.input_ids.data;
    const decoder = new MambaDecoder(new MambaModel(cfg, layout), params, b);
    const stateSize = decoder.stateSize;
    const got = new Float32Array(b * l * cfg.vocab_size);
    for (let t = 0; t < l; t++) {
      const logits = decoder.step(Int32Array.from({ length: b }, (_, r) => ids[r * l + t]));
      for (let r = 0; r < b; r++) got.set(logits.subarray(r * cfg.vocab_size, (r + 1) * cfg.vocab_size), (r * l + t) * cfg.vocab_size);
      expect(decoder.stateSize).toBe(stateSize);
    }
    assertClose(`${c.name} step logits`, got, c.outputs.logits.data);
  });
});
