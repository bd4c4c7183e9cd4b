/**
 * The length-extrapolation evaluator: scores a trained run's final weights on
 * induction heads at each test length of a grid's spec, with evaluateExtrapolation
 * on the CPU reference. It runs in a Web Worker of its own (evaluation.worker.ts),
 * apart from the trainer's, so a long evaluation neither blocks training nor the
 * page, and cancelling it ends that worker. It works unchanged under Node.
 */
import { ConfigError } from '../src/model/config';
import { buildModelLayout, resolveModelConfig } from '../src/model/models';
import { evaluateExtrapolation, type ExtrapolationPoint } from '../src/studio/evaluate';
import type { ExtrapolationApi, ExtrapolationRequest } from '../src/studio/extrapolationProtocol';
import type { ExtrapolationSpec } from '../src/studio/paperPresets';
import { validateRun } from './validateRun';

/** Shortest test length: induction heads needs a trigger, its recall token, another token and the final trigger. */
const MIN_TEST_LENGTH = 4;

/** Maximum test length, 2^20, the longest in the Mamba paper's induction-heads test. */
const MAX_TEST_LENGTH = 2 ** 20;

/** Returns one message per invalid value of the spec. */
export function specErrors(spec: ExtrapolationSpec): string[] {
  const errors: string[] = [];
  if (!Array.isArray(spec.lengths) || spec.lengths.length === 0) {
    errors.push('the test lengths are empty: list at least one length, such as 64');
  } else {
    for (const length of spec.lengths) {
      if (!Number.isInteger(length) || length < MIN_TEST_LENGTH || length > MAX_TEST_LENGTH) {
        errors.push(`test length ${length} is invalid: use an integer from ${MIN_TEST_LENGTH} to ${MAX_TEST_LENGTH}, such as 256`);
      }
    }
  }
  if (!Number.isInteger(spec.samples) || spec.samples < 1) {
    errors.push(`samples = ${spec.samples} is invalid: use a positive integer such as 64`);
  }
  for (const key of ['attentionMemoryLimit', 'attentionComputeLimit'] as const) {
    if (!(spec[key] >= 0)) errors.push(`${key} = ${spec[key]} is invalid: use a number of at least 0`);
  }
  return errors;
}

export class ExtrapolationEvaluator implements ExtrapolationApi {
  async evaluate(request: ExtrapolationRequest, onPoint?: (point: ExtrapolationPoint) => void): Promise<ExtrapolationPoint[]> {
    const { config: run, params, spec, seed } = request;
    try {
      validateRun(run);
    } catch (error) {
      if (error instanceof ConfigError) throw new Error(`the run's config is invalid: ${error.errors.map((e) => e.message).join('; ')}`);
      throw error;
    }
    if (run.task.kind !== 'induction-heads') {
      throw new Error(`length extrapolation is tested on induction heads, and this run trains ${run.task.kind}: add an induction-heads grid`);
    }
    const problems = specErrors(spec);
    if (problems.length > 0) throw new Error(`the extrapolation spec is invalid: ${problems.join('; ')}`);
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed = ${seed} is invalid: use an integer of at least 0`);

    const config = resolveModelConfig(run.model);
    const size = buildModelLayout(config).totalSize;
    if (!(params instanceof Float32Array) || params.length !== size) {
      const found = params instanceof Float32Array ? `${params.length} values` : 'no Float32Array';
      throw new Error(`the stored weights have ${found}, and this model needs ${size}: train this run again`);
    }
    return evaluateExtrapolation(config, params, run.task, spec, seed, onPoint);
  }
}
