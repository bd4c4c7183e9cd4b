import { describe, expect, it } from 'vitest';
import type { EngineInfo, MetricsEvent } from '../protocol';
import { engineLabel, formatAccuracy, formatDuration, formatLoss, formatRate, statusText, type RunActivity } from './format';

const metrics: MetricsEvent = {
  type: 'metrics',
  step: 120,
  loss: 1.23449,
  accuracy: 0.5625,
  msPerStep: 4,
  stepsPerSecond: 250,
  tokensPerSecond: 16000,
  elapsedMs: 480,
};
const webgpu: EngineInfo = { kind: 'webgpu', description: 'WebGPU (SwiftShader)', fallbackReason: null, parameterCount: 10 };
const cpuChosen: EngineInfo = { kind: 'cpu', description: 'CPU', fallbackReason: null, parameterCount: 10 };
const cpuFallback: EngineInfo = { kind: 'cpu', description: 'CPU', fallbackReason: 'no WebGPU adapter was found', parameterCount: 10 };

const activity = (status: RunActivity['status'], more: Partial<RunActivity> = {}): RunActivity => ({
  status,
  configuring: false,
  pausing: false,
  ...more,
});

describe('statusText', () => {
  it('reports step, loss, accuracy and engine', () => {
    expect(statusText(activity('running'), metrics, webgpu.description)).toBe(
      'Training · step 120 · loss 1.23 · accuracy 56.3% · WebGPU (SwiftShader)',
    );
  });

  it('shows dashes before the first metrics', () => {
    expect(statusText(activity('idle'), null, null)).toBe('Ready · step 0 · loss – · accuracy –');
  });

  it('says when the model is being built', () => {
    expect(statusText(activity('idle', { configuring: true }), null, 'CPU')).toMatch(/^Building the model · /);
  });

  it('says when a pause is in flight', () => {
    expect(statusText(activity('running', { pausing: true }), metrics, null)).toMatch(/^Pausing after the step in flight… · step 120/);
  });

  it('drops the pause note once paused', () => {
    expect(statusText(activity('paused', { pausing: true }), metrics, null)).toMatch(/^Paused · /);
  });
});

describe('engineLabel', () => {
  it('names the WebGPU adapter', () => {
    expect(engineLabel(webgpu, 'webgpu')).toBe('WebGPU (SwiftShader)');
  });

  it('marks a chosen CPU engine', () => {
    expect(engineLabel(cpuChosen, 'cpu')).toBe('CPU (chosen)');
  });

  it('marks a CPU fallback', () => {
    expect(engineLabel(cpuFallback, 'auto')).toBe('CPU (WebGPU not used)');
  });
});

describe('formatLoss', () => {
  it('keeps 3 significant digits', () => {
    expect(formatLoss(1.23449)).toBe('1.23');
    expect(formatLoss(0.5)).toBe('0.500');
    expect(formatLoss(0.00123)).toBe('0.00123');
  });

  it('uses an exponent below 0.001', () => {
    expect(formatLoss(0.000000123)).toBe('1.23e-7');
    expect(formatLoss(0.0004)).toBe('4.00e-4');
  });

  it('prints zero and non-finite values', () => {
    expect(formatLoss(0)).toBe('0.00');
    expect(formatLoss(NaN)).toBe('NaN');
  });
});

describe('number formats', () => {
  it('formats accuracy', () => {
    expect(formatAccuracy(1)).toBe('100.0%');
  });

  it('formats rates with suffixes', () => {
    expect(formatRate(12.345)).toBe('12.3');
    expect(formatRate(950)).toBe('950');
    expect(formatRate(12_300)).toBe('12.3k');
    expect(formatRate(4_560_000)).toBe('4.56M');
    expect(formatRate(Infinity)).toBe('–');
  });
});

describe('formatDuration', () => {
  it('picks the unit by size', () => {
    expect(formatDuration(400)).toBe('< 1 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
  });

  it('rejects negative and infinite times', () => {
    expect(formatDuration(-1)).toBe('–');
    expect(formatDuration(Infinity)).toBe('–');
  });
});
