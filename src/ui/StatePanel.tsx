import { useMemo } from 'react';
import { symmetricDomain } from '../charts/domains';
import { createHeatmap, type HeatmapData, type HeatmapOptions } from '../charts/heatmap';
import { createLineChart, type LineChartOptions, type LinePoint } from '../charts/lineChart';
import { useAppStore } from '../store';
import { channelStates, stateNorms, tokenLabels } from './probeData';
import { ROLE_STYLES } from './roles';
import { useChart } from './useChart';

function StateHeatmap({ label, data }: { label: string; data: HeatmapData }) {
  const options = useMemo<HeatmapOptions>(
    () => ({
      label,
      xLabel: 'position in the probe sequence',
      rowName: 'state component',
      valueName: 'h',
      color: 'diverging',
      roles: ROLE_STYLES,
    }),
    [label],
  );
  const ref = useChart(createHeatmap, options, data);
  return <div ref={ref} className="chart-host" />;
}

/**
 * ‖h_t‖ under the state heatmap. Both charts share their side margins, and the x domain
 * [-0.5, l - 0.5] puts position t at the centre of heatmap column t.
 */
function NormChart({ label, points, length }: { label: string; points: LinePoint[]; length: number }) {
  const options = useMemo<LineChartOptions>(
    () => ({
      label,
      xLabel: 'position in the probe sequence',
      yLabel: '‖h_t‖',
      yScale: 'linear',
      xDomain: [-0.5, length - 0.5],
      height: 140,
      color: 'var(--accent-3)',
    }),
    [label, length],
  );
  const ref = useChart(createLineChart, options, points);
  return <div ref={ref} className="chart-host" />;
}

/** Renders the hidden state h_t of one chosen channel over the probe sequence, and its norm. */
export function StatePanel() {
  const probe = useAppStore((state) => state.probe);
  const task = useAppStore((state) => state.configuredRun?.task ?? state.run.task);
  const stateLayer = useAppStore((state) => state.stateLayer);
  const stateChannel = useAppStore((state) => state.stateChannel);
  const selectState = useAppStore((state) => state.selectState);

  const layerCount = probe?.states.length ?? 0;
  const channelCount = probe?.d_inner ?? 0;
  // After a change to n_layer or d_model the chosen channel may no longer exist, so show the last one.
  const layer = Math.min(stateLayer, Math.max(0, layerCount - 1));
  const channel = Math.min(stateChannel, Math.max(0, channelCount - 1));

  const data = useMemo(() => {
    if (!probe || layerCount === 0) return null;
    const length = probe.tokens.length;
    const values = channelStates(probe.states[layer], length, probe.d_inner, probe.d_state, channel);
    const heatmap: HeatmapData = {
      columns: length,
      rows: probe.d_state,
      values,
      domain: symmetricDomain([values]),
      columnLabels: tokenLabels(task, probe),
    };
    return { heatmap, norms: stateNorms(values, length, probe.d_state) };
  }, [probe, task, layer, channel, layerCount]);

  const where = `layer ${layer + 1}, channel ${channel + 1}`;

  return (
    <section className="panel state" aria-labelledby="state-title">
      <div className="panel-header">
        <h2 id="state-title">Hidden state h_t</h2>
        <div className="state-pickers">
          <label>
            Layer{' '}
            <select value={layer} disabled={layerCount === 0} onChange={(event) => selectState(Number(event.target.value), channel)}>
              {Array.from({ length: layerCount }, (_, i) => (
                <option key={i} value={i}>
                  {i + 1}
                </option>
              ))}
            </select>
          </label>
          <label>
            Channel{' '}
            <select value={channel} disabled={channelCount === 0} onChange={(event) => selectState(layer, Number(event.target.value))}>
              {Array.from({ length: channelCount }, (_, i) => (
                <option key={i} value={i}>
                  {i + 1}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      <p className="panel-help">
        Each row is one of the d_state components of this channel&apos;s state (red positive, blue negative). The state
        changes where Δ is large and holds where Δ is small.
      </p>
      {data ? (
        <>
          <StateHeatmap label={`state heatmap, ${where}`} data={data.heatmap} />
          <figure>
            <figcaption>State norm ‖h_t‖, {where}</figcaption>
            <NormChart label={`state norm, ${where}`} points={data.norms} length={data.heatmap.columns} />
          </figure>
        </>
      ) : (
        <p className="empty-note">The state appears once the model is built.</p>
      )}
    </section>
  );
}
