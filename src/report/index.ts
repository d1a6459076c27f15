/** Report figures and tables: hand-written SVG charts, PNG via @resvg/resvg-js (Node). */
export { lineChart, scatterPlot, heatmap, chartGrid, niceTicks, PALETTE, type Series, type LineChartOptions, type ScatterOptions, type HeatmapOptions } from './svg.js';
export { svgToPng, writeFigure } from './png.js';
export {
  runTableMarkdown,
  trainingCurvesSvg,
  predictedVsTrueSvg,
  confusionSvg,
  robustnessSvg,
  robustnessMarkdown,
  averageMetrics,
  type RunSummary,
  type ActionReport,
  type RobustnessSummary,
  type RobustnessPoint,
} from './report.js';
