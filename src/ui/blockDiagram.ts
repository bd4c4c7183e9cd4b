/**
 * The description of the block diagram. It lists the boxes of a run's model on a
 * grid of columns and rows, how they connect, and whether each of the SSM's Δ, B
 * and C is computed from the input or is a learned parameter. These are pure
 * functions with no DOM, and BlockDiagram.tsx draws the result as SVG.
 *
 * The Mamba mixer follows src/model/mamba.ts: in_proj splits the normed input into
 * the x branch and the gate z ('no-gate' has no z, 'h3' gives q, k and v), conv1d
 * and SiLU on x (H3's shift SSM is conv1d on k, without activation), the SSM, the
 * gate, out_proj and the residual.
 */
import {
  MAMBA_ABLATION_DEFAULTS, isTransformerConfig,
  type AInit, type Architecture, type BlockKind, type MambaConfig, type ModelConfig,
} from '../model/config';
import type { TransformerConfig } from '../model/transformer';

export type DiagramNodeKind =
  | 'io' | 'norm' | 'linear' | 'conv' | 'activation' | 'ssm' | 'multiply' | 'add' | 'attention' | 'mlp';

export interface DiagramNode {
  id: string;
  kind: DiagramNodeKind;
  label: string;
  /** Second line, such as a shape "64 → 256"; null for none. */
  detail: string | null;
  col: number;
  row: number;
}

export interface DiagramEdge {
  from: string;
  to: string;
  /** Name of the tensor on the edge, such as "z"; null for none. */
  label: string | null;
  /** Row the edge runs along; it leaves and enters its nodes vertically when that row is not theirs. */
  row: number;
}

export type SsmSymbol = 'Δ' | 'B' | 'C';

export interface SsmParameter {
  symbol: SsmSymbol;
  /** Computed per token from the SSM input (S6) rather than a learned parameter (S4). */
  inputDependent: boolean;
}

export interface SsmDescription {
  /** "S6" when Δ, B and C are all input-dependent, "S4" when none is, "partly selective" otherwise. */
  name: 'S6' | 'S4' | 'partly selective';
  params: SsmParameter[];
  aInit: AInit;
  /** Initial A as a label, such as "A = −(n+1), S4D-Real". */
  aLabel: string;
  softplus: boolean;
  d_state: number;
}

export interface BlockDiagramSpec {
  architecture: Architecture;
  /** Such as "Mamba block" or "H3 block". */
  title: string;
  /** The sizes, such as "d_model 64 · d_inner 128 · d_state 16 · 2 layers". */
  dims: string;
  nodes: DiagramNode[];
  edges: DiagramEdge[];
  /** Residual connections, each from a node to the add node that sums it back in. */
  residuals: { from: string; to: string }[];
  /** The SSM of a Mamba-family block; null for the Transformer. */
  ssm: SsmDescription | null;
  /** Whether the block has the causal convolution (H3's shift SSM). */
  hasConv: boolean;
  /** The output gate: SiLU(z) for Mamba, q for H3, null for none. */
  gate: 'silu' | 'q' | null;
  columns: number;
  rows: number;
  /** Title, sizes and one sentence per part, for screen readers, with field names spoken as words. */
  ariaLabel: string;
  /** The same facts as the aria-label, written for the caption under the diagram. */
  caption: string;
}

export const BLOCK_TITLES: Record<BlockKind | 'transformer', string> = {
  mamba: 'Mamba block',
  'no-gate': 'Mamba block without gate',
  h3: 'H3 block',
  transformer: 'Transformer block',
};

const A_LABELS: Record<AInit, string> = {
  's4d-real': 'A = −(n+1), S4D-Real',
  constant: 'A = −½',
  random: 'A = −exp(N(0, 1))',
};

/**
 * Field names in the aria-label, spoken as words. Playwright's and screen readers'
 * label lookups match substrings, so a name such as "n_head" in the diagram's label
 * would also match the n_head field's select.
 */
const SPOKEN_NAMES: [RegExp, string][] = [
  [/d_model/g, 'model width'],
  [/d_inner/g, 'inner width'],
  [/d_state/g, 'state size'],
  [/n_head/g, 'heads'],
  [/d_ff/g, 'MLP width'],
];

