// ECharts, only the parts the dashboard draws (keeps the bundle small). Every chart gets a
// text label for screen readers and is resized with its container.

import { BarChart, LineChart, ScatterChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, AriaComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, ScatterChart, PieChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent,
  AriaComponent, CanvasRenderer]);

export type ChartOption = echarts.EChartsCoreOption;

const live = new Set<echarts.ECharts>();
window.addEventListener("resize", () => live.forEach((chart) => chart.resize()));

export const palette = ["#1f4e79", "#d9822b", "#2e8540", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#f1c40f"];

// A chart in a new element; `label` describes it for assistive technology.
export function chart(label: string, option: ChartOption, testId?: string): HTMLElement {
  const el = document.createElement("div");
  el.className = "chart";
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", label);
  if (testId) el.dataset.testid = testId;
  // Drawn once the element is in the page and has a size.
  requestAnimationFrame(() => {
    const instance = echarts.init(el, undefined, { renderer: "canvas" });
    instance.setOption({ color: palette, aria: { enabled: true }, animation: false, ...option });
    live.add(instance);
    el.dataset.rendered = "true";
  });
  return el;
}

// Drops the charts of a page that is being replaced.
export function disposeCharts(root: Element): void {
  root.querySelectorAll<HTMLElement>(".chart").forEach((el) => {
    const instance = echarts.getInstanceByDom(el);
    if (instance) {
      live.delete(instance);
      instance.dispose();
    }
  });
}
