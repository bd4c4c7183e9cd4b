import { describe, expect, it } from 'vitest';
import { DEFAULT_PRESET, findPreset, PRESETS } from '../presets';
import { decodeRunQuery, encodeRunQuery, hiddenFieldLinkErrors } from './url';

describe('encodeRunQuery and decodeRunQuery', () => {
  for (const preset of PRESETS) {
    it(`round-trips the ${preset.name} preset`, () => {
      const decoded = decodeRunQuery(encodeRunQuery(preset.run));
      expect(decoded.errors).toEqual({});
      expect(decoded.run).toEqual(preset.run);
    });
  }

  it('round-trips an edited run', () => {
    const run = structuredClone(findPreset('selective-copying-small')!.run);
    run.model.d_model = 48;
    run.train.learning_rate = 0.0007;
    run.engine = 'cpu';
    run.max_steps = 500;
    const decoded = decodeRunQuery(`?${encodeRunQuery(run)}`);
    expect(decoded.errors).toEqual({});
    expect(decoded.run).toEqual(run);
  });
});

describe('decodeRunQuery', () => {
  it('opens the default preset without a query', () => {
    const { run, errors } = decodeRunQuery('');
    expect(errors).toEqual({});
    expect(run).toEqual(findPreset(DEFAULT_PRESET)!.run);
  });

  it('opens a preset by name', () => {
    const { run, errors } = decodeRunQuery('?preset=e2e-tiny');
    expect(errors).toEqual({});
    expect(run).toEqual(findPreset('e2e-tiny')!.run);
  });

  it('reports an unknown preset', () => {
    const { run, errors } = decodeRunQuery('?preset=huge');
    expect(errors.preset).toContain('preset = "huge" is not known');
    expect(run.preset).toBe(DEFAULT_PRESET);
  });

  it('keeps valid values beside a rejected one', () => {
    const { run, errors } = decodeRunQuery('?d_model=5000&n_layer=3&seed=abc');
    expect(errors.d_model).toContain('d_model = 5000 is out of range');
    expect(errors.seed).toContain('seed = "abc" is not a number');
    expect(errors.n_layer).toBeUndefined();
    expect(run.model.n_layer).toBe(3);
    expect(run.model.d_model).toBe(64);
    expect(run.train.seed).toBe(1);
  });

  it('accepts values that fit only together', () => {
    const { run, errors } = decodeRunQuery('?seq_len=8&n_data=4');
    expect(errors).toEqual({});
    expect(run.train.seq_len).toBe(8);
    expect(run.task).toMatchObject({ n_data: 4 });
  });

  it('drops a value that conflicts with the preset', () => {
    const { run, errors } = decodeRunQuery('?seq_len=10');
    expect(errors.seq_len).toContain('seq_len = 10 conflicts with other fields');
    expect(errors.seq_len).toContain('n_data = 8 does not fit');
    expect(run.train.seq_len).toBe(64);
  });

  it('drops a task value that fails the task rule', () => {
    const { run, errors } = decodeRunQuery('?n_data=40');
    expect(errors.n_data).toContain('n_data = 40 does not fit in seq_len = 64');
    expect(run.task).toMatchObject({ n_data: 8 });
  });

  it('switches the task kind', () => {
    const { run, errors } = decodeRunQuery('?task=induction-heads&n_data=3');
    expect(run.task).toEqual({ kind: 'induction-heads', vocab_size: 16 });
    expect(errors.n_data).toContain('does not apply');
  });

  it('reports an unknown task and engine', () => {
    const { run, errors } = decodeRunQuery('?task=sorting&engine=tpu');
    expect(errors.task).toContain('task = "sorting" is not known');
    expect(errors.engine).toContain('engine = "tpu" is not known');
    expect(run.task.kind).toBe('selective-copying');
    expect(run.engine).toBe('auto');
  });

  it('sets vocab_size on task and model together', () => {
    const { run } = decodeRunQuery('?vocab_size=10');
    expect(run.task.vocab_size).toBe(10);
    expect(run.model.vocab_size).toBe(10);
  });
});

describe('hiddenFieldLinkErrors', () => {
  it('lists fields the task does not have', () => {
    const { run, errors } = decodeRunQuery('?preset=induction-heads-small&n_data=3&d_model=0');
    const hidden = hiddenFieldLinkErrors(errors, run);
    expect(hidden.map(([key]) => key)).toEqual(['n_data']);
    expect(hidden[0][1]).toContain('n_data does not apply to the induction-heads task');
  });

  it('leaves out shown fields and non-field keys', () => {
    const { run, errors } = decodeRunQuery('?preset=huge&engine=tpu&d_model=0');
    expect(Object.keys(errors).sort()).toEqual(['d_model', 'engine', 'preset']);
    expect(hiddenFieldLinkErrors(errors, run)).toEqual([]);
  });
});

describe('decodeRunQuery number text', () => {
  it('rejects a hexadecimal value', () => {
    const { run, errors } = decodeRunQuery('?d_model=0x10');
    expect(errors.d_model).toContain('d_model = "0x10" is not written in decimal digits');
    expect(run.model.d_model).toBe(64);
  });
});

describe('architecture and ablations in the link', () => {
  it('round-trips a Transformer run', () => {
    const link = '?preset=selective-copying-small&architecture=transformer&n_head=2&positions=absolute';
    const { run, errors } = decodeRunQuery(link);
    expect(errors).toEqual({});
    expect(run.model).toMatchObject({ architecture: 'transformer', n_head: 2, positions: 'absolute', max_len: 64 });
    expect(decodeRunQuery(encodeRunQuery(run)).run).toEqual(run);
  });

  it('round-trips ablations', () => {
    const { run, errors } = decodeRunQuery('?selective_delta=false&selective_B=false&selective_C=false&block=h3&a_init=constant');
    expect(errors).toEqual({});
    expect(run.model).toMatchObject({ selective_delta: false, selective_B: false, selective_C: false, block: 'h3', a_init: 'constant' });
    expect(decodeRunQuery(encodeRunQuery(run)).run).toEqual(run);
  });

  it('rejects unknown values and fields of the other architecture by name', () => {
    const { run, errors } = decodeRunQuery('?architecture=transformer&block=h3&d_state=8&positions=learned');
    expect(run.model.architecture).toBe('transformer');
    expect(errors.block).toBe('block does not apply to the transformer architecture, so it was ignored');
    expect(errors.d_state).toBe('d_state does not apply to the transformer architecture, so it was ignored');
    expect(errors.positions).toBe('positions = "learned" is not known: use rope, absolute');
    expect(hiddenFieldLinkErrors(errors, run).map(([key]) => key).sort()).toEqual(['block', 'd_state']);
  });
});

describe('unknown link keys', () => {
  it('names a misspelt setting and suggests the closest one', () => {
    const { unknownKeys, errors } = decodeRunQuery('?d_stat=4&colour=blue&compare=v1.x');
    expect(unknownKeys).toEqual(['d_stat is not a setting: did you mean d_state?', 'colour is not a setting: it was ignored']);
    expect(errors).toEqual({});
  });

  it('reports nothing for a link the app wrote', () => {
    expect(decodeRunQuery(encodeRunQuery(findPreset('e2e-tiny')!.run)).unknownKeys).toEqual([]);
  });
});