function spoken(text: string): string {
  return SPOKEN_NAMES.reduce((result, [pattern, words]) => result.replace(pattern, words), text);
}

/** Formats a size for a label; a field being edited may hold no valid number yet. */
function size(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '?';
}

function product(a: unknown, b: unknown): number {
  return typeof a === 'number' && typeof b === 'number' ? a * b : Number.NaN;
}

/** Describes the block of a run's model without validating it, so a half-edited config still draws. */
export function describeBlock(model: ModelConfig): BlockDiagramSpec {
  return isTransformerConfig(model) ? describeTransformer(model) : describeMamba(model);
}

/** Returns the SSM's name from its parameters: S6, S4 or partly selective. */
export function ssmName(params: SsmParameter[]): SsmDescription['name'] {
  const selective = params.filter((p) => p.inputDependent).length;
  if (selective === params.length) return 'S6';
  if (selective === 0) return 'S4';
  return 'partly selective';
}

function describeMamba(model: MambaConfig): BlockDiagramSpec {
  const ablations = { ...MAMBA_ABLATION_DEFAULTS };
  for (const key of Object.keys(ablations) as (keyof typeof ablations)[]) {
    if (model[key] !== undefined) (ablations as Record<string, unknown>)[key] = model[key];
  }
  const { block, use_conv: hasConv } = ablations;
  const dInner = product(model.expand, model.d_model);
  const dModel = size(model.d_model);
  const di = size(dInner);

  const params: SsmParameter[] = [
    { symbol: 'Δ', inputDependent: ablations.selective_delta },
    { symbol: 'B', inputDependent: ablations.selective_B },
    { symbol: 'C', inputDependent: ablations.selective_C },
  ];
  const ssm: SsmDescription = {
    name: ssmName(params),
    params,
    aInit: ablations.a_init,
    aLabel: A_LABELS[ablations.a_init] ?? `A: ${String(ablations.a_init)}`,
    softplus: ablations.delta_softplus,
    d_state: model.d_state,
  };
  const GATES: Record<BlockKind, BlockDiagramSpec['gate']> = { mamba: 'silu', 'no-gate': null, h3: 'q' };
  const BRANCHES: Record<BlockKind, number> = { mamba: 2, 'no-gate': 1, h3: 3 };
  const gate = GATES[block] ?? null;
  const branches = BRANCHES[block] ?? 1;

  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  const main = block === 'h3' ? 1 : 0;
  let col = 0;
  const add = (node: Omit<DiagramNode, 'col' | 'row'> & { row?: number }) => {
    nodes.push({ ...node, col, row: node.row ?? main });
    col++;
  };
  const link = (from: string, to: string, label: string | null = null, row = main) => edges.push({ from, to, label, row });

  add({ id: 'input', kind: 'io', label: 'input', detail: null });
  add({ id: 'norm', kind: 'norm', label: 'RMSNorm', detail: null });
  link('input', 'norm');
  add({ id: 'in_proj', kind: 'linear', label: 'in_proj', detail: `${dModel} → ${branches}·${di}` });
  link('norm', 'in_proj');

  // The branch that reaches the SSM: x through conv1d and SiLU, or H3's k through the shift SSM times v.
  let ssmInput = 'in_proj';
  const branch = block === 'h3' ? 'k' : 'x';
  if (hasConv) {
    add({
      id: 'conv',
      kind: 'conv',
      label: block === 'h3' ? 'shift SSM' : 'conv1d',
      detail: block === 'h3' ? `conv1d, width ${size(model.d_conv)}` : `causal, width ${size(model.d_conv)}`,
    });
    link(ssmInput, 'conv', branch);
    ssmInput = 'conv';
  }
  if (block === 'h3') {
    add({ id: 'kv', kind: 'multiply', label: '×', detail: null });
    link(ssmInput, 'kv', hasConv ? null : 'k');
    link('in_proj', 'kv', 'v', 2);
    ssmInput = 'kv';
  } else {
    add({ id: 'act', kind: 'activation', label: 'SiLU', detail: null });
    link(ssmInput, 'act', hasConv ? null : 'x');
    ssmInput = 'act';
  }

  add({ id: 'ssm', kind: 'ssm', label: `SSM · ${ssm.name}`, detail: `d_state ${size(model.d_state)}` });
  link(ssmInput, 'ssm');

  let beforeOut = 'ssm';
  if (block === 'mamba') {
    add({ id: 'gate', kind: 'multiply', label: '×', detail: null });
    link('ssm', 'gate', 'y');
    // SiLU(z) sits under the x branch's activation, so the gate row reads as a second path.
    const zCol = nodes.find((n) => n.id === 'act')!.col;
    nodes.push({ id: 'gate_act', kind: 'activation', label: 'SiLU', detail: null, col: zCol, row: 1 });
    link('in_proj', 'gate_act', 'z', 1);
    link('gate_act', 'gate', null, 1);
    beforeOut = 'gate';
  } else if (block === 'h3') {
    add({ id: 'gate', kind: 'multiply', label: '×', detail: null });
    link('ssm', 'gate', 'y');
    link('in_proj', 'gate', 'q', 0);
    beforeOut = 'gate';
  }

  add({ id: 'out_proj', kind: 'linear', label: 'out_proj', detail: `${di} → ${dModel}` });
  link(beforeOut, 'out_proj');
  add({ id: 'add', kind: 'add', label: '+', detail: null });
  link('out_proj', 'add');
  add({ id: 'output', kind: 'io', label: 'output', detail: null });
  link('add', 'output');

  const title = BLOCK_TITLES[block] ?? `${String(block)} block`;
  const layers = `${size(model.n_layer)} ${model.n_layer === 1 ? 'layer' : 'layers'}`;
  const dims = `d_model ${dModel} · d_inner ${di} · d_state ${size(model.d_state)} · ${layers}`;
  const sentences = mambaSentences(block, hasConv, ssm, { dModel, di, dConv: size(model.d_conv) });
  return {
    architecture: 'mamba',
    title,
    dims,
    nodes,
    edges,
    residuals: [{ from: 'input', to: 'add' }],
    ssm,
    hasConv,
    gate,
    columns: col,
    rows: branches,
    ariaLabel: spoken(`Block diagram of the ${title}, ${dims}. ${sentences.join(' ')}`),
    caption: sentences.join(' '),
  };
}

