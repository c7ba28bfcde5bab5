// Draws a Grafana dashboard's panels as one SVG from query results, laid out
// on Grafana's grid: a picture of the dashboard where Grafana itself is not.

/** One series of a panel: its legend and its [unix seconds, value] points. */
export interface DrawnSeries {
  legend: string;
  points: [number, number][];
}

/** A panel as the dashboard JSON gives it, with its query results. */
export interface DrawnPanel {
  title: string;
  type: string;
  unit: string;
  gridPos: { x: number; y: number; w: number; h: number };
  series: DrawnSeries[];
}

const COLUMN = 50;
const ROW = 30;
const GAP = 6;
const COLORS = [
  "#73bf69",
  "#f2cc0c",
  "#5794f2",
  "#ff780a",
  "#b877d9",
  "#f2495c",
  "#8ab8ff",
  "#ffb357",
];

const escape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** `value` in `unit`, short, as Grafana would show it. */
function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "-";
  const binary = (suffix: string) => {
    let scaled = value;
    let prefix = 0;
    while (Math.abs(scaled) >= 1024 && prefix < 4) (scaled /= 1024, prefix++);
    return `${+scaled.toPrecision(3)} ${
      ["", "Ki", "Mi", "Gi", "Ti"][prefix]
    }${suffix}`;
  };
  switch (unit) {
    case "bytes":
      return binary("B");
    case "binBps":
      return binary("B/s");
    case "percentunit":
      return `${+(value * 100).toPrecision(3)}%`;
    case "s":
      return value < 1
        ? `${+(value * 1000).toPrecision(3)} ms`
        : `${+value.toPrecision(3)} s`;
    case "cps":
    case "reqps":
      return `${+value.toPrecision(3)}/s`;
    default:
      return `${+value.toPrecision(3)}`;
  }
}

function drawStat(panel: DrawnPanel, width: number, height: number): string {
  const last = panel.series[0]?.points.at(-1)?.[1] ?? NaN;
  return `<text x="${width / 2}" y="${height / 2 + 22}" font-size="34" fill="${
    COLORS[0]
  }" text-anchor="middle">${escape(format(last, panel.unit))}</text>`;
}

function drawTimeseries(
  panel: DrawnPanel,
  width: number,
  height: number,
  range: { start: number; end: number },
): string {
  const legendRows = Math.ceil(panel.series.length / 2);
  const plot = {
    x: 60,
    y: 30,
    w: width - 70,
    h: height - 42 - 14 * legendRows,
  };
  const values = panel.series.flatMap((series) =>
    series.points.map(([, value]) => value)
  ).filter(Number.isFinite);
  const max = Math.max(...values, 0) || 1;
  const x = (t: number) =>
    plot.x + (t - range.start) / (range.end - range.start) * plot.w;
  const y = (v: number) => plot.y + plot.h - v / max * plot.h;
  const parts = [
    `<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${
      plot.y + plot.h
    }" stroke="#444"/>`,
    `<text x="${plot.x - 4}" y="${
      plot.y + 4
    }" font-size="10" fill="#aaa" text-anchor="end">${
      escape(format(max, panel.unit))
    }</text>`,
    `<text x="${plot.x - 4}" y="${
      plot.y + plot.h
    }" font-size="10" fill="#aaa" text-anchor="end">0</text>`,
  ];
  if (panel.series.length === 0) {
    parts.push(
      `<text x="${plot.x + plot.w / 2}" y="${
        plot.y + plot.h / 2
      }" font-size="13" fill="#888" text-anchor="middle">No data</text>`,
    );
  }
  panel.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    const points = series.points.filter(([, value]) => Number.isFinite(value))
      .map(([t, value]) => `${x(t).toFixed(1)},${y(value).toFixed(1)}`);
    parts.push(
      `<polyline points="${
        points.join(" ")
      }" fill="none" stroke="${color}" stroke-width="1.5"/>`,
    );
    const legendX = 10 + (i % 2) * (width / 2);
    const legendY = plot.y + plot.h + 16 + Math.floor(i / 2) * 14;
    parts.push(
      `<rect x="${legendX}" y="${
        legendY - 8
      }" width="10" height="3" fill="${color}"/>`,
      `<text x="${legendX + 14}" y="${
        legendY - 3
      }" font-size="10" fill="#ccc">${escape(series.legend)}</text>`,
    );
  });
  return parts.join("");
}

/** The panels drawn as an SVG document, titled `title`. */
export function dashboardSvg(
  title: string,
  panels: DrawnPanel[],
  range: { start: number; end: number },
): string {
  const rows = Math.max(...panels.map((p) => p.gridPos.y + p.gridPos.h));
  const width = 24 * COLUMN;
  const height = rows * ROW + 40;
  const drawn = panels.map((panel) => {
    const { x, y, w, h } = panel.gridPos;
    const [pw, ph] = [w * COLUMN - GAP, h * ROW - GAP];
    const body = panel.type === "stat"
      ? drawStat(panel, pw, ph)
      : drawTimeseries(panel, pw, ph, range);
    return `<g transform="translate(${x * COLUMN + GAP / 2},${
      40 + y * ROW + GAP / 2
    })"><rect width="${pw}" height="${ph}" rx="3" fill="#181b1f" stroke="#2c3235"/><text x="10" y="18" font-size="13" fill="#e0e0e0">${
      escape(panel.title)
    }</text>${body}</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="#111217"/><text x="10" y="26" font-size="18" fill="#e0e0e0">${
    escape(title)
  }</text>${drawn.join("")}</svg>\n`;
}
