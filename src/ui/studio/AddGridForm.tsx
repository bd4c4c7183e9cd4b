import { useId, useMemo, useState } from 'react';
import { useAppStore } from '../../store';
import { ENGINE_PREFERENCES } from '../../store/url';
import type { EnginePreference } from '../../protocol';
import { estimateGridRunMs, findStudioGrid, isFullSize, smallerGrid, SMOKE_TEST_GRIDS, tokensPerRun } from '../../studio/grids';
import { GRID_PRESETS, type GridPreset } from '../../studio/paperPresets';
import { formatCount, formatDuration } from '../format';
import { formatPowerOfTwo } from '../../charts/ticks';

const ENGINE_LABELS: Record<EnginePreference, string> = {
  auto: 'WebGPU where available, else CPU',
  webgpu: 'WebGPU',
  cpu: 'CPU',
};

/** The grid selected first: the first paper grid that is not full size. */
const FIRST_GRID = GRID_PRESETS.find((grid) => !isFullSize(grid)) ?? GRID_PRESETS[0];

/** Describes what one run of the grid trains: "1,500 steps of 16 sequences of 64 tokens". */
function trainingText(grid: GridPreset): string {
  const steps = [...new Set(grid.runs.map((row) => row.config.max_steps))].sort((a, b) => a - b);
  const { batch_size: batch, seq_len: length } = grid.runs[0].config.train;
  const stepsText = steps.map(formatCount).join(' or ');
  return `${stepsText} steps of ${formatCount(batch)} sequences of ${formatCount(length)} tokens`;
}

/** Lists the grid's runs by quoted name, with each run's steps when they differ between runs. */
function runsText(grid: GridPreset): string {
  const differentSteps = new Set(grid.runs.map((row) => row.config.max_steps)).size > 1;
  const names = grid.runs.map((row) => (differentSteps ? `“${row.name}” (${formatCount(row.config.max_steps)} steps)` : `“${row.name}”`));
  return `${grid.runs.length} runs: ${names.join(', ')}.`;
}

/** Renders the time estimate of one run, from the runs already trained, or why there is none. */
function EstimateText({ grid }: { grid: GridPreset }) {
  const runs = useAppStore((state) => state.studioRuns);
  const estimate = useMemo(() => estimateGridRunMs(grid, runs), [grid, runs]);
  if (!estimate) return <>Time per run: estimated once a run in the list has trained a few steps.</>;
  const lo = Math.min(...estimate);
  const hi = Math.max(...estimate);
  const range = lo === hi || formatDuration(lo) === formatDuration(hi) ? formatDuration(hi) : `${formatDuration(lo)} to ${formatDuration(hi)}`;
  return <>Time per run: about {range}, a rough estimate from the speed of the runs trained so far on this device.</>;
}

/**
 * The warning on a full-size paper grid, with its scaled-down version to pick instead.
 * The time compares tokens per run with the small version's, which trains in minutes.
 */
function FullSizeWarning({ grid }: { grid: GridPreset }) {
  const small = smallerGrid(grid);
  const longest = Math.max(...(grid.extrapolation?.lengths ?? [0]));
  const ratio = small ? Math.round(tokensPerRun(grid) / tokensPerRun(small)) : null;
  return (
    <p className="grid-warning" role="note">
      <strong>Full paper setting: this takes very long.</strong> Each run trains {trainingText(grid)},{' '}
      {formatCount(tokensPerRun(grid))} tokens in all.
      {small && ratio !== null
        ? ` That is ${formatCount(ratio)} times the tokens of “${small.label}”, so each run takes about ${formatCount(ratio)} times as long as one of the small version. For a class, pick the small version.`
        : ' Expect days or more per run in a browser.'}
      {longest > 0 && ` Testing at up to ${formatCount(longest)} tokens then runs on the CPU for hours more.`}
    </p>
  );
}

/**
 * Adds a grid from the Mamba paper to the queue: one run per row of a table, such as
 * the six block and SSM combinations of Table 1, each carrying the paper's published
 * accuracy. Smoke-test grids for the app's own tests are listed apart.
 */
export function AddGridForm() {
  const trainEngine = useAppStore((state) => state.run.engine);
  const addGridRuns = useAppStore((state) => state.addGridRuns);
  const [gridName, setGridName] = useState(FIRST_GRID.name);
  const [engine, setEngine] = useState<EnginePreference>(trainEngine);
  const [errors, setErrors] = useState<string[]>([]);
  const [added, setAdded] = useState<string | null>(null);
  const id = useId();
  const grid = findStudioGrid(gridName) ?? FIRST_GRID;
  const lengths = grid.extrapolation?.lengths ?? [];

  const add = () => {
    const result = addGridRuns(grid.name, engine);
    setErrors(result.ok ? [] : result.errors);
    setAdded(result.ok ? `Added ${result.runs.length} runs of “${grid.label}” to the queue.` : null);
  };

  return (
    <div className="add-runs add-grid">
      <h3>Add a grid from the Mamba paper</h3>
      <div className="add-runs-grid">
        <div className="field">
          <label htmlFor={`${id}-grid`} className="field-name">
            Paper grid
          </label>
          <select
            id={`${id}-grid`}
            value={grid.name}
            onChange={(event) => {
              setGridName(event.target.value);
              setAdded(null);
            }}
          >
            {GRID_PRESETS.map((option) => (
              <option key={option.name} value={option.name}>
                {option.label} · {option.runs.length} runs{isFullSize(option) ? ' · full size, very long' : ''}
              </option>
            ))}
            <optgroup label="Smoke tests of the app, not results">
              {SMOKE_TEST_GRIDS.map((option) => (
                <option key={option.name} value={option.name}>
                  {option.label} · {option.runs.length} runs
                </option>
              ))}
            </optgroup>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-engine`} className="field-name">
            Engine of its runs
          </label>
          <select id={`${id}-engine`} value={engine} onChange={(event) => setEngine(event.target.value as EnginePreference)}>
            {ENGINE_PREFERENCES.map((option) => (
              <option key={option} value={option}>
                {ENGINE_LABELS[option]}
              </option>
            ))}
          </select>
        </div>
        <div className="button-row">
          <button type="button" onClick={add}>
            Add grid
          </button>
        </div>
      </div>
      <p className="grid-description">{grid.description}</p>
      <p className="grid-facts">
        {runsText(grid)} Each trains {trainingText(grid)}.{' '}
        <EstimateText grid={grid} />
        {lengths.length > 0 &&
          ` After training, press Evaluate in the Length extrapolation panel to test at lengths ${formatPowerOfTwo(Math.min(...lengths))} to ${formatPowerOfTwo(Math.max(...lengths))}.`}
      </p>
      {isFullSize(grid) && <FullSizeWarning grid={grid} />}
      {added && (
        <p className="grid-added" role="status">
          {added}
        </p>
      )}
      {errors.length > 0 && (
        <ul className="field-message" role="alert">
          {errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
