/**
 * Turns a probe event into heatmap and line chart data. Pure functions with no DOM.
 * Shapes follow ProbeEvent: delta[layer] is (l, d_inner) and states[layer] is
 * (l, d_inner, d_state), both row-major.
 */
import type { ColumnLabel } from '../charts/heatmap';
import type { LinePoint } from '../charts/lineChart';
import type { ProbeEvent } from '../protocol';
import { describeToken, type TaskConfig } from '../tasks';

/** Returns one label per probe token, with its role. An id outside the task's vocabulary prints as a number. */
export function tokenLabels(task: TaskConfig, probe: Pick<ProbeEvent, 'tokens' | 'roles'>): ColumnLabel[] {
  return probe.tokens.map((token, t) => {
    let text: string;
    try {
      text = describeToken(task, token);
    } catch {
      text = String(token);
    }
    return { text, role: probe.roles[t] ?? 'token' };
  });
}

/** h_t of one channel over time as (l, d_state), time-major, for the state heatmap. */
export function channelStates(states: Float32Array, length: number, dInner: number, dState: number, channel: number): Float32Array {
  const out = new Float32Array(length * dState);
  for (let t = 0; t < length; t++) {
    const offset = (t * dInner + channel) * dState;
    out.set(states.subarray(offset, offset + dState), t * dState);
  }
  return out;
}

/** ||h_t||, the Euclidean norm over d_state, at each position of one channel's (l, d_state) states. */
export function stateNorms(channel: Float32Array, length: number, dState: number): LinePoint[] {
  const points: LinePoint[] = [];
  for (let t = 0; t < length; t++) {
    let sum = 0;
    for (let n = 0; n < dState; n++) {
      const h = channel[t * dState + n];
      sum += h * h;
    }
    points.push({ x: t, y: Math.sqrt(sum) });
  }
  return points;
}

/** What the model outputs at one answer position of the probe, against the expected token. */
export interface ProbeAnswer {
  position: number;
  predicted: number;
  expected: number;
}

/**
 * The answer positions of the probe with the model's outputs and the expected tokens,
 * read from the tokens and roles alone. For selective copying the i-th marker expects
 * the i-th data token; for induction heads the last position expects the recall token.
 */
export function probeAnswers(task: TaskConfig, probe: Pick<ProbeEvent, 'tokens' | 'roles' | 'predictions'>): ProbeAnswer[] {
  const answers: ProbeAnswer[] = [];
  if (task.kind === 'selective-copying') {
    const data = probe.tokens.filter((_, t) => probe.roles[t] === 'data');
    let i = 0;
    probe.roles.forEach((role, t) => {
      if (role !== 'marker') return;
      if (i < data.length) answers.push({ position: t, predicted: probe.predictions[t], expected: data[i] });
      i++;
    });
    return answers;
  }

  const recall = probe.roles.indexOf('recall');
  const last = probe.tokens.length - 1;
  if (recall >= 0 && last >= 0) answers.push({ position: last, predicted: probe.predictions[last], expected: probe.tokens[recall] });
  return answers;
}
