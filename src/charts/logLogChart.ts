/**
 * A log–log chart of several series, for benchmark sweeps: time or bytes
 * against sequence length. A straight line of slope 1 is linear scaling, slope 2
 * quadratic. Optionally it prints each series' fitted slope at the end of its
 * line and draws vertical rules such as a crossover length. It marks each length
 * a series could not measure with an × at the top of the plot, and shades the
 * lengths where a series exceeds device memory.
 */
import * as d3 from 'd3';
import { createChartRoot, observeWidth, widthOf, type Chart } from './chart';
import { logLogSlope } from './domains';
import { isMemorySkip, MEMORY_SKIP, memoryBands, sharedSkipReason, spreadLabels, type LogLogPoint } from './logLogMarks';

export type { LogLogPoint } from './logLogMarks';

export interface LogLogSeries {
  name: string;
  color: string;
  /** Dashed lines mark baselines. */
  dashed?: boolean;
  /** Points with y null were not measured. The legend lists their x, and the chart shows their reason when one is given. */
  points: LogLogPoint[];
}

/** A vertical rule across the plot at x, such as a crossover length, with a label. */
export interface LogLogRule {
  x: number;
  label: string;
}

export interface LogLogData {
  series: LogLogSeries[];
  rules?: LogLogRule[];
  /** A line under the plot, such as how the times were measured. */
  caption?: string;
}

export interface LogLogChartOptions {
  label: string;
  xLabel: string;
  yLabel: string;
  formatY?: (y: number) => string;
  height?: number;
  /** Prints each series' fitted slope in the right margin at the height of its last measured point, instead of in the legend. */
  slopeLabels?: boolean;
}

const MARGIN = { top: 10, right: 16, bottom: 38, left: 60 };
/** Right margin that fits a slope label such as "slope 1.98". */
const SLOPE_MARGIN = 74;
/** Extra top margin for the labels of memory regions. */
const BAND_LABEL_SPACE = 16;
const LABEL_GAP = 12;
/** Vertical spacing of the rows of × markers, one row per series, in pixels. */
const MARKER_ROW = 9;

function formatSlope(slope: number): string {
  return `slope ${slope.toFixed(2)}`;
}

