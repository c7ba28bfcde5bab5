/**
 * The benchmark's results as a chart: for each figure, the service's ratio
 * to each baseline as a bar from 1x on a log scale, the spread of the
 * per-round ratios as a whisker, and the target as a black mark. The half of
 * the axis where the service does better is shaded. `run.ts` writes it as
 * results.svg beside RESULTS.md; this also redraws it from a results.json:
 *
 * ```sh
 * deno run --allow-read --allow-write bench/chart.ts [bench/results.json]
 * ```
 *
 * @module
 */
import type { Ratios } from "./results.ts";
import type { ServerName } from "./servers.ts";

/** What the chart reads of one figure in results.json. */
export interface ChartFigure {
  label: string;
  better: "higher" | "lower";
  runs: Partial<Record<ServerName, number[]>>;
  ratio: Ratios;
  target?: string;
  targetRatio?: Ratios;
}

/** What the chart reads of results.json. */
export interface ChartResults {
  date: string;
  mode: string;
  figures: Record<string, ChartFigure>;
}

const BASELINES = [
  { key: "toDeno", server: "deno", name: "bare Deno", color: "#3b6db3" },
  { key: "toNode", server: "node", name: "Node", color: "#c77c1e" },
] as const;

const WIDTH = 840;
const PLOT_LEFT = 330;
const PLOT_RIGHT = 700;
const TOP = 70;
const BAR = 11;
const HEADER = 17;
const GAP = 12;
/** The axis runs from 1/4x to 4x; ratios beyond are drawn at its end. */
const LOG2_LIMIT = 2;
const TICKS = [0.25, 0.5, 1, 2, 4];

/**
 * Draws the figures that have a ratio to a baseline as an SVG document.
 *
 * @example
 * ```ts
 * import { chartSvg } from "./chart.ts";
 * import assert from "node:assert/strict";
 *
 * const svg = chartSvg({
 *   date: "2026-11-25T06:00:00.000Z",
 *   mode: "full",
 *   figures: {
 *     streamRate: {
 *       label: "stream, MB/s",
 *       better: "higher",
 *       runs: { service: [110, 100], deno: [100, 100] },
 *       ratio: { toDeno: 1.05 },
 *       target: "≥0.95x Deno",
 *       targetRatio: { toDeno: 0.95 },
 *     },
 *   },
 * });
 * assert.match(svg, /^<svg /);
 * assert.match(svg, /stream, MB\/s/);
 * assert.match(svg, /<title>bare Deno: 1\.05x \(rounds 1\.00x to 1\.10x\); target 0\.95x, met<\/title>/);
 * ```
 */
