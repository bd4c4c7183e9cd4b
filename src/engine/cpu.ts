import type { ResolvedConfig, TrainConfig } from '../model/config';
import { MambaModel } from '../model/mamba';
import { AdamW } from '../model/optimizer';
import { buildLayout, type ParamLayout } from '../model/params';
import type { Batch, Engine, ProbeResult, StepMetrics } from './types';

/** Runs the TypeScript reference: slow but dependable, and the oracle for the GPU engine. */
export class CpuEngine implements Engine {
  readonly kind = 'cpu' as const;
  readonly layout: ParamLayout;
  private readonly model: MambaModel;
  private readonly params: Float32Array;
  private readonly optimizer: AdamW;
  private lossSum = 0;
  private hitSum = 0;
  private answerSum = 0;
  private steps = 0;

  constructor(
    readonly config: ResolvedConfig,
    readonly train: TrainConfig,
    initialParams: Float32Array,
    readonly description = 'CPU',
  ) {
    this.layout = buildLayout(config);
    if (initialParams.length !== this.layout.totalSize) {
      throw new Error(`initial parameters have ${initialParams.length} floats; the layout needs ${this.layout.totalSize}`);
    }
    this.model = new MambaModel(config, this.layout);
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
    const fwd = this.model.forward(this.params, tokens, 1, l, true);
    const vocab = this.config.vocab_size;
    const predictions = new Int32Array(l);
    for (let t = 0; t < l; t++) {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (fwd.logits[t * vocab + v] > fwd.logits[t * vocab + best]) best = v;
      predictions[t] = best;
    }
    return {
      delta: fwd.layers.map((c) => Float32Array.from(c.delta)),
      states: fwd.layers.map((c) => Float32Array.from(c.states!)),
      predictions,
    };
  }

  async readParams(): Promise<Float32Array> {
    return this.params.slice();
  }

  dispose(): void {
    // Plain arrays only; the garbage collector frees them.
  }
}