export function createLogLogChart(element: HTMLElement, options: LogLogChartOptions): Chart<LogLogData> {
  const root = createChartRoot(element, options.label, 'loglog-chart');
  const plotHeight = options.height ?? 260;
  const formatY = options.formatY ?? d3.format('~g');
  const marginRight = options.slopeLabels ? SLOPE_MARGIN : MARGIN.right;

  const svg = d3.select(root).append('svg').attr('class', 'chart-svg');
  const plot = svg.append('g');
  const bandLayer = plot.append('g').attr('class', 'memory-bands');
  const gridY = plot.append('g').attr('class', 'grid');
  const axisX = plot.append('g').attr('class', 'axis axis-x').attr('transform', `translate(0,${plotHeight})`);
  const axisY = plot.append('g').attr('class', 'axis axis-y');
  const ruleLayer = plot.append('g').attr('class', 'rules');
  const lines = plot.append('g');
  const markerLayer = plot.append('g').attr('class', 'skipped-markers');
  const slopeLayer = plot.append('g').attr('class', 'slope-labels');
  const xTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.xLabel);
  const yTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.yLabel);
  const empty = svg.append('text').attr('class', 'empty-note').attr('text-anchor', 'middle').text('No measurements yet');
  const caption = d3.select(root).append('p').attr('class', 'chart-caption');
  const legend = d3.select(root).append('ul').attr('class', 'chart-legend');

  let data: LogLogData = { series: [] };
  let width = widthOf(element);

  function draw() {
    const { series } = data;
    const bands = memoryBands(series);
    const top = MARGIN.top + (bands.length > 0 ? BAND_LABEL_SPACE : 0);
    const innerWidth = Math.max(40, width - MARGIN.left - marginRight);
    svg.attr('width', width).attr('height', plotHeight + top + MARGIN.bottom);
    plot.attr('transform', `translate(${MARGIN.left},${top})`);
    xTitle.attr('x', MARGIN.left + innerWidth / 2).attr('y', plotHeight + top + MARGIN.bottom - 4);
    yTitle.attr('transform', `translate(14,${top + plotHeight / 2}) rotate(-90)`);
    empty.attr('x', MARGIN.left + innerWidth / 2).attr('y', top + plotHeight / 2);

    const measured = series.flatMap((s) => s.points.filter((p): p is LogLogPoint & { y: number } => p.y !== null && p.y > 0));
    empty.style('display', measured.length > 0 ? 'none' : 'inline').text(emptyText(series));
    const allX = series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
    const [x0, x1] = allX.length > 0 ? (d3.extent(allX) as [number, number]) : [1, 10];
    const [y0, y1] = measured.length > 0 ? (d3.extent(measured, (p) => p.y) as [number, number]) : [1, 10];
    const x = d3.scaleLog().domain(x0 === x1 ? [x0 / 2, x1 * 2] : [x0, x1]).range([0, innerWidth]);
    const y = d3.scaleLog().domain(y0 === y1 ? [y0 / 2, y1 * 2] : [y0 / 1.2, y1 * 1.2]).range([plotHeight, 0]).nice();

    // Powers of two label sequence lengths best.
    const xTicks = allX.length > 0 ? [...new Set(allX)].sort((a, b) => a - b) : x.ticks(4);
    const step = Math.ceil(xTicks.length / Math.max(2, Math.floor(innerWidth / 60)));
    axisX.call(d3.axisBottom(x).tickValues(xTicks.filter((_, i) => i % step === 0)).tickFormat(d3.format('d')));
    // Label and grid only the powers of ten, unless the data spans less than a decade.
    const [lo, hi] = y.domain();
    const decades = d3.range(Math.ceil(Math.log10(lo)), Math.floor(Math.log10(hi)) + 1).map((e) => 10 ** e);
    const yTicks = decades.length >= 2 ? decades : y.ticks(3);
    axisY.call(d3.axisLeft(y).tickValues(yTicks).tickFormat((v) => formatY(v as number)));
    gridY.call(d3.axisLeft(y).tickValues(yTicks).tickSize(-innerWidth).tickFormat(() => ''));

    drawBands(bands, x);
    drawRules(x, innerWidth);

    const line = d3
      .line<LogLogPoint>()
      .defined((p) => p.y !== null && p.y > 0)
      .x((p) => x(p.x))
      .y((p) => y(p.y as number));
    const groups = lines.selectAll<SVGGElement, LogLogSeries>('g.series').data(series, (s) => s.name);
    groups.exit().remove();
    const entered = groups.enter().append('g').attr('class', 'series');
    entered.append('path').attr('fill', 'none').attr('stroke-width', 2);
    const merged = entered.merge(groups);
    merged
      .select('path')
      .attr('d', (s) => line(s.points))
      .style('stroke', (s) => s.color)
      .attr('stroke-dasharray', (s) => (s.dashed ? '5 4' : null));
    merged
      .selectAll<SVGCircleElement, { x: number; y: number; color: string; name: string }>('circle')
      .data((s) => s.points.filter((p): p is LogLogPoint & { y: number } => p.y !== null && p.y > 0).map((p) => ({ x: p.x, y: p.y, color: s.color, name: s.name })))
      .join((enter) => enter.append('circle').call((c) => c.append('title')))
      .attr('class', 'point')
      .attr('r', 3)
      .attr('cx', (p) => x(p.x))
      .attr('cy', (p) => y(p.y))
      .style('fill', (p) => p.color)
      .select('title')
      .text((p) => `${p.name} at ${p.x}: ${formatY(p.y)}`);

    drawSkippedMarkers(x);
    drawSlopeLabels(y, innerWidth);
    caption.text(data.caption ?? '').style('display', data.caption ? 'block' : 'none');
    drawLegend();
  }

  /** Shades each run of lengths where a series exceeds device memory and labels it above the plot. */
  function drawBands(bands: ReturnType<typeof memoryBands>, x: d3.ScaleLogarithmic<number, number>) {
    const groups = bandLayer
      .selectAll<SVGGElement, (typeof bands)[number]>('g.memory-band')
      .data(bands)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'memory-band');
        g.append('rect').attr('class', 'memory-band-area');
        g.append('text').attr('class', 'memory-band-label').attr('text-anchor', 'middle');
        g.append('title');
        return g;
      });
    // A band of a single length at the edge of the data would have no width, so it gets at least 14 px.
    const left = (b: (typeof bands)[number]) => Math.min(x(b.left), x(b.right) - 14);
    groups
      .select('rect')
      .attr('x', left)
      .attr('y', 0)
      .attr('width', (b) => x(b.right) - left(b))
      .attr('height', plotHeight);
    // Name the series when the label fits over the band; 6.5 px per character is an estimate at 11 px.
    const fullLabel = (b: (typeof bands)[number]) => `${b.series.join(', ')} ${MEMORY_SKIP}`;
    const fits = (b: (typeof bands)[number]) => fullLabel(b).length * 6.5 <= x(b.right) - left(b);
    groups
      .select('text')
      .attr('x', (b) => (fits(b) ? (left(b) + x(b.right)) / 2 : Math.min(x(b.right) - 64, (left(b) + x(b.right)) / 2)))
      .attr('y', -6)
      .text((b) => (fits(b) ? fullLabel(b) : MEMORY_SKIP));
    groups.select('title').text((b) => `${b.series.join(', ')} ${MEMORY_SKIP} at ${b.first === b.last ? b.first : `${b.first} to ${b.last}`}`);
  }

  function drawRules(x: d3.ScaleLogarithmic<number, number>, innerWidth: number) {
    const [d0, d1] = x.domain();
    const rules = (data.rules ?? []).filter((r) => r.x >= d0 && r.x <= d1);
    const groups = ruleLayer
      .selectAll<SVGGElement, LogLogRule>('g.rule')
      .data(rules)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'rule');
        g.append('line').attr('class', 'rule-line');
        g.append('text').attr('class', 'rule-label');
        return g;
      });
    groups.select('line').attr('x1', (r) => x(r.x)).attr('x2', (r) => x(r.x)).attr('y1', 0).attr('y2', plotHeight);
    // The label sits right of the rule unless that would leave the plot.
    groups
      .select('text')
      .attr('x', (r) => (x(r.x) > innerWidth - 120 ? x(r.x) - 4 : x(r.x) + 4))
      .attr('text-anchor', (r) => (x(r.x) > innerWidth - 120 ? 'end' : 'start'))
      .attr('y', 12)
      .text((r) => r.label);
  }

  /** Draws an × at the top of the plot, one row per series, at every length a series skipped, unless it skipped all of them. */
  function drawSkippedMarkers(x: d3.ScaleLogarithmic<number, number>) {
    const markers = data.series.flatMap((s, row) =>
      sharedSkipReason(s.points) !== null
        ? []
        : s.points
            .filter((p) => p.y === null)
            .map((p) => ({ x: p.x, row, color: s.color, title: `${s.name} at ${p.x}: ${p.skipped ?? 'not measured'}` })),
    );
    const symbol = d3.symbol(d3.symbolX, 36)();
    markerLayer
      .selectAll<SVGPathElement, (typeof markers)[number]>('path')
      .data(markers)
      .join((enter) => enter.append('path').call((p) => p.append('title')))
      .attr('class', 'skipped-marker')
      .attr('d', symbol)
      .attr('transform', (m) => `translate(${x(m.x)},${6 + m.row * MARKER_ROW})`)
      .style('stroke', (m) => m.color)
      .select('title')
      .text((m) => m.title);
  }

  function drawSlopeLabels(y: d3.ScaleLogarithmic<number, number>, innerWidth: number) {
    const labels = options.slopeLabels
      ? data.series.flatMap((s) => {
          const slope = logLogSlope(s.points);
          const last = s.points.filter((p) => p.y !== null && p.y > 0).at(-1);
          return slope === null || !last ? [] : [{ text: formatSlope(slope), y: y(last.y as number), color: s.color, name: s.name }];
        })
      : [];
    const positions = spreadLabels(labels.map((l) => l.y), LABEL_GAP, 4, plotHeight);
    slopeLayer
      .selectAll<SVGTextElement, (typeof labels)[number]>('text')
      .data(labels)
      .join('text')
      .attr('class', 'slope-label')
      .attr('x', innerWidth + 6)
      .attr('y', (_, i) => positions[i])
      .attr('dy', '0.32em')
      .attr('data-series', (l) => l.name)
      .style('fill', (l) => l.color)
      .text((l) => l.text);
  }

  function drawLegend() {
    legend
      .selectAll('li')
      .data(data.series, (s) => (s as LogLogSeries).name)
      .join('li')
      .html('')
      .call((li) => {
        li.append('span').attr('class', 'swatch').style('background', (s) => s.color);
        li.append('span').text((s) => legendText(s, !options.slopeLabels));
      });
  }

  const stopObserving = observeWidth(element, (w) => {
    width = w;
    draw();
  });
  draw();

  return {
    update(next) {
      data = next;
      draw();
    },
    dispose() {
      stopObserving();
      root.remove();
    },
  };
}

