/** Report figures and tables: hand-written SVG charts, PNG via @resvg/resvg-js (Node). */
export { lineChart, scatterPlot, heatmap, barChart, chartGrid, niceTicks, PALETTE, type Series, type LineChartOptions, type ScatterOptions, type HeatmapOptions, type BarChartOptions } from './svg.js';
export { svgToPng, writeFigure } from './png.js';
export {
  runTableMarkdown,
  trainingCurvesSvg,
  predictedVsTrueSvg,
  confusionSvg,
  robustnessSvg,
  robustnessMarkdown,
  averageMetrics,
  protocolNote,
  summarizeSeeds,
  summarizeSeedRows,
  type SeedRows,
  seedsTableMarkdown,
  meanStd,
  type SeedsSummary,
  type SeedCell,
  type RunSummary,
  type ActionReport,
  type RobustnessSummary,
  type RobustnessPoint,
} from './report.js';
