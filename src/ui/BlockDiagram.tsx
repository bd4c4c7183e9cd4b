import { useMemo } from 'react';
import { useAppStore } from '../store';
import { describeBlock, type BlockDiagramSpec, type DiagramNode, type DiagramNodeKind, type SsmDescription } from './blockDiagram';

/** Width and height of each kind of node, in SVG units. */
const NODE_SIZE: Record<DiagramNodeKind, [number, number]> = {
  io: [54, 26],
  norm: [74, 36],
  linear: [74, 36],
  conv: [80, 36],
  activation: [50, 30],
  ssm: [164, 84],
  multiply: [22, 22],
  add: [22, 22],
  attention: [96, 40],
  mlp: [104, 40],
};

const COLUMN_GAP = 24;
const ROW_GAP = 14;
/** Height of the lane above the first row that residual connections run along. */
const RESIDUAL_LANE = 24;
const MARGIN = 4;
/** Distance from a node's right side at which edges to other rows turn. */
const TURN = 9;

interface Box {
  node: DiagramNode;
  x: number;
  y: number;
  w: number;
  h: number;
  cx: number;
  cy: number;
}

interface Layout {
  boxes: Map<string, Box>;
  rowY: number[];
  width: number;
  height: number;
}

/** Places each node in its column and row: columns as wide as their widest node, rows as tall as their tallest. */
function layOut(spec: BlockDiagramSpec): Layout {
  const colWidth = new Array<number>(spec.columns).fill(0);
  // A row with edges only, such as H3's q, still needs room for its label.
  const rowHeight = new Array<number>(spec.rows).fill(20);
  for (const node of spec.nodes) {
    const [w, h] = NODE_SIZE[node.kind];
    colWidth[node.col] = Math.max(colWidth[node.col], w);
    rowHeight[node.row] = Math.max(rowHeight[node.row], h);
  }
  const colX: number[] = [];
  let x = MARGIN;
  for (const w of colWidth) {
    colX.push(x);
    x += w + COLUMN_GAP;
  }
  const rowY: number[] = [];
  let y = MARGIN + RESIDUAL_LANE;
  for (const h of rowHeight) {
    rowY.push(y + h / 2);
    y += h + ROW_GAP;
  }
  const boxes = new Map<string, Box>();
  for (const node of spec.nodes) {
    const [w, h] = NODE_SIZE[node.kind];
    const cx = colX[node.col] + colWidth[node.col] / 2;
    const cy = rowY[node.row];
    boxes.set(node.id, { node, x: cx - w / 2, y: cy - h / 2, w, h, cx, cy });
  }
  return { boxes, rowY, width: x - COLUMN_GAP + MARGIN, height: y - ROW_GAP + MARGIN };
}

/** SVG path of an edge: along its row, leaving or entering vertically where a node sits on another row. */
function edgePath(from: Box, to: Box, rowY: number): string {
  let d = `M ${from.x + from.w} ${from.cy}`;
  if (from.cy !== rowY) d += ` H ${from.x + from.w + TURN} V ${rowY}`;
  if (to.cy === rowY) return `${d} H ${to.x}`;
  const edgeY = rowY < to.cy ? to.y : to.y + to.h;
  return `${d} H ${to.cx} V ${edgeY}`;
}

function NodeShape({ box, ssm }: { box: Box; ssm: SsmDescription | null }) {
  const { node } = box;
  if (node.kind === 'multiply' || node.kind === 'add') {
    return (
      <g className={`bd-node bd-${node.kind}`}>
        <circle cx={box.cx} cy={box.cy} r={box.w / 2} />
        <text x={box.cx} y={box.cy + 4} textAnchor="middle">
          {node.kind === 'add' ? '+' : '×'}
        </text>
      </g>
    );
  }
  if (node.kind === 'ssm' && ssm) return <SsmShape box={box} ssm={ssm} />;
  const radius = node.kind === 'io' ? box.h / 2 : 6;
  const hasDetail = node.detail !== null;
  return (
    <g className={`bd-node bd-${node.kind}`}>
      <rect x={box.x} y={box.y} width={box.w} height={box.h} rx={radius} />
      <text x={box.cx} y={box.cy + (hasDetail ? -2 : 4)} textAnchor="middle" className="bd-label">
        {node.label}
      </text>
      {hasDetail && (
        <text x={box.cx} y={box.cy + 11} textAnchor="middle" className="bd-detail">
          {node.detail}
        </text>
      )}
    </g>
  );
}