/** Note on a chart without measurements: the skip reason when every series shares one, such as "decoding is not measured yet". */
function emptyText(series: LogLogSeries[]): string {
  const reasons = new Set(series.map((s) => sharedSkipReason(s.points)));
  const [reason] = reasons;
  return reasons.size === 1 && reason ? `Not measured: ${reason}` : 'No measurements yet';
}

/** Legend entry of a series: its name, its slope when asked, and the lengths where it was not measured. */
function legendText(s: LogLogSeries, withSlope: boolean): string {
  const parts = [s.name];
  const slope = logLogSlope(s.points);
  if (withSlope && slope !== null) parts.push(formatSlope(slope));
  const everywhere = sharedSkipReason(s.points);
  if (everywhere !== null) {
    parts.push(`not measured: ${everywhere}`);
    return parts.join(' · ');
  }
  const overMemory = s.points.filter((p) => p.y === null && isMemorySkip(p.skipped)).map((p) => p.x);
  const other = s.points.filter((p) => p.y === null && !isMemorySkip(p.skipped)).map((p) => p.x);
  if (overMemory.length > 0) parts.push(`${MEMORY_SKIP} at ${overMemory.join(', ')}`);
  if (other.length > 0) parts.push(`not measured at ${other.join(', ')}`);
  return parts.join(' · ');
}
