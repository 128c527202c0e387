// 统计: satisfaction per department and item, the rectification on-time rate and 网上可办率 per department, as
// charts (Chart.js, vendored under vendor/, loaded when this page is first opened) and as tables for screen
// readers and for anyone who prefers numbers.

import { getJson } from "./api.js";
import { el, heading, percent } from "./ui.js";

const BLUE = "#1765d8";
const GREEN = "#1f8a4c";
const RED = "#c4322b";
let chartLibrary = null;

function loadCharts() {
  chartLibrary ||= new Promise((resolve, reject) => {
    const script = el("script", { src: "vendor/chart.umd.min.js" });
    script.addEventListener("load", () => resolve(window.Chart));
    script.addEventListener("error", () => { chartLibrary = null; reject(new Error("图表组件加载失败，请刷新重试。")); });
    document.head.append(script);
  });
  return chartLibrary;
}

function table(caption, head, rows) {
  return el("table", { class: "numbers" }, el("caption", {}, caption),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, el("th", { scope: "row" }, r[0]),
                                     r.slice(1).map((v) => el("td", {}, v))))));
}

function chartCard(title, id, summary, numbers) {
  const canvas = el("canvas", { id, role: "img", "aria-label": summary, testid: "chart" });
  return {
    canvas,
    card: el("section", { class: "card chart-card", "aria-labelledby": `${id}-title` },
      el("h2", { id: `${id}-title` }, title), el("div", { class: "chart-box" }, canvas),
      el("details", {}, el("summary", {}, "查看数据"), numbers)),
  };
}

const NARROW = 600;  // below this width a long department name is cut (the table under the chart has it whole)

function shortName(department) {
  const name = department.replace(/^德令哈市/, "");
  return window.innerWidth < NARROW && name.length > 7 ? `${name.slice(0, 6)}…` : name;
}

function barOptions(horizontal) {
  return {
    indexAxis: horizontal ? "y" : "x",
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    scales: {
      [horizontal ? "x" : "y"]: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } },
    },
    plugins: { legend: { position: "bottom" },
               tooltip: { callbacks: { label: (c) => `${c.dataset.label}：${c.parsed[horizontal ? "x" : "y"]}%` } } },
  };
}

export async function renderStats(view, { current }) {
  const [stats, Chart] = await Promise.all([getJson("/api/v1/staff/statistics"), loadCharts()]);
  if (!current()) return;  // another page was opened meanwhile
  const departments = Object.entries(stats.departments);
  const online = Object.entries(stats.online_rates || {}).sort((a, b) => b[1] - a[1]);
  const rect = stats.rectification;

  const satisfaction = chartCard("各部门满意度", "chart-satisfaction",
    departments.length ? `各部门满意率与差评率，共 ${departments.length} 个部门` : "还没有评价",
    table("各部门评价", ["部门", "评价数", "满意率", "差评率"],
          departments.map(([d, r]) => [d, r.ratings, percent(r.satisfaction_rate), percent(r.bad_rate)])));
  const onlineCard = chartCard("各部门网上可办率", "chart-online",
    `网上可办率，全市 ${percent(stats.online_rate)}`,
    table("各部门网上可办率", ["部门", "网上可办率"], online.map(([d, r]) => [d, percent(r)])));

  const summary = el("div", { class: "kpis" },
    el("div", { class: "kpi" }, el("span", { class: "kpi-value", testid: "kpi-online" }, percent(stats.online_rate)),
       el("span", {}, "全市网上可办率")),
    el("div", { class: "kpi" }, el("span", { class: "kpi-value", testid: "kpi-ontime" }, percent(rect.on_time_rate)),
       el("span", {}, "整改按时办结率")),
    el("div", { class: "kpi" }, el("span", { class: "kpi-value" }, `${rect.closed}/${rect.tickets}`),
       el("span", {}, "整改工单 已办结/总数")));

  view.replaceChildren(heading("统计"), summary, el("div", { class: "chart-grid" }, satisfaction.card,
                                                         onlineCard.card));
  if (departments.length) {
    new Chart(satisfaction.canvas, {
      type: "bar",
      data: {
        labels: departments.map(([d]) => shortName(d)),
        datasets: [
          { label: "满意率", data: departments.map(([, r]) => r.satisfaction_rate * 100), backgroundColor: GREEN,
            maxBarThickness: 48 },
          { label: "差评率", data: departments.map(([, r]) => r.bad_rate * 100), backgroundColor: RED,
            maxBarThickness: 48 },
        ],
      },
      options: barOptions(false),
    });
  } else {
    satisfaction.canvas.replaceWith(el("p", { class: "empty" }, "还没有评价数据。"));
  }
  onlineCard.canvas.parentElement.style.height = `${Math.max(200, online.length * 28 + 60)}px`;
  new Chart(onlineCard.canvas, {
    type: "bar",
    data: { labels: online.map(([d]) => shortName(d)),
            datasets: [{ label: "网上可办率", data: online.map(([, r]) => r * 100), backgroundColor: BLUE }] },
    options: barOptions(true),
  });
}