export function chartSvg(results: ChartResults): string {
  const figures = Object.values(results.figures).filter((figure) =>
    BASELINES.some(({ key }) => figure.ratio[key] !== undefined)
  );
  const parts: string[] = [];
  let y = TOP;
  for (const figure of figures) {
    parts.push(...drawFigure(figure, y));
    y += HEADER + BASELINES.length * (BAR + 4) + GAP;
  }
  const height = y + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    text(10, 22, "echoserver: the service's figures ÷ each baseline's", {
      size: 15,
      weight: "bold",
    }),
    text(
      10,
      40,
      `Medians (${results.mode} run, ${results.date.slice(0, 10)}); ` +
        "whiskers: each round's ratio; black mark: the target; " +
        "shaded: where the service does better.",
    ),
    ...legend(),
    ...axis(TOP - 8, height - 14),
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

function drawFigure(figure: ChartFigure, top: number): string[] {
  const rowsHeight = BASELINES.length * (BAR + 4);
  const [shadeFrom, shadeTo] = figure.better === "higher"
    ? [x(1), PLOT_RIGHT]
    : [PLOT_LEFT, x(1)];
  const parts = [
    rect(shadeFrom, top + HEADER - 2, shadeTo - shadeFrom, rowsHeight, {
      fill: "#e6f4ea",
    }),
    text(10, top + 12, figure.label, { weight: "bold" }),
    text(
      10,
      top + HEADER + 10,
      `${figure.better} is better${
        figure.target ? `; target ${figure.target}` : ""
      }`,
      { fill: "#555" },
    ),
  ];
  BASELINES.forEach((baseline, row) => {
    const ratio = figure.ratio[baseline.key];
    if (ratio === undefined) return;
    const y = top + HEADER + row * (BAR + 4);
    const spread = roundRatios(figure, baseline.server);
    const target = figure.targetRatio?.[baseline.key];
    const met = target === undefined
      ? undefined
      : figure.better === "higher"
      ? ratio >= target
      : ratio <= target;
    const from = Math.min(x(1), x(ratio));
    parts.push(
      `<g><title>${
        escape(
          `${baseline.name}: ${times(ratio)}` +
            (spread
              ? ` (rounds ${times(spread[0])} to ${times(spread[1])})`
              : "") +
            (target === undefined
              ? ""
              : `; target ${times(target)}, ${met ? "met" : "missed"}`),
        )
      }</title>`,
      rect(from, y, Math.max(1, Math.abs(x(ratio) - x(1))), BAR, {
        fill: baseline.color,
      }),
      ...(spread
        ? [line(x(spread[0]), y + BAR / 2, x(spread[1]), y + BAR / 2, "#222")]
        : []),
      ...(target === undefined ? [] : [
        line(x(target), y - 2, x(target), y + BAR + 2, "#000", 3),
      ]),
      text(
        PLOT_RIGHT + 8,
        y + BAR - 1,
        `${times(ratio)} ${baseline.name}${
          met === undefined ? "" : met ? " ✓" : " ✗"
        }`,
        { fill: met === false ? "#b00020" : "#222" },
      ),
      "</g>",
    );
  });
  return parts;
}

/** The least and greatest ratio of a service run to the same round's baseline run. */
function roundRatios(
  figure: ChartFigure,
  server: ServerName,
): [number, number] | undefined {
  const service = figure.runs.service ?? [];
  const baseline = figure.runs[server] ?? [];
  const ratios = service.slice(0, baseline.length)
    .map((value, round) => value / baseline[round])
    .filter(Number.isFinite);
  return ratios.length > 1
    ? [Math.min(...ratios), Math.max(...ratios)]
    : undefined;
}

function legend(): string[] {
  return BASELINES.flatMap((baseline, i) => [
    rect(10 + i * 120, 50, 12, 10, { fill: baseline.color }),
    text(27 + i * 120, 59, `÷ ${baseline.name}`),
  ]);
}

function axis(top: number, bottom: number): string[] {
  return TICKS.flatMap((tick) => [
    line(x(tick), top, x(tick), bottom, tick === 1 ? "#888" : "#ddd"),
    text(x(tick), top - 2, times(tick), { anchor: "middle", fill: "#555" }),
  ]);
}

/** Where a ratio is on the log axis, clamped to its ends. */
function x(ratio: number): number {
  const log = Math.max(-LOG2_LIMIT, Math.min(LOG2_LIMIT, Math.log2(ratio)));
  const middle = (PLOT_LEFT + PLOT_RIGHT) / 2;
  return round(middle + log / LOG2_LIMIT * (PLOT_RIGHT - PLOT_LEFT) / 2);
}

function times(ratio: number): string {
  return `${ratio.toFixed(2)}x`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function rect(
  x: number,
  y: number,
  width: number,
  height: number,
  { fill }: { fill: string },
): string {
  return `<rect x="${round(x)}" y="${round(y)}" width="${round(width)}" ` +
    `height="${round(height)}" fill="${fill}"/>`;
}

function line(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  stroke: string,
  width = 1,
): string {
  return `<line x1="${round(x1)}" y1="${round(y1)}" x2="${round(x2)}" ` +
    `y2="${round(y2)}" stroke="${stroke}" stroke-width="${width}"/>`;
}

function text(
  x: number,
  y: number,
  content: string,
  style: { size?: number; weight?: string; fill?: string; anchor?: string } =
    {},
): string {
  const attributes = [
    style.size ? ` font-size="${style.size}"` : "",
    style.weight ? ` font-weight="${style.weight}"` : "",
    style.fill ? ` fill="${style.fill}"` : "",
    style.anchor ? ` text-anchor="${style.anchor}"` : "",
  ].join("");
  return `<text x="${round(x)}" y="${round(y)}"${attributes}>${
    escape(content)
  }</text>`;
}

function escape(content: string): string {
  return content.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}

if (import.meta.main) {
  const path = Deno.args[0] ?? "bench/results.json";
  const results = JSON.parse(await Deno.readTextFile(path)) as ChartResults;
  const output = path.replace(/\.json$/, ".svg");
  await Deno.writeTextFile(output, chartSvg(results));
  console.log(`wrote ${output}`);
}
