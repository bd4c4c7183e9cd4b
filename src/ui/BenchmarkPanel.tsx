import { useId, useMemo, useState } from 'react';
import type { ScanBenchPoint } from '../bench/scanBench';
import { createLogLogChart, type LogLogChartOptions, type LogLogData } from '../charts/logLogChart';
import type { ScanBenchRequest } from '../protocol';
import { useAppStore } from '../store';
import { useChart } from './useChart';

type TimeKey = 'fused_fwd_ms' | 'fused_fwd_bwd_ms' | 'materializing_fwd_ms' | 'materializing_fwd_bwd_ms' | 'copy_ms';

const SERIES: { key: TimeKey; name: string; color: string; dashed?: boolean }[] = [
  { key: 'fused_fwd_ms', name: 'fused forward', color: '#4338ca' },
  { key: 'fused_fwd_bwd_ms', name: 'fused forward + backward', color: '#0f766e' },
  { key: 'materializing_fwd_ms', name: 'materializing forward', color: '#b45309', dashed: true },
  { key: 'materializing_fwd_bwd_ms', name: 'materializing forward + backward', color: '#b91c1c', dashed: true },
  { key: 'copy_ms', name: 'copy of the same bytes', color: '#64748b', dashed: true },
];

function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1) return ms.toPrecision(2);
  return ms.toFixed(ms < 10 ? 2 : 1);
}
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? '—' : `${(a / b).toFixed(1)}×`);

/** Effective bandwidth of the fused forward pass: the bytes it must move over its time, in GB/s (10⁹ bytes per second). */
export function bandwidthGBs(point: ScanBenchPoint): number | null {
  return point.fused_fwd_ms === null || point.fused_fwd_ms <= 0 ? null : point.bytes / (point.fused_fwd_ms * 1e6);
}

function BenchField({ field, label, help, initial }: { field: keyof ScanBenchRequest; label: string; help: string; initial: string }) {
  const [text, setText] = useState(initial);
  const error = useAppStore((state) => state.benchFieldErrors[field]);
  const running = useAppStore((state) => state.benchStatus === 'running');
  const setBenchField = useAppStore((state) => state.setBenchField);
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
        onChange={(event) => {
          setText(event.target.value);
          setBenchField(field, event.target.value);
        }}
      />
      {error && (
        <p className="field-message" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function TimeChart({ points }: { points: ScanBenchPoint[] }) {
  const options = useMemo<LogLogChartOptions>(
    () => ({ label: 'scan benchmark, time against length', xLabel: 'sequence length (tokens)', yLabel: 'time (ms)' }),
    [],
  );
  const data = useMemo<LogLogData>(
    () => ({
      series: SERIES.map((s) => ({
        name: s.name,
        color: s.color,
        dashed: s.dashed,
        points: points.map((p) => ({ x: p.length, y: p[s.key] })),
      })),
    }),
    [points],
  );
  const ref = useChart(createLogLogChart, options, data);
  return <div ref={ref} className="chart-host" />;
}

/**
 * Shows the in-app scan benchmark: the same measurement as `npm run bench -- scan`,
 * on the visitor's own GPU, drawn on log–log axes with the ratios in a table.
 */
export function BenchmarkPanel() {
  const request = useAppStore((state) => state.benchRequest);
  const status = useAppStore((state) => state.benchStatus);
  const points = useAppStore((state) => state.benchPoints);
  const device = useAppStore((state) => state.benchDevice);
  const timing = useAppStore((state) => state.benchTiming);
  const error = useAppStore((state) => state.benchError);
  const invalid = useAppStore((state) => Object.keys(state.benchFieldErrors).length > 0);
  const runBench = useAppStore((state) => state.runBench);

  const skipped = points.flatMap((p) => Object.entries(p.skipped ?? {}).map(([variant, reason]) => `${p.length}: ${variant}: ${reason}`));

  return (
    <section className="panel benchmark" aria-labelledby="benchmark-title">
      <div className="panel-header">
        <h2 id="benchmark-title">Benchmark: the selective scan on this GPU</h2>
      </div>
      <p className="panel-help">
        Times the fused scan, which keeps the expanded state (length × d_inner × d_state) in registers and workgroup
        memory, against a standard scan that writes the discretised Ā and B̄u to GPU memory, and against a copy of the
        bytes the fused scan must move, at batch 1. Running it pauses training. The fused scan should grow linearly
        with length (slope 1) and stay close to the copy.
      </p>
      <div className="bench-form">
        <BenchField field="lengths" label="lengths" help="tokens, comma separated" initial={request.lengths.join(',')} />
        <BenchField field="dInner" label="d_inner" help="channels" initial={String(request.dInner)} />
        <BenchField field="dState" label="d_state" help="state size per channel" initial={String(request.dState)} />
        <BenchField field="repeats" label="repeats" help="timed runs per kernel" initial={String(request.repeats)} />
      </div>
      <div className="button-row">
        <button type="button" className="primary" disabled={status === 'running' || invalid} onClick={() => void runBench()}>
          {status === 'running' ? 'Running…' : 'Run benchmark'}
        </button>
      </div>
      {error && (
        <p className="field-message" role="alert">
          {error}
        </p>
      )}
      <p className="bench-note" aria-live="polite">
        {status === 'running' && `Measuring: ${points.length} of ${request.lengths.length} lengths done.`}
        {status === 'done' &&
          `${device} · ${timing === 'gpu-timestamps' ? 'GPU timestamps' : 'wall time over repeated submissions (this device has no timestamp queries)'}`}
      </p>
      <TimeChart points={points} />
      {points.length > 0 && (
        <table className="bench-table">
          <thead>
            <tr>
              <th>length</th>
              <th>fused fwd (ms)</th>
              <th>fused fwd+bwd (ms)</th>
              <th>materializing fwd (ms)</th>
              <th>materializing fwd+bwd (ms)</th>
              <th>copy (ms)</th>
              <th>materializing / fused (fwd+bwd)</th>
              <th>fused / copy (fwd)</th>
              <th>fused GB/s</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => {
              const gbs = bandwidthGBs(p);
              return (
                <tr key={p.length}>
                  <td>{p.length}</td>
                  <td>{formatMs(p.fused_fwd_ms)}</td>
                  <td>{formatMs(p.fused_fwd_bwd_ms)}</td>
                  <td>{formatMs(p.materializing_fwd_ms)}</td>
                  <td>{formatMs(p.materializing_fwd_bwd_ms)}</td>
                  <td>{formatMs(p.copy_ms)}</td>
                  <td>{ratio(p.materializing_fwd_bwd_ms, p.fused_fwd_bwd_ms)}</td>
                  <td>{ratio(p.fused_fwd_ms, p.copy_ms)}</td>
                  <td>{gbs === null ? '—' : gbs.toPrecision(2)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {skipped.length > 0 && (
        <ul className="bench-skipped">
          {skipped.map((line) => (
            <li key={line}>Not measured at {line}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
