import { describe, expect, it } from 'vitest';
import type { EngineInfo, MetricsEvent } from '../protocol';
import { formatAccuracy, formatLoss, formatRate, statusText } from './format';

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

describe('statusText', () => {
  it('reports step, loss, accuracy and engine', () => {
    expect(statusText('running', false, metrics, webgpu)).toBe(
      'Training · step 120 · loss 1.234 · accuracy 56.3% · WebGPU (SwiftShader)',
    );
  });

  it('shows dashes before the first metrics', () => {
    expect(statusText('idle', false, null, null)).toBe('Ready · step 0 · loss – · accuracy –');
  });

  it('says when the model is being built', () => {
    expect(statusText('idle', true, null, webgpu)).toMatch(/^Building the model · /);
  });
});

describe('number formats', () => {
  it('formats loss and accuracy', () => {
    expect(formatLoss(0.5)).toBe('0.500');
    expect(formatLoss(NaN)).toBe('NaN');
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
