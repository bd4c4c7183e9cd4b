/**
 * A line chart in SVG with several series on shared axes and a legend inside the SVG,
 * so that an exported image names its lines. Used to overlay the loss and accuracy
 * curves of compared runs, and their accuracy against test length on a log2 axis.
 * There a series may skip lengths, with a reason, and vertical rules mark the
 * training lengths.
 *
 * The root element carries data-series (the number of series), data-points (the
 * points drawn over all series) and data-skipped (the × marks of points without a
 * value), so tests can check what was drawn.
 */
import * as d3 from 'd3';
import { createChartRoot, observeWidth, PLOT_MARGIN_X, widthOf, xTickCount, type Chart, type Margin } from './chart';
import { lineXDomain, lineYDomain, thinTicks } from './domains';
import type { LinePoint } from './lineChart';
import { formatTick, integerTicks, logTicks, powerOfTwoTicks } from './ticks';

/** An x value at which a series has no y, and why, such as "exceeds memory". */
export interface SkippedPoint {
  x: number;
  reason: string;
}

export interface LineSeries {
  /** Legend text, such as "d_state = 16". */
  name: string;
  points: LinePoint[];
  color: string;
  /** SVG stroke-dasharray; empty or absent for a solid line. */
  dash?: string;
  /** Draws a dot at every point, for series of few points; otherwise only the last point has one. */
  dots?: boolean;
  /** x values without a y, drawn as × marks in a row of the series above the plot, labelled with the reason. */
  skipped?: SkippedPoint[];
}

/** A vertical rule across the plot at x, such as a training length, with a label at its top. */
export interface ChartRule {
  x: number;
  label: string;
}

export interface MultiLineChartOptions {
  /** aria-label of the chart; the series names are added after it. */
  label: string;
  xLabel: string;
  yLabel: string;
  yScale: 'linear' | 'log';
  /** 'log2' puts x on a base-2 log axis with ticks at powers of two, for sequence lengths; 'linear' by default. */
  xScale?: 'linear' | 'log2';
  /** A fixed x domain; otherwise it follows the data. */
  xDomain?: [number, number];
  /** Formats x values on the axis; formatTick by default. */
  formatX?: (x: number) => string;
  /** Vertical rules, drawn where x lies inside the domain. */
  rules?: ChartRule[];
  /** A fixed y domain, such as [0, 1] for accuracy; otherwise it follows the data. */
  yDomain?: [number, number];
  /** Formats y values on the axis; formatTick by default. */
  formatY?: (y: number) => string;
  /** Plot height in CSS pixels, without the axes and the legend. */
  height?: number;
  /** Text shown in the plot while no series has a point. */
  emptyText?: string;
}

const MARGIN: Margin = { top: 10, bottom: 34, ...PLOT_MARGIN_X };
const LEGEND_ROW_HEIGHT = 18;
const LEGEND_SWATCH_WIDTH = 22;
const LEGEND_ITEM_GAP = 18;
/** Height of one series' row of × marks above the plot, in CSS pixels. */
const SKIP_ROW_HEIGHT = 15;
/** Vertical step between rule labels that would overlap on one line. */
const RULE_LINE_HEIGHT = 14;
/** Space between the last row of × marks and the top of the plot. */
const SKIP_GAP = 8;
/** Width of a power-of-two tick label such as "2¹⁸" with space around it, in CSS pixels. */
const LOG2_TICK_SPACING = 34;
/** Estimated width of one character of an 11 px label, for placing labels before they are measured. */
const CHAR_WIDTH = 6.2;

