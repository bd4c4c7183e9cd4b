import { describe, expect, it } from 'vitest';
import { validateTrainConfig } from './model/config';
import { resolveModelConfig } from './model/models';
import { validateTask } from './tasks';
import { DEFAULT_PRESET, findPreset, PRESETS } from './presets';

describe('presets', () => {
  for (const preset of PRESETS) {
    it(`${preset.name} preset is valid`, () => {
      const { run } = preset;
      expect(() => resolveModelConfig(run.model)).not.toThrow();
      expect(() => validateTrainConfig(run.train)).not.toThrow();
      expect(validateTask(run.task, run.train.seq_len)).toEqual([]);
      expect(run.model.vocab_size).toBe(run.task.vocab_size);
      expect(run.preset).toBe(preset.name);
      expect(preset.label.length).toBeGreaterThan(0);
      expect(preset.description.length).toBeGreaterThan(0);
    });
  }

  it('preset names are unique', () => {
    const names = PRESETS.map((preset) => preset.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('findPreset returns default preset', () => {
    expect(findPreset(DEFAULT_PRESET)?.label).toBe('Selective copying (small)');
  });

  it('findPreset returns undefined for unknown', () => {
    expect(findPreset('no-such-preset')).toBeUndefined();
  });

  it('selective copying small has 56-token context', () => {
    const run = findPreset('selective-copying-small')!.run;
    expect(run.task).toEqual({ kind: 'selective-copying', vocab_size: 16, n_data: 8 });
    expect(run.train.seq_len).toBe(64);
  });
});
