import { useMemo, useState } from 'react';
import { createHeatmap, type ColumnLabel, type HeatmapData, type HeatmapOptions } from '../charts/heatmap';
import { useAppStore } from '../store';
import { attentionColumns, attentionDomain } from './attentionData';
import { ProbeAnswers } from './DeltaPanel';
import { tokenLabels } from './probeData';
import { ROLE_STYLES } from './roles';
import { useChart } from './useChart';

function AttentionHeatmap({ layer, data }: { layer: number; data: HeatmapData }) {
  const options = useMemo<HeatmapOptions>(
    () => ({
      label: `Attention weights, layer ${layer + 1}`,
      xLabel: 'key position (the token attended to)',
      rowName: 'query position',
      rowBase: 0,
      valueName: 'weight',
      color: 'log-sequential',
      roles: ROLE_STYLES,
    }),
    [layer],
  );
  const ref = useChart(createHeatmap, options, data);
  return (
    <figure className="heatmap-figure">
      <figcaption>Layer {layer + 1}</figcaption>
      <div ref={ref} className="chart-host" />
    </figure>
  );
}

/** Renders the Transformer's attention weights on the probe sequence, one heatmap per layer. */
export function AttentionPanel() {
  const probe = useAppStore((state) => state.probe);
  const task = useAppStore((state) => state.configuredRun?.task ?? state.run.task);
  const [head, setHead] = useState<number | 'mean'>('mean');
  const nHead = probe?.n_head ?? 0;
  const shownHead = head !== 'mean' && head >= nHead ? 'mean' : head;

  const labels = useMemo<ColumnLabel[]>(() => (probe ? tokenLabels(task, probe) : []), [task, probe]);
  const layers = useMemo<HeatmapData[]>(() => {
    if (!probe || probe.attention.length === 0) return [];
    const l = probe.tokens.length;
    const columns = probe.attention.map((weights) => attentionColumns(weights, l, probe.n_head, shownHead));
    const domain = attentionDomain(columns);
    return columns.map((values) => ({ columns: l, rows: l, values, domain, columnLabels: labels }));
  }, [probe, labels, shownHead]);

  return (
    <section className="panel attention" aria-labelledby="attention-title">
      <div className="panel-header">
        <h2 id="attention-title">Attention per token{probe ? ` at step ${probe.step}` : ''}</h2>
        {nHead > 1 && (
          <label className="inline-select">
            head{' '}
            <select aria-label="attention head" value={String(shownHead)} onChange={(event) => setHead(event.target.value === 'mean' ? 'mean' : Number(event.target.value))}>
              <option value="mean">mean of {nHead}</option>
              {Array.from({ length: nHead }, (_, h) => (
                <option key={h} value={h}>
                  {h + 1}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <p className="panel-help">
        Row t shows how query position t spreads its attention over the earlier positions (columns). Unlike Mamba&apos;s
        fixed-size state, attention keeps every earlier token and looks them all up again at each step, so its cost grows
        with the context.{' '}
        {task.kind === 'selective-copying'
          ? 'Data tokens are marked in orange and markers in violet.'
          : 'The recall token is marked in orange and the triggers in violet.'}
      </p>
      {layers.length === 0 ? (
        <p className="empty-note">The heatmap appears once the model is built.</p>
      ) : (
        layers.map((data, layer) => <AttentionHeatmap key={layer} layer={layer} data={data} />)
      )}
      {probe && <ProbeAnswers task={task} probe={probe} />}
    </section>
  );
}