function describeSsmParams(ssm: SsmDescription): string {
  const selective = ssm.params.filter((p) => p.inputDependent).map((p) => p.symbol);
  const fixed = ssm.params.filter((p) => !p.inputDependent).map((p) => p.symbol);
  const list = (symbols: string[]) =>
    symbols.length <= 1 ? symbols.join('') : `${symbols.slice(0, -1).join(', ')} and ${symbols.at(-1)}`;
  const parts: string[] = [];
  if (selective.length > 0) parts.push(`${list(selective)} input-dependent`);
  if (fixed.length > 0) parts.push(`${list(fixed)} fixed`);
  return parts.join(', ');
}

function mambaSentences(
  block: BlockKind,
  hasConv: boolean,
  ssm: SsmDescription,
  sizes: { dModel: string; di: string; dConv: string },
): string[] {
  const sentences: string[] = [];
  if (block === 'h3') {
    sentences.push(`in_proj maps d_model ${sizes.dModel} to q, k and v of d_inner ${sizes.di} each.`);
    sentences.push(
      hasConv
        ? `k passes the shift SSM (a causal conv1d of width ${sizes.dConv}) and multiplies v.`
        : 'k multiplies v directly, with no shift SSM (convolution off).',
    );
  } else {
    sentences.push(
      block === 'mamba'
        ? `in_proj maps d_model ${sizes.dModel} to the x branch and the gate z, d_inner ${sizes.di} each.`
        : `in_proj maps d_model ${sizes.dModel} to the x branch of d_inner ${sizes.di}; there is no gate.`,
    );
    sentences.push(
      hasConv
        ? `x passes a causal conv1d of width ${sizes.dConv} and SiLU.`
        : 'x passes SiLU only, with no convolution.',
    );
  }
  sentences.push(
    `The SSM (${ssm.name}, d_state ${ssm.d_state}) has ${describeSsmParams(ssm)}; ` +
      `${ssm.aLabel}; Δ ${ssm.softplus ? 'through softplus' : 'without softplus'}.`,
  );
  if (block === 'mamba') sentences.push('Its output is gated by SiLU(z).');
  if (block === 'h3') sentences.push('Its output is multiplied by q.');
  sentences.push(`out_proj maps d_inner ${sizes.di} back to d_model ${sizes.dModel}, added to the residual.`);
  return sentences;
}