/** Draws the SSM box with Δ, B and C as chips: filled and fed from the input when input-dependent, hollow when fixed. */
function SsmShape({ box, ssm }: { box: Box; ssm: SsmDescription }) {
  const chipW = 30;
  const chipH = 20;
  const spacing = 42;
  const chipY = box.y + 26;
  const busY = chipY + chipH + 6;
  const firstX = box.cx - spacing - chipW / 2;
  const selective = ssm.params.map((p, i) => ({ ...p, x: firstX + i * spacing })).filter((p) => p.inputDependent);
  return (
    <g className="bd-node bd-ssm">
      <rect x={box.x} y={box.y} width={box.w} height={box.h} rx={8} />
      <text x={box.cx} y={box.y + 16} textAnchor="middle" className="bd-label">
        {box.node.label}
      </text>
      {selective.length > 0 && (
        <g className="bd-feed">
          <path d={`M ${box.x} ${box.cy} H ${box.x + 8} V ${busY} H ${selective.at(-1)!.x + chipW / 2}`} />
          {selective.map((p) => (
            <path key={p.symbol} d={`M ${p.x + chipW / 2} ${busY} V ${chipY + chipH}`} markerEnd="url(#bd-arrow-accent)" />
          ))}
        </g>
      )}
      {ssm.params.map((p, i) => (
        <g
          key={p.symbol}
          className={p.inputDependent ? 'bd-chip input-dependent' : 'bd-chip fixed'}
          data-param={p.symbol}
          data-input-dependent={String(p.inputDependent)}
        >
          <title>{`${p.symbol}: ${p.inputDependent ? 'input-dependent, computed from x' : 'fixed, a learned parameter'}`}</title>
          <rect x={firstX + i * spacing} y={chipY} width={chipW} height={chipH} rx={4} />
          <text x={firstX + i * spacing + chipW / 2} y={chipY + 14} textAnchor="middle">
            {p.symbol}
          </text>
        </g>
      ))}
      <text x={box.cx} y={box.y + 66} textAnchor="middle" className="bd-detail">
        {ssm.aLabel}
      </text>
      <text x={box.cx} y={box.y + 78} textAnchor="middle" className="bd-detail">
        {`${ssm.softplus ? 'Δ = softplus(·)' : 'Δ without softplus'} · d_state ${ssm.d_state}`}
      </text>
    </g>
  );
}

/** Draws a block description as SVG, with the residual connections on a lane above the rows. */
export function BlockDiagramSvg({ spec }: { spec: BlockDiagramSpec }) {
  const layout = useMemo(() => layOut(spec), [spec]);
  const { boxes, rowY } = layout;
  const laneY = MARGIN + RESIDUAL_LANE / 2;
  return (
    <svg
      className="block-diagram-svg"
      viewBox={`0 0 ${layout.width} ${layout.height}`}
      role="img"
      aria-label={spec.ariaLabel}
      data-block={spec.title}
    >
      <defs>
        <marker id="bd-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
          <path d="M 0 0 L 8 4 L 0 8 z" className="bd-arrowhead" />
        </marker>
        <marker id="bd-arrow-accent" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="5" markerHeight="5" orient="auto-start-reverse">
          <path d="M 0 0 L 8 4 L 0 8 z" className="bd-arrowhead-accent" />
        </marker>
      </defs>
      {spec.residuals.map(({ from, to }) => {
        const source = boxes.get(from)!;
        const target = boxes.get(to)!;
        // Branch off the main line just after the source, so the residual does not retrace an arrow into it.
        const branchX = source.x + source.w + COLUMN_GAP / 2;
        return (
          <g key={`${from}-${to}`} className="bd-residual">
            <circle cx={branchX} cy={source.cy} r={2.5} />
            <path d={`M ${branchX} ${source.cy} V ${laneY} H ${target.cx} V ${target.y}`} markerEnd="url(#bd-arrow)" />
            <text x={(branchX + target.cx) / 2} y={laneY - 3} textAnchor="middle" className="bd-detail">
              residual
            </text>
          </g>
        );
      })}
      {spec.edges.map((edge) => {
        const from = boxes.get(edge.from)!;
        const to = boxes.get(edge.to)!;
        const y = rowY[edge.row];
        const labelX = from.x + from.w + (from.cy === y ? 4 : TURN + 4);
        return (
          <g key={`${edge.from}-${edge.to}`} className="bd-edge">
            <path d={edgePath(from, to, y)} markerEnd="url(#bd-arrow)" />
            {edge.label && (
              <text x={labelX} y={y - 4} className="bd-edge-label">
                {edge.label}
              </text>
            )}
          </g>
        );
      })}
      {spec.nodes.map((node) => (
        <NodeShape key={node.id} box={boxes.get(node.id)!} ssm={spec.ssm} />
      ))}
    </svg>
  );
}

/** Renders the panel with the diagram of the configured block, which redraws as the controls change the run. */
export function BlockDiagram() {
  const model = useAppStore((state) => state.run.model);
  const spec = useMemo(() => describeBlock(model), [model]);
  return (
    <section className="panel block-diagram" aria-labelledby="block-diagram-title">
      <div className="panel-header">
        <h2 id="block-diagram-title">{spec.title}</h2>
        <span className="block-diagram-dims">{spec.dims}</span>
        {spec.ssm && (
          <span className="block-diagram-legend" aria-hidden="true">
            <span className="legend-chip input-dependent">B</span> input-dependent, computed from x
            <span className="legend-chip fixed">B</span> fixed, a learned parameter
          </span>
        )}
      </div>
      <figure>
        <BlockDiagramSvg spec={spec} />
        <figcaption className="block-diagram-caption">{spec.caption}</figcaption>
      </figure>
    </section>
  );
}
