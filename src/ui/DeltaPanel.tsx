import { useCallback, useMemo } from 'react';
import { logDomain } from '../charts/domains';
import { createHeatmap, type ColumnLabel, type HeatmapData, type HeatmapOptions } from '../charts/heatmap';
import { useAppStore } from '../store';
import type { ProbeEvent } from '../protocol';
import { describeToken, type TaskConfig } from '../tasks';
import { probeAnswers, tokenLabels } from './probeData';
import { ROLE_STYLES } from './roles';
import { useChart } from './useChart';

function DeltaHeatmap({ layer, data, onPick }: { layer: number; data: HeatmapData; onPick: (layer: number, channel: number) => void }) {
  const onCellClick = useCallback((_column: number, row: number) => onPick(layer, row), [layer, onPick]);
  const options = useMemo<HeatmapOptions>(
    () => ({
      label: `Δ heatmap, layer ${layer + 1}`,
      xLabel: 'position in the probe sequence',
      rowName: 'channel',
      valueName: 'Δ',
      color: 'log-sequential',
      roles: ROLE_STYLES,
      onCellClick,
    }),
    [layer, onCellClick],
  );
  const ref = useChart(createHeatmap, options, data);
  return (
    <figure className="heatmap-figure">
      <figcaption>Layer {layer + 1}</figcaption>
      <div ref={ref} className="chart-host" />
    </figure>
  );
}

/** Lists the model's answers on the probe sequence, marking the wrong ones with the expected token. */
export function ProbeAnswers({ task, probe }: { task: TaskConfig; probe: ProbeEvent }) {
  const answers = probeAnswers(task, probe);
  if (answers.length === 0) return null;
  const describe = (token: number) => {
    try {
      return describeToken(task, token);
    } catch {
      return String(token);
    }
  };
  const correct = answers.filter((a) => a.predicted === a.expected).length;
  return (
    <p className="probe-answers">
      Answers on this sequence: {correct} of {answers.length} correct.{' '}
      {answers.map((a) => (
        <span key={a.position} className={a.predicted === a.expected ? 'answer right' : 'answer wrong'} title={`position ${a.position}`}>
          {describe(a.predicted)}
          {a.predicted !== a.expected && <small> (expected {describe(a.expected)})</small>}
        </span>
      ))}
    </p>
  );
}

/** Renders one Δ heatmap per layer for the fixed probe sequence, all on one colour scale. */
export function DeltaPanel() {
  const probe = useAppStore((state) => state.probe);
  const task = useAppStore((state) => state.configuredRun?.task ?? state.run.task);
  const selectState = useAppStore((state) => state.selectState);

  const labels = useMemo<ColumnLabel[]>(() => (probe ? tokenLabels(task, probe) : []), [task, probe]);
  const layers = useMemo<HeatmapData[]>(() => {
    if (!probe) return [];
    const domain = logDomain(probe.delta);
    return probe.delta.map((values) => ({
      columns: probe.tokens.length,
      rows: probe.d_inner,
      values,
      domain,
      columnLabels: labels,
    }));
  }, [probe, labels]);

  return (
    <section className="panel delta" aria-labelledby="delta-title">
      <div className="panel-header">
        <h2 id="delta-title">Δ per token{probe ? ` at step ${probe.step}` : ''}</h2>
      </div>
      <p className="panel-help">
        Δ is each channel&apos;s step size at each token. A large Δ (yellow) writes the token into the state and lets older
        content decay. A small Δ (purple) lets the token pass and keeps the state.{' '}
        {task.kind === 'selective-copying'
          ? 'Data tokens are marked in orange and markers in violet.'
          : 'The recall token is marked in orange and the triggers in violet.'}{' '}
        Click a cell to show that channel&apos;s state below.
      </p>
      {layers.length === 0 ? (
        <p className="empty-note">The heatmap appears once the model is built.</p>
      ) : (
        layers.map((data, layer) => <DeltaHeatmap key={layer} layer={layer} data={data} onPick={selectState} />)
      )}
      {probe && <ProbeAnswers task={task} probe={probe} />}
    </section>
  );
}