function describeTransformer(model: TransformerConfig): BlockDiagramSpec {
  const dModel = size(model.d_model);
  const nHead = size(model.n_head);
  const headDim = size(typeof model.d_model === 'number' && typeof model.n_head === 'number' ? model.d_model / model.n_head : NaN);
  const dFf =
    model.d_ff === 'auto' && typeof model.d_model === 'number'
      ? String(Math.ceil((8 * model.d_model) / 3 / 8) * 8)
      : size(model.d_ff);
  const positions = model.positions === 'absolute' ? `learned absolute positions up to ${size(model.max_len)}` : 'rotary positions (RoPE)';

  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  const main = 1;
  const node = (id: string, kind: DiagramNodeKind, label: string, detail: string | null, col: number, row = main) =>
    nodes.push({ id, kind, label, detail, col, row });
  const link = (from: string, to: string, label: string | null = null, row = main) => edges.push({ from, to, label, row });

  node('input', 'io', 'input', null, 0);
  node('norm1', 'norm', 'RMSNorm', null, 1);
  link('input', 'norm1');
  node('q', 'linear', 'Q', null, 2, 0);
  node('k', 'linear', 'K', model.positions === 'rope' ? 'RoPE' : null, 2, 1);
  node('v', 'linear', 'V', null, 2, 2);
  if (model.positions === 'rope') nodes.find((n) => n.id === 'q')!.detail = 'RoPE';
  link('norm1', 'q', null, 0);
  link('norm1', 'k');
  link('norm1', 'v', null, 2);
  node('attn', 'attention', 'attention', `${nHead} heads × ${headDim}`, 3);
  link('q', 'attn', null, 0);
  link('k', 'attn');
  link('v', 'attn', null, 2);
  node('o_proj', 'linear', 'o_proj', `${dModel} → ${dModel}`, 4);
  link('attn', 'o_proj');
  node('add1', 'add', '+', null, 5);
  link('o_proj', 'add1');
  node('norm2', 'norm', 'RMSNorm', null, 6);
  link('add1', 'norm2');
  node('mlp', 'mlp', 'SwiGLU MLP', `${dModel} → ${dFf} → ${dModel}`, 7);
  link('norm2', 'mlp');
  node('add2', 'add', '+', null, 8);
  link('mlp', 'add2');
  node('output', 'io', 'output', null, 9);
  link('add2', 'output');

  const layers = `${size(model.n_layer)} ${model.n_layer === 1 ? 'layer' : 'layers'}`;
  const dims = `d_model ${dModel} · n_head ${nHead} · d_ff ${dFf} · ${layers}`;
  const sentences = [
    `Q, K and V project d_model ${dModel} for causal attention with ${nHead} heads of width ${headDim}, using ${positions}.`,
    `o_proj maps the heads back to d_model ${dModel}, added to the residual.`,
    `A SwiGLU MLP of width ${dFf} follows, with its own RMSNorm and residual.`,
  ];
  return {
    architecture: 'transformer',
    title: BLOCK_TITLES.transformer,
    dims,
    nodes,
    edges,
    residuals: [
      { from: 'input', to: 'add1' },
      { from: 'add1', to: 'add2' },
    ],
    ssm: null,
    hasConv: false,
    gate: null,
    columns: 10,
    rows: 3,
    ariaLabel: spoken(`Block diagram of the ${BLOCK_TITLES.transformer}, ${dims}. ${sentences.join(' ')}`),
    caption: sentences.join(' '),
  };
}
