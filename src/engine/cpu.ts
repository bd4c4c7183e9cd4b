import type { ResolvedModelConfig, TrainConfig } from '../model/config';
import { attentionProbs } from '../model/attentionOps';
import { MambaModel } from '../model/mamba';
import { buildModelLayout } from '../model/models';
import { AdamW } from '../model/optimizer';
import type { ParamLayout } from '../model/params';
import type { Vec } from '../model/ops';
import { TransformerModel } from '../model/transformer';
import { checkTrainingState, type Batch, type Engine, type ProbeResult, type StepMetrics, type TrainingState } from './types';

/** Runs the TypeScript reference of either architecture: slow but dependable, and the oracle for the GPU engines. */
export class CpuEngine implements Engine {
  readonly kind = 'cpu' as const;
  readonly layout: ParamLayout;
  private readonly model: MambaModel | TransformerModel;
  private readonly params: Float32Array;
  private readonly optimizer: AdamW;
  private lossSum = 0;
  private hitSum = 0;
  private answerSum = 0;
  private steps = 0;

  constructor(
    readonly config: ResolvedModelConfig,
    readonly train: TrainConfig,
    initialParams: Float32Array,
    readonly description = 'CPU',
  ) {
    this.layout = buildModelLayout(config);
    if (initialParams.length !== this.layout.totalSize) {
      throw new Error(`initial parameters have ${initialParams.length} floats; the layout needs ${this.layout.totalSize}`);
    }
    this.model = config.architecture === 'transformer' ? new TransformerModel(config, this.layout) : new MambaModel(config, this.layout);
    this.params = initialParams.slice();
    this.optimizer = new AdamW(this.layout, train);
  }

  step(batch: Batch, step: number, learningRate: number): void {
    const { batch_size: b, seq_len: l } = this.train;
    const r = this.model.lossAndGrad(this.params, batch.inputs, batch.targets, batch.mask, b, l);
    this.optimizer.step(this.params, r.grads, step, learningRate);

    // Weight by answer count, so the average over several steps is per answer, as on the GPU.
    this.lossSum += r.loss * r.answerCount;
    this.hitSum += r.accuracy * r.answerCount;
    this.answerSum += r.answerCount;
    this.steps++;
  }

  async readMetrics(): Promise<StepMetrics> {
    const n = this.answerSum;
    const metrics = { loss: n > 0 ? this.lossSum / n : NaN, accuracy: n > 0 ? this.hitSum / n : NaN, steps: this.steps };
    this.lossSum = this.hitSum = this.answerSum = this.steps = 0;
    return metrics;
  }

  async probe(tokens: Int32Array): Promise<ProbeResult> {
    const l = tokens.length;
    const vocab = this.config.vocab_size;
    let logits: Vec;
    const result: ProbeResult = { delta: [], states: [], attention: [], predictions: new Int32Array(l) };
    if (this.model instanceof TransformerModel) {
      const { n_head: nh, head_dim: hd } = this.model.cfg;
      const fwd = this.model.forward(this.params, tokens, 1, l);
      logits = fwd.logits;
      result.attention = fwd.blocks.map((c) => attentionProbs(c.q, c.k, c.lse, l, nh, hd));
    } else {
      const fwd = this.model.forward(this.params, tokens, 1, l, true);
      logits = fwd.logits;
      result.delta = fwd.layers.map((c) => Float32Array.from(c.delta));
      result.states = fwd.layers.map((c) => Float32Array.from(c.states!));
    }
    for (let t = 0; t < l; t++) {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logits[t * vocab + v] > logits[t * vocab + best]) best = v;
      result.predictions[t] = best;
    }
    return result;
  }

  async readParams(): Promise<Float32Array> {
    return this.params.slice();
  }

  async readTrainingState(): Promise<TrainingState> {
    return { params: this.params.slice(), m: this.optimizer.m.slice(), v: this.optimizer.v.slice() };
  }

  writeTrainingState(state: TrainingState): void {
    checkTrainingState(state, this.layout.totalSize);
    this.params.set(state.params);
    this.optimizer.m.set(state.m);
    this.optimizer.v.set(state.v);
  }

  dispose(): void {
    // Plain arrays only; the garbage collector frees them.
  }
}
