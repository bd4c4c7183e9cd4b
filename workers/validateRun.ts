/** The check a run config passes where it enters the trainer or the run queue. */
import { ConfigError, validateTrainConfig, type FieldError } from '../src/model/config';
import { checkModelForLength, resolveModelConfig } from '../src/model/models';
import type { RunConfig } from '../src/protocol';
import { validateTask } from '../src/tasks';

/** Checks a run config where it enters; throws ConfigError listing every bad field. */
export function validateRun(run: RunConfig) {
  const errors: FieldError[] = [];
  const collect = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError) errors.push(...err.errors);
      else throw err;
      return undefined;
    }
  };
  const config = collect(() => resolveModelConfig(run.model));
  const train = collect(() => validateTrainConfig(run.train));
  errors.push(...validateTask(run.task, run.train.seq_len));
  if (run.model.vocab_size !== run.task.vocab_size) {
    errors.push({
      field: 'vocab_size',
      message: `model vocab_size = ${run.model.vocab_size} does not match the task's vocab_size = ${run.task.vocab_size}: set both to the same value`,
    });
  }
  if (config) errors.push(...checkModelForLength(config, run.train.seq_len));
  if (!Number.isInteger(run.max_steps) || run.max_steps < 0) {
    errors.push({ field: 'max_steps', message: `max_steps = ${run.max_steps} is invalid: use 0 for no limit or a positive integer such as 2000` });
  }
  if (errors.length > 0 || !config || !train) throw new ConfigError(errors);
  return { config, train };
}
