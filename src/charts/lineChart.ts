/**
 * A line chart in SVG: one series of (x, y) points on a linear or log y axis. Used for
 * the loss and accuracy curves and for the state norm over time.
 */
import * as d3 from 'd3';
import { createChartRoot, observeWidth, PLOT_MARGIN_X, widthOf, xTickCount, type Chart, type Margin } from './chart';
import { lineXDomain, lineYDomain, thinTicks } from './domains';
import { formatTick, integerTicks, logTicks } from './ticks';

export interface LinePoint {
  x: number;
  y: number;
}

export interface LineChartOptions {
  /** aria-label of the chart, such as "loss curve". */
  label: string;
  xLabel: string;
  yLabel: string;
  yScale: 'linear' | 'log';
  /** A fixed y domain, such as [0, 1] for accuracy; otherwise it follows the data. */
  yDomain?: [number, number];
  /**
   * Fixed x domain, such as [-0.5, l - 0.5], which puts point t at the centre of column t
   * of a heatmap above. Without it the domain follows the data (see lineXDomain).
   */
  xDomain?: [number, number];
  /** Draws x ticks at integers only, for steps and positions; true by default. */
  integerX?: boolean;
  /** Formats y values on the axis; formatTick by default. */
  formatY?: (y: number) => string;
  /** Plot height in CSS pixels, without the axes. */
  height?: number;
  /** Line colour; any CSS colour. */
  color?: string;
}

const MARGIN: Margin = { top: 10, bottom: 34, ...PLOT_MARGIN_X };

export function createLineChart(element: HTMLElement, options: LineChartOptions): Chart<LinePoint[]> {
  const root = createChartRoot(element, options.label, 'line-chart');
  const plotHeight = options.height ?? 180;
  const formatY = options.formatY ?? formatTick;
  const integerX = options.integerX ?? true;
  const color = options.color ?? 'var(--accent)';

  const svg = d3.select(root).append('svg').attr('class', 'chart-svg');
  const plot = svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
  const gridY = plot.append('g').attr('class', 'grid');
  const axisX = plot.append('g').attr('class', 'axis axis-x').attr('transform', `translate(0,${plotHeight})`);
  const axisY = plot.append('g').attr('class', 'axis axis-y');
  const path = plot.append('path').attr('class', 'line').attr('fill', 'none').style('stroke', color);
  const lastDot = plot.append('circle').attr('class', 'last-dot').attr('r', 3).style('fill', color);
  const xTitle = svg.append('text').attr('class', 'axis-title').attr('text-anchor', 'middle').text(options.xLabel);
  svg
    .append('text')
    .attr('class', 'axis-title')
    .attr('text-anchor', 'middle')
    .attr('transform', `translate(14,${MARGIN.top + plotHeight / 2}) rotate(-90)`)
    .text(options.yLabel);
  const empty = svg
    .append('text')
    .attr('class', 'empty-note')
    .attr('text-anchor', 'middle')
    .attr('y', MARGIN.top + plotHeight / 2)
    .text('No data yet');

  let points: LinePoint[] = [];
  let width = widthOf(element);

  function render(): void {
    const plotWidth = width - MARGIN.left - MARGIN.right;
    svg.attr('width', width).attr('height', plotHeight + MARGIN.top + MARGIN.bottom);
    xTitle.attr('x', MARGIN.left + plotWidth / 2).attr('y', plotHeight + MARGIN.top + MARGIN.bottom - 2);
    empty.attr('x', MARGIN.left + plotWidth / 2);

    // A log axis cannot show zero or negative values, so those points are left out.
    const drawn = options.yScale === 'log' ? points.filter((p) => p.y > 0 && Number.isFinite(p.y)) : points.filter((p) => Number.isFinite(p.y));
    root.dataset.points = String(drawn.length);
    empty.attr('display', drawn.length === 0 ? null : 'none');

    const xDomain = options.xDomain ?? lineXDomain(drawn.map((p) => p.x));
    const x = d3.scaleLinear().domain(xDomain).range([0, plotWidth]);
    const yDomain = options.yDomain ?? lineYDomain(drawn.map((p) => p.y), options.yScale);
    const y = options.yScale === 'log' ? d3.scaleLog().domain(yDomain).range([plotHeight, 0]) : d3.scaleLinear().domain(yDomain).range([plotHeight, 0]);

    const tickCount = xTickCount(plotWidth);
    const xAxis = d3.axisBottom(x).tickFormat((v) => formatTick(Number(v)));
    axisX.call(integerX ? xAxis.tickValues(integerTicks(xDomain, tickCount)) : xAxis.ticks(tickCount));
    const yTickMax = Math.max(2, Math.floor(plotHeight / 28));
    const yTickValues =
      options.yScale === 'log' ? logTicks(yDomain, yTickMax) : thinTicks(y.ticks(Math.max(2, Math.floor(plotHeight / 40))), yTickMax);
    axisY.call(
      d3
        .axisLeft(y)
        .tickValues(yTickValues)
        .tickFormat((v) => formatY(Number(v))),
    );
    gridY.call(
      d3
        .axisLeft(y)
        .tickValues(yTickValues)
        .tickSize(-plotWidth)
        .tickFormat(() => ''),
    );

    const line = d3
      .line<LinePoint>()
      .x((p) => x(p.x))
      .y((p) => y(p.y));
    path.attr('d', drawn.length > 0 ? line(drawn) : null);

    const last = drawn[drawn.length - 1];
    if (last) {
      lastDot.attr('display', null).attr('cx', x(last.x)).attr('cy', y(last.y));
      root.dataset.lastY = String(last.y);
    } else {
      lastDot.attr('display', 'none');
      delete root.dataset.lastY;
    }
  }

  const stopObserving = observeWidth(element, (w) => {
    width = w;
    render();
  });
  render();

  return {
    update(data: LinePoint[]) {
      points = data;
      render();
    },
    dispose() {
      stopObserving();
      root.remove();
    },
  };
}