export function createMultiLineChart(element: HTMLElement, options: MultiLineChartOptions): Chart<LineSeries[]> {
  const root = createChartRoot(element, options.label, 'line-chart multi-line-chart');
  const plotHeight = options.height ?? 200;
  const formatY = options.formatY ?? formatTick;
  const formatX = options.formatX ?? formatTick;
  const logX = options.xScale === 'log2';

  const svg = d3.select(root).append('svg').attr('class', 'chart-svg');
  const skipRows = svg.append('g').attr('class', 'skipped-rows');
  const plot = svg.append('g');
  const gridY = plot.append('g').attr('class', 'grid');
  const axisX = plot.append('g').attr('class', 'axis axis-x').attr('transform', `translate(0,${plotHeight})`);
  const axisY = plot.append('g').attr('class', 'axis axis-y');
  const ruleLayer = plot.append('g').attr('class', 'rules');
  const lines = plot.append('g').attr('class', 'series');
  const xTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.xLabel);
  const yTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.yLabel);
  const empty = svg
    .append('text')
    .attr('class', 'empty-note')
    .attr('text-anchor', 'middle')
    .text(options.emptyText ?? 'No data yet');
  const legend = svg.append('g').attr('class', 'legend series-legend');

  let series: LineSeries[] = [];
  let width = widthOf(element);

  /** Points that the scales can place: finite, positive y on a log y axis and positive x on a log x axis. */
  function drawable(points: LinePoint[]): LinePoint[] {
    return points.filter(
      (p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (options.yScale !== 'log' || p.y > 0) && (!logX || p.x > 0),
    );
  }

  /** Returns the fixed x domain, or one from the data; on a log2 axis it covers every x, skipped ones and rules included. */
  function xDomainOf(xs: number[]): [number, number] {
    if (options.xDomain) return options.xDomain;
    if (!logX) return lineXDomain(xs);
    const positive = xs.filter((v) => v > 0 && Number.isFinite(v));
    if (positive.length === 0) return [1, 2];
    const lo = Math.min(...positive);
    const hi = Math.max(...positive);
    return lo === hi ? [lo / 2, hi * 2] : [lo, hi];
  }

  function render(): void {
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const drawn = series.map((s) => drawable(s.points));
    const all = drawn.flat();
    const withSkips = series.filter((s) => (s.skipped?.length ?? 0) > 0);
    // The rows of × marks keep a gap above the plot, so the last row clears a line at the top value.
    const top = MARGIN.top + withSkips.length * SKIP_ROW_HEIGHT + (withSkips.length > 0 ? SKIP_GAP : 0);
    root.dataset.series = String(series.length);
    root.dataset.points = String(all.length);
    root.dataset.skipped = String(withSkips.reduce((sum, s) => sum + s.skipped!.length, 0));
    root.setAttribute('aria-label', series.length > 0 ? `${options.label}: ${series.map((s) => s.name).join('; ')}` : options.label);
    plot.attr('transform', `translate(${MARGIN.left},${top})`);
    yTitle.attr('transform', `translate(14,${top + plotHeight / 2}) rotate(-90)`);
    empty
      .attr('display', all.length === 0 ? null : 'none')
      .attr('x', MARGIN.left + plotWidth / 2)
      .attr('y', top + plotHeight / 2);

    const domainXs = logX
      ? [...all.map((p) => p.x), ...withSkips.flatMap((s) => s.skipped!.map((p) => p.x)), ...(options.rules ?? []).map((r) => r.x)]
      : all.map((p) => p.x);
    const xDomain = xDomainOf(domainXs);
    const x = logX ? d3.scaleLog().base(2).domain(xDomain).range([0, plotWidth]) : d3.scaleLinear().domain(xDomain).range([0, plotWidth]);
    const yDomain = options.yDomain ?? lineYDomain(all.map((p) => p.y), options.yScale);
    const y = options.yScale === 'log' ? d3.scaleLog().domain(yDomain).range([plotHeight, 0]) : d3.scaleLinear().domain(yDomain).range([plotHeight, 0]);

    const xTicks = logX
      ? powerOfTwoTicks(xDomain, Math.max(2, Math.floor(plotWidth / LOG2_TICK_SPACING)))
      : integerTicks(xDomain, xTickCount(plotWidth));
    axisX.call(d3.axisBottom(x).tickValues(xTicks).tickFormat((v) => formatX(Number(v))));
    const yTickMax = Math.max(2, Math.floor(plotHeight / 28));
    const yTickValues =
      options.yScale === 'log' ? logTicks(yDomain, yTickMax) : thinTicks(y.ticks(Math.max(2, Math.floor(plotHeight / 40))), yTickMax);
    axisY.call(d3.axisLeft(y).tickValues(yTickValues).tickFormat((v) => formatY(Number(v))));
    gridY.call(d3.axisLeft(y).tickValues(yTickValues).tickSize(-plotWidth).tickFormat(() => ''));

    const line = d3
      .line<LinePoint>()
      .x((p) => x(p.x))
      .y((p) => y(p.y));
    const groups = lines
      .selectAll<SVGGElement, LineSeries>('g.series-line')
      .data(series)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'series-line');
        g.append('path').attr('class', 'line').attr('fill', 'none');
        g.append('circle').attr('class', 'last-dot').attr('r', 3);
        return g;
      });
    groups.attr('data-name', (s) => s.name);
    groups
      .select<SVGPathElement>('path')
      .style('stroke', (s) => s.color)
      .style('stroke-dasharray', (s) => s.dash || null)
      .attr('d', (_, i) => (drawn[i].length > 0 ? line(drawn[i]) : null));
    groups
      .select<SVGCircleElement>('circle.last-dot')
      .style('fill', (s) => s.color)
      .attr('display', (s, i) => (drawn[i].length > 0 && !s.dots ? null : 'none'))
      .attr('cx', (_, i) => (drawn[i].length > 0 ? x(drawn[i][drawn[i].length - 1].x) : 0))
      .attr('cy', (_, i) => (drawn[i].length > 0 ? y(drawn[i][drawn[i].length - 1].y) : 0));
    groups.each(function (s, i) {
      const dots = s.dots ? drawn[i] : [];
      d3.select(this)
        .selectAll<SVGCircleElement, LinePoint>('circle.point')
        .data(dots)
        .join((enter) => enter.append('circle').attr('class', 'point').attr('r', 3).call((c) => c.append('title')))
        .style('fill', s.dash ? '#fff' : s.color)
        .style('stroke', s.color)
        .attr('cx', (p) => x(p.x))
        .attr('cy', (p) => y(p.y))
        .select('title')
        .text((p) => `${s.name} at ${formatX(p.x)}: ${formatY(p.y)}`);
    });

    drawRules(x, xDomain, plotWidth);
    drawSkipped(withSkips, x, plotWidth);

    const legendTop = plotHeight + top + MARGIN.bottom + 4;
    xTitle.attr('x', MARGIN.left + plotWidth / 2).attr('y', plotHeight + top + MARGIN.bottom - 2);
    const rows = drawLegend(plotWidth);
    legend.attr('transform', `translate(${MARGIN.left},${legendTop})`);
    svg.attr('width', width).attr('height', legendTop + rows * LEGEND_ROW_HEIGHT + 2);
  }

  function drawRules(x: (value: number) => number, domain: [number, number], plotWidth: number): void {
    const [d0, d1] = [Math.min(...domain), Math.max(...domain)];
    const rules = (options.rules ?? []).filter((r) => r.x >= d0 && r.x <= d1);
    const groups = ruleLayer
      .selectAll<SVGGElement, ChartRule>('g.rule')
      .data(rules)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'rule');
        g.append('line').attr('class', 'rule-line');
        g.append('text').attr('class', 'rule-label');
        return g;
      });
    groups.select('line').attr('x1', (r) => x(r.x)).attr('x2', (r) => x(r.x)).attr('y1', 0).attr('y2', plotHeight);
    // The label sits halfway up, where accuracy curves cross least, right of the rule unless it would leave the plot.
    const leftOf = (r: ChartRule) => x(r.x) + 4 + r.label.length * CHAR_WIDTH > plotWidth;
    const lines = ruleLabelLines(
      rules.map((r) => {
        const width = r.label.length * CHAR_WIDTH;
        const start = leftOf(r) ? x(r.x) - 4 - width : x(r.x) + 4;
        return [start, start + width] as [number, number];
      }),
    );
    groups
      .select('text')
      .attr('x', (r) => (leftOf(r) ? x(r.x) - 4 : x(r.x) + 4))
      .attr('text-anchor', (r) => (leftOf(r) ? 'end' : 'start'))
      .attr('y', (_, i) => plotHeight / 2 + lines[i] * RULE_LINE_HEIGHT)
      .text((r) => r.label);
  }

  /**
   * Draws one row per series with skipped points above the plot: an × in the series'
   * colour at each skipped x, and "name: reason" once per run of equal reasons.
   */
  function drawSkipped(withSkips: LineSeries[], x: (value: number) => number, plotWidth: number): void {
    const rows = skipRows
      .attr('transform', `translate(${MARGIN.left},${MARGIN.top})`)
      .selectAll<SVGGElement, LineSeries>('g.skipped-row')
      .data(withSkips)
      .join('g')
      .attr('class', 'skipped-row')
      .attr('data-name', (s) => s.name)
      .attr('transform', (_, row) => `translate(0,${row * SKIP_ROW_HEIGHT + SKIP_ROW_HEIGHT / 2})`);
    const symbol = d3.symbol(d3.symbolX, 30)();
    rows.each(function (s) {
      const row = d3.select(this);
      row
        .selectAll<SVGPathElement, SkippedPoint>('path')
        .data(s.skipped!)
        .join((enter) => enter.append('path').call((p) => p.append('title')))
        .attr('class', 'skipped-marker')
        .attr('d', symbol)
        .attr('transform', (p) => `translate(${x(p.x)},0)`)
        .style('stroke', s.color)
        .select('title')
        .text((p) => `${s.name} at ${formatX(p.x)}: ${p.reason}`);
      row
        .selectAll<SVGTextElement, ReasonRun>('text')
        .data(reasonRuns(s.skipped!))
        .join('text')
        .attr('class', 'skipped-label')
        .attr('dy', '0.35em')
        .style('fill', s.color)
        .each(function (run) {
          const text = `${s.name}: ${run.reason}`;
          const width = text.length * CHAR_WIDTH;
          // Right of the run's last mark, else left of its first, else cut to the space left of it.
          const right = x(run.last) + 8;
          const left = x(run.first) - 8;
          const label = d3.select(this);
          if (right + width <= plotWidth) label.attr('x', right).attr('text-anchor', 'start').text(text);
          else if (left - width >= 0) label.attr('x', left).attr('text-anchor', 'end').text(text);
          else label.attr('x', 0).attr('text-anchor', 'start').text(shortened(text, Math.max(0, left) / CHAR_WIDTH));
        });
    });
  }

  /** Draws one swatch and name per series, wrapping at the plot's width; returns the number of rows. */
  function drawLegend(plotWidth: number): number {
    const items = legend
      .selectAll<SVGGElement, LineSeries>('g.legend-item')
      .data(series)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'legend-item');
        g.append('line').attr('x1', 0).attr('x2', LEGEND_SWATCH_WIDTH).attr('y1', 6).attr('y2', 6).style('stroke-width', 2.5);
        g.append('text').attr('x', LEGEND_SWATCH_WIDTH + 5).attr('y', 10);
        g.append('title');
        return g;
      });
    items
      .select('line')
      .style('stroke', (s) => s.color)
      .style('stroke-dasharray', (s) => s.dash || null);
    // A name wider than the plot is cut to fit, and its tooltip gives it whole.
    const fits = Math.max(1, (plotWidth - LEGEND_SWATCH_WIDTH - 5) / CHAR_WIDTH);
    items.select('text').text((s) => shortened(s.name, fits));
    items.select('title').text((s) => s.name);

    // Text width is known only once drawn; a hidden chart measures 0, so estimate then.
    let x = 0;
    let row = 0;
    items.each(function (s) {
      const measured = this.querySelector('text')?.getComputedTextLength() ?? 0;
      const itemWidth = LEGEND_SWATCH_WIDTH + 5 + (measured > 0 ? measured : s.name.length * 6.5);
      if (x > 0 && x + itemWidth > plotWidth) {
        x = 0;
        row++;
      }
      this.setAttribute('transform', `translate(${x},${row * LEGEND_ROW_HEIGHT})`);
      x += itemWidth + LEGEND_ITEM_GAP;
    });
    return series.length > 0 ? row + 1 : 0;
  }

  const stopObserving = observeWidth(element, (w) => {
    width = w;
    render();
  });
  render();

  return {
    update(data: LineSeries[]) {
      series = data;
      render();
    },
    dispose() {
      stopObserving();
      root.remove();
    },
  };
}

