import { useId, useMemo } from 'react';
import type { MemorySpeedPoint, MemorySpeedSeries } from '../bench/memorySpeedTypes';
import { createLogLogChart, type LogLogChartOptions, type LogLogData, type LogLogRule } from '../charts/logLogChart';
import { useAppStore } from '../store';
import type { MemorySpeedField } from '../store/memorySpeedSlice';
import {
  cellText, crossoverText, DECODE_SIZE_SERIES, DECODE_TIME_SERIES, formatBytes, formatMs, MEMORY_SERIES, ratioText, skipGroups,
  TIME_SERIES, timingText, toLogLogSeries, type SeriesSpec,
} from './memorySpeedData';
import { useChart } from './useChart';

function MemoryField({ field, label, help }: { field: MemorySpeedField; label: string; help: string }) {
  const text = useAppStore((state) => state.memoryTexts[field]);
  const error = useAppStore((state) => state.memoryFieldErrors[field]);
  const running = useAppStore((state) => state.memoryStatus === 'running');
  const setMemoryField = useAppStore((state) => state.setMemoryField);
  const id = useId();
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <div className="field-label">
        <label htmlFor={id} className="field-name">
          {label}
        </label>
        <span className="field-help">{help}</span>
      </div>
      <input
        id={id}
        type="text"
        value={text}
        disabled={running}
        aria-invalid={error ? true : undefined}
        onChange={(event) => setMemoryField(field, event.target.value)}
      />
      {error && (
        <p className="field-message" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

interface SweepChartProps {
  label: string;
  xLabel: string;
  yLabel: string;
  formatY?: (y: number) => string;
  specs: SeriesSpec[];
  points: MemorySpeedPoint[];
  rules?: LogLogRule[];
  caption?: string;
}

function SweepChart({ label, xLabel, yLabel, formatY, specs, points, rules, caption }: SweepChartProps) {
  const options = useMemo<LogLogChartOptions>(
    () => ({ label, xLabel, yLabel, formatY, slopeLabels: true, height: 240 }),
    [label, xLabel, yLabel, formatY],
  );
  const data = useMemo<LogLogData>(() => ({ series: toLogLogSeries(points, specs), rules, caption }), [points, specs, rules, caption]);
  const ref = useChart(createLogLogChart, options, data);
  return <div ref={ref} className="chart-host" />;
}

function Cell({ point, series, format }: { point: MemorySpeedPoint; series: MemorySpeedSeries; format: (value: number) => string }) {
  const { text, title } = cellText(point, series, format);
  return (
    <td title={title} className={title ? 'skipped-cell' : undefined}>
      {text}
    </td>
  );
}

function TimeTable({ points }: { points: MemorySpeedPoint[] }) {
  return (
    <table className="bench-table memory-time-table">
      <caption>Time per run (ms) at batch 1</caption>
      <thead>
        <tr>
          <th>length</th>
          <th>Mamba fwd</th>
          <th>Mamba fwd+bwd</th>
          <th>tiled attention fwd</th>
          <th>tiled attention fwd+bwd</th>
          <th>naive attention fwd</th>
          <th>naive attention fwd+bwd</th>
          <th>tiled attention / Mamba (fwd+bwd)</th>
          <th>naive attention / Mamba (fwd+bwd)</th>
        </tr>
      </thead>
      <tbody>
        {points.map((p) => (
          <tr key={p.length}>
            <td>{p.length}</td>
            {TIME_SERIES.map((s) => (
              <Cell key={s.key} point={p} series={s.key} format={formatMs} />
            ))}
            <td>{ratioText(p.attention_fwd_bwd_ms, p.mamba_fwd_bwd_ms)}</td>
            <td>{ratioText(p.attention_naive_fwd_bwd_ms, p.mamba_fwd_bwd_ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MemoryTable({ points }: { points: MemorySpeedPoint[] }) {
  return (
    <table className="bench-table memory-bytes-table">
      <caption>Peak memory of forward + backward, and decoding</caption>
      <thead>
        <tr>
          <th>length</th>
          <th>Mamba</th>
          <th>tiled attention</th>
          <th>naive attention</th>
          <th>tiled / Mamba</th>
          <th>naive / Mamba</th>
          <th>Mamba decoding (ms/token)</th>
          <th>attention decoding (ms/token)</th>
          <th>attention / Mamba (decoding)</th>
          <th>Mamba state</th>
          <th>attention cache</th>
          <th>cache / state</th>
        </tr>
      </thead>
      <tbody>
        {points.map((p) => (
          <tr key={p.length}>
            <td>{p.length}</td>
            <Cell point={p} series="mamba_bytes" format={formatBytes} />
            <Cell point={p} series="attention_bytes" format={formatBytes} />
            <Cell point={p} series="attention_naive_bytes" format={formatBytes} />
            <td>{ratioText(p.attention_bytes, p.mamba_bytes)}</td>
            <td>{ratioText(p.attention_naive_bytes, p.mamba_bytes)}</td>
            <Cell point={p} series="mamba_decode_ms_per_token" format={formatMs} />
            <Cell point={p} series="attention_decode_ms_per_token" format={formatMs} />
            <td>{ratioText(p.attention_decode_ms_per_token, p.mamba_decode_ms_per_token)}</td>
            <Cell point={p} series="mamba_decode_state_bytes" format={formatBytes} />
            <Cell point={p} series="attention_decode_cache_bytes" format={formatBytes} />
            <td>{ratioText(p.attention_decode_cache_bytes, p.mamba_decode_state_bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SkippedList({ points }: { points: MemorySpeedPoint[] }) {
  const groups = skipGroups(points);
  if (groups.length === 0) return null;
  return (
    <details className="bench-skipped">
      <summary>Not measured ({groups.length})</summary>
      <ul>
        {groups.map((g) => (
          <li key={g.reason}>
            {g.series.join(', ')} at {g.lengths.join(', ')}: {g.reason}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** Explains what the charts show in a few sentences, for a class that has not met either model. */
function Explanation() {
  return (
    <div className="panel-help memory-explanation">
      <p>
        Attention compares every token with every token before it. Double the length and there are twice as many tokens,
        each looking at twice as many others: four times the work. On these log–log axes that is a straight line of
        slope 2. Mamba carries a state of fixed size along the sequence and updates it once per token, so twice the
        length is twice the work: slope 1.
      </p>
      <p>
        The naive attention block also stores the whole length × length table of attention weights, so its memory grows
        with slope 2 and is the first to run out of GPU memory. The tiled block computes the same result in tiles and
        never stores that table, so its memory grows with slope 1, but its time still grows with slope 2.
      </p>
      <p>
        When a model writes text one token at a time, attention must read the keys and values of every earlier token
        (its cache), which grows with the context. Mamba reads only its state, whose size does not depend on the
        context. At short lengths attention can still be faster, because the GPU runs its work in parallel; the
        crossover is the length from which Mamba stays faster.
      </p>
    </div>
  );
}

/**
 * Shows the memory and speed sweep: how time and memory grow with sequence length
 * for a Mamba block and two attention blocks on the visitor's own GPU, the same
 * measurement as `npm run bench -- attention`.
 */
export function MemorySpeedPanel() {
  const status = useAppStore((state) => state.memoryStatus);
  const points = useAppStore((state) => state.memoryPoints);
  const result = useAppStore((state) => state.memoryResult);
  const runRequest = useAppStore((state) => state.memoryRunRequest);
  const error = useAppStore((state) => state.memoryError);
  const invalid = useAppStore((state) => Object.keys(state.memoryFieldErrors).length > 0);
  const runMemorySpeed = useAppStore((state) => state.runMemorySpeed);

  const crossoverRules = useMemo<LogLogRule[]>(
    () => (result?.crossover_length != null ? [{ x: result.crossover_length, label: `Mamba faster from ${result.crossover_length}` }] : []),
    [result],
  );
  const timing = useMemo(() => (result && runRequest ? timingText(result, runRequest.repeats) : undefined), [result, runRequest]);
  const decodeTimed = points.some((p) => p.mamba_decode_ms_per_token !== null || p.attention_decode_ms_per_token !== null);

  return (
    <section className="panel memory-speed" aria-labelledby="memory-speed-title">
      <div className="panel-header">
        <h2 id="memory-speed-title">Memory and speed: Mamba against attention on this GPU</h2>
      </div>
      <p className="panel-help">
        Runs one Mamba block and one attention block of the same width at each sequence length, at batch 1, and measures
        the time of a forward pass, of a forward and backward pass, and the peak GPU memory. Running it pauses training.
      </p>
      <div className="bench-form">
        <MemoryField field="lengths" label="lengths" help="tokens, comma separated, ascending" />
        <MemoryField field="d_model" label="d_model" help="width of both blocks" />
        <MemoryField field="n_head" label="n_head" help="attention heads, dividing d_model" />
        <MemoryField field="d_state" label="d_state" help="Mamba state size per channel" />
        <MemoryField field="repeats" label="repeats" help="timed runs per measurement" />
      </div>
      <div className="button-row">
        <button type="button" className="primary" disabled={status === 'running' || invalid} onClick={() => void runMemorySpeed()}>
          {status === 'running' ? 'Running…' : 'Run sweep'}
        </button>
      </div>
      {error && (
        <p className="field-message" role="alert">
          {error}
        </p>
      )}
      <p className="bench-note" aria-live="polite">
        {status === 'running' && runRequest && `Measuring: ${points.length} of ${runRequest.lengths.length} lengths done.`}
        {status === 'done' && result && `${result.device} · d_model ${result.d_model} · n_head ${result.n_head} · d_state ${result.d_state}`}
      </p>
      {result && <p className="memory-crossover">{crossoverText(result)}</p>}

      <h3>Time against length</h3>
      <SweepChart
        label="time against sequence length"
        xLabel="sequence length (tokens)"
        yLabel="time per run (ms)"
        specs={TIME_SERIES}
        points={points}
        rules={crossoverRules}
        caption={timing}
      />
      <h3>Peak memory against length</h3>
      <SweepChart
        label="peak memory against sequence length"
        xLabel="sequence length (tokens)"
        yLabel="peak GPU memory"
        formatY={formatBytes}
        specs={MEMORY_SERIES}
        points={points}
      />
      <h3>Decoding one token at a time</h3>
      <div className="memory-decode-charts">
        <SweepChart
          label="decoding time per token against context length"
          xLabel="context length (tokens)"
          yLabel="time per token (ms)"
          specs={DECODE_TIME_SERIES}
          points={points}
          caption={decodeTimed ? timing : undefined}
        />
        <SweepChart
          label="state and cache size against context length"
          xLabel="context length (tokens)"
          yLabel="size"
          formatY={formatBytes}
          specs={DECODE_SIZE_SERIES}
          points={points}
        />
      </div>

      {points.length > 0 && (
        <div className="table-scroll">
          <TimeTable points={points} />
          <MemoryTable points={points} />
        </div>
      )}
      <SkippedList points={points} />
      <Explanation />
    </section>
  );
}
