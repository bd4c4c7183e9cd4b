import { describe, expect, it } from 'vitest';
import type { MambaConfig } from '../model/config';
import type { TransformerConfig } from '../model/transformer';
import { describeBlock, ssmName, type BlockDiagramSpec } from './blockDiagram';

const mamba: MambaConfig = { vocab_size: 16, d_model: 64, n_layer: 2, d_state: 16, expand: 2, d_conv: 4, dt_rank: 'auto' };
const transformer: TransformerConfig = {
  architecture: 'transformer',
  vocab_size: 16,
  d_model: 64,
  n_layer: 2,
  n_head: 4,
  d_ff: 'auto',
  positions: 'rope',
  max_len: 64,
};

const ids = (spec: BlockDiagramSpec) => spec.nodes.map((n) => n.id);
const node = (spec: BlockDiagramSpec, id: string) => {
  const found = spec.nodes.find((n) => n.id === id);
  if (!found) throw new Error(`node ${id} not in ${ids(spec).join(', ')}`);
  return found;
};
const param = (spec: BlockDiagramSpec, symbol: string) => spec.ssm!.params.find((p) => p.symbol === symbol)!;

describe('describeBlock', () => {
  it('mamba block has every part in order', () => {
    const spec = describeBlock(mamba);
    expect(spec.title).toBe('Mamba block');
    expect(ids(spec)).toEqual(['input', 'norm', 'in_proj', 'conv', 'act', 'ssm', 'gate', 'gate_act', 'out_proj', 'add', 'output']);
    expect(spec.gate).toBe('silu');
    expect(spec.hasConv).toBe(true);
    expect(spec.rows).toBe(2);
    expect(spec.ssm!.name).toBe('S6');
    expect(spec.ssm!.params.every((p) => p.inputDependent)).toBe(true);
    expect(spec.dims).toBe('d_model 64 · d_inner 128 · d_state 16 · 2 layers');
    expect(node(spec, 'in_proj').detail).toBe('64 → 2·128');
    expect(node(spec, 'input').label).toBe('input');
    expect(spec.residuals).toEqual([{ from: 'input', to: 'add' }]);
  });

  it('gate branch runs on its own row', () => {
    const spec = describeBlock(mamba);
    expect(node(spec, 'gate_act').row).toBe(1);
    expect(node(spec, 'gate_act').col).toBe(node(spec, 'act').col);
    expect(spec.edges).toContainEqual({ from: 'in_proj', to: 'gate_act', label: 'z', row: 1 });
    expect(spec.edges).toContainEqual({ from: 'gate_act', to: 'gate', label: null, row: 1 });
  });

  it('fixed B is marked fixed', () => {
    const spec = describeBlock({ ...mamba, selective_B: false });
    expect(param(spec, 'B').inputDependent).toBe(false);
    expect(param(spec, 'Δ').inputDependent).toBe(true);
    expect(param(spec, 'C').inputDependent).toBe(true);
    expect(spec.ssm!.name).toBe('partly selective');
    expect(spec.ariaLabel).toContain('Δ and C input-dependent, B fixed');
  });

  it('all fixed is the LTI S4', () => {
    const spec = describeBlock({ ...mamba, selective_delta: false, selective_B: false, selective_C: false });
    expect(spec.ssm!.name).toBe('S4');
    expect(node(spec, 'ssm').label).toBe('SSM · S4');
    expect(spec.caption).toContain('Δ, B and C fixed');
  });

  it('no-gate drops the gate row', () => {
    const spec = describeBlock({ ...mamba, block: 'no-gate' });
    expect(spec.title).toBe('Mamba block without gate');
    expect(spec.gate).toBeNull();
    expect(spec.rows).toBe(1);
    expect(ids(spec)).not.toContain('gate');
    expect(ids(spec)).not.toContain('gate_act');
    expect(spec.edges).toContainEqual({ from: 'ssm', to: 'out_proj', label: null, row: 0 });
    expect(node(spec, 'in_proj').detail).toBe('64 → 1·128');
  });

  it('conv off removes the convolution', () => {
    const spec = describeBlock({ ...mamba, use_conv: false });
    expect(spec.hasConv).toBe(false);
    expect(ids(spec)).not.toContain('conv');
    expect(spec.edges).toContainEqual({ from: 'in_proj', to: 'act', label: 'x', row: 0 });
    expect(spec.caption).toContain('no convolution');
  });

  it('h3 block has shift SSM and two gates', () => {
    const spec = describeBlock({ ...mamba, block: 'h3' });
    expect(spec.title).toBe('H3 block');
    expect(ids(spec)).toEqual(['input', 'norm', 'in_proj', 'conv', 'kv', 'ssm', 'gate', 'out_proj', 'add', 'output']);
    expect(node(spec, 'conv').label).toBe('shift SSM');
    expect(spec.gate).toBe('q');
    expect(spec.rows).toBe(3);
    expect(node(spec, 'ssm').row).toBe(1);
    expect(spec.edges).toContainEqual({ from: 'in_proj', to: 'kv', label: 'v', row: 2 });
    expect(spec.edges).toContainEqual({ from: 'in_proj', to: 'gate', label: 'q', row: 0 });
    expect(node(spec, 'in_proj').detail).toBe('64 → 3·128');
  });

  it('h3 without conv feeds k straight in', () => {
    const spec = describeBlock({ ...mamba, block: 'h3', use_conv: false });
    expect(ids(spec)).not.toContain('conv');
    expect(spec.edges).toContainEqual({ from: 'in_proj', to: 'kv', label: 'k', row: 1 });
  });

  it('A init and softplus are named', () => {
    expect(describeBlock(mamba).ssm!.aLabel).toBe('A = −(n+1), S4D-Real');
    const spec = describeBlock({ ...mamba, a_init: 'constant', delta_softplus: false });
    expect(spec.ssm!.aLabel).toBe('A = −½');
    expect(spec.ssm!.softplus).toBe(false);
    expect(spec.ariaLabel).toContain('Δ without softplus');
  });

  it('every edge joins existing nodes', () => {
    const configs = [
      mamba,
      { ...mamba, block: 'no-gate' as const },
      { ...mamba, block: 'h3' as const },
      { ...mamba, block: 'h3' as const, use_conv: false },
      transformer,
    ];
    for (const config of configs) {
      const spec = describeBlock(config);
      const known = new Set(ids(spec));
      for (const edge of spec.edges) {
        expect(known.has(edge.from), `${edge.from} in ${spec.title}`).toBe(true);
        expect(known.has(edge.to), `${edge.to} in ${spec.title}`).toBe(true);
        expect(edge.row).toBeGreaterThanOrEqual(0);
        expect(edge.row).toBeLessThan(spec.rows);
      }
      for (const n of spec.nodes) {
        expect(n.col).toBeLessThan(spec.columns);
        expect(n.row).toBeLessThan(spec.rows);
      }
      // No two nodes share a cell.
      const cells = spec.nodes.map((n) => `${n.col},${n.row}`);
      expect(new Set(cells).size).toBe(cells.length);
    }
  });

  it('transformer has attention and SwiGLU', () => {
    const spec = describeBlock(transformer);
    expect(spec.architecture).toBe('transformer');
    expect(spec.ssm).toBeNull();
    expect(ids(spec)).toEqual(['input', 'norm1', 'q', 'k', 'v', 'attn', 'o_proj', 'add1', 'norm2', 'mlp', 'add2', 'output']);
    expect(node(spec, 'attn').detail).toBe('4 heads × 16');
    // 'auto' is 8/3 · 64 rounded up to a multiple of 8.
    expect(node(spec, 'mlp').detail).toBe('64 → 176 → 64');
    expect(spec.dims).toBe('d_model 64 · n_head 4 · d_ff 176 · 2 layers');
    expect(spec.residuals).toHaveLength(2);
    expect(spec.ariaLabel).toContain('rotary positions');
    expect(spec.ariaLabel).toContain('4 heads of width 16');
  });

  it('aria-label spells out field names', () => {
    for (const spec of [describeBlock(mamba), describeBlock(transformer)]) {
      for (const name of ['d_model', 'd_inner', 'd_state', 'n_head', 'd_ff']) expect(spec.ariaLabel).not.toContain(name);
    }
    expect(describeBlock(mamba).ariaLabel).toContain('model width 64 · inner width 128 · state size 16');
  });

  it('absolute positions name max_len', () => {
    const spec = describeBlock({ ...transformer, positions: 'absolute' as const, max_len: 256 });
    expect(spec.caption).toContain('learned absolute positions up to 256');
    expect(node(spec, 'q').detail).toBeNull();
  });

  it('half-edited size prints a question mark', () => {
    const spec = describeBlock({ ...mamba, d_model: Number.NaN });
    expect(spec.dims).toBe('d_model ? · d_inner ? · d_state 16 · 2 layers');
  });
});

describe('ssmName', () => {
  it('names S6, S4 and the mixed case', () => {
    const all = (inputDependent: boolean) => (['Δ', 'B', 'C'] as const).map((symbol) => ({ symbol, inputDependent }));
    expect(ssmName(all(true))).toBe('S6');
    expect(ssmName(all(false))).toBe('S4');
    expect(ssmName([{ symbol: 'Δ', inputDependent: true }, { symbol: 'B', inputDependent: false }])).toBe('partly selective');
  });
});