/**
 * Returns a line number for each label, given its horizontal extent [start, end] in
 * pixels: the first line, counting from 0, where it overlaps no label placed before it.
 */
export function ruleLabelLines(extents: readonly [number, number][]): number[] {
  const placed: [number, number][][] = [];
  return extents.map(([start, end]) => {
    let line = 0;
    while (placed[line]?.some(([s, e]) => start < e + 4 && end > s - 4)) line++;
    (placed[line] ??= []).push([start, end]);
    return line;
  });
}

/** Consecutive skipped x values, in x order, that share one reason. */
export interface ReasonRun {
  first: number;
  last: number;
  reason: string;
}

/** Groups skipped points, sorted by x, into runs of equal reasons, so that each run is labelled once. */
export function reasonRuns(skipped: readonly SkippedPoint[]): ReasonRun[] {
  const runs: ReasonRun[] = [];
  for (const point of [...skipped].sort((a, b) => a.x - b.x)) {
    const last = runs.at(-1);
    if (last && last.reason === point.reason) last.last = point.x;
    else runs.push({ first: point.x, last: point.x, reason: point.reason });
  }
  return runs;
}

/** Cuts text to at most `chars` characters, ending with "…" when cut. */
export function shortened(text: string, chars: number): string {
  const max = Math.floor(chars);
  if (text.length <= max) return text;
  return max <= 1 ? '' : `${text.slice(0, max - 1).trimEnd()}…`;
}
