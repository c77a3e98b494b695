// Draws the dashboard's charts from the JSON the server put in #chart-data (ECharts, served locally).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var text = { color: "#f2f5f8", fontSize: 16 };
  var perDay = document.getElementById("per-day");
  if (perDay) {
    echarts.init(perDay, null, { renderer: "svg" }).setOption({
      animation: false,
      textStyle: text,
      legend: { textStyle: text, top: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.days.map(function (d) { return d.slice(5); }), axisLabel: text },
      yAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#33404f" } } },
      series: [
        { name: data.labels.intercepted, type: "bar", data: data.intercepted, itemStyle: { color: "#ff6b5b" } },
        { name: data.labels.worked, type: "bar", data: data.worked, itemStyle: { color: "#5ee08a" } }
      ]
    });
  }
  var outcomes = document.getElementById("outcomes");
  if (outcomes) {
    echarts.init(outcomes, null, { renderer: "svg" }).setOption({
      animation: false,
      textStyle: text,
      tooltip: { trigger: "item" },
      legend: { bottom: 0, orient: "vertical", textStyle: text },
      series: [{
        type: "pie", radius: ["30%", "55%"], center: ["50%", "40%"], data: data.outcomes,
        label: { color: "#f2f5f8", fontSize: 18, fontWeight: "bold", formatter: "{c}" }
      }]
    });
  }
  // one color per route on both the pie and the trend, so a tired eye need not re-match them
  var routeColors = {
    mobile: "#5b8ff9", fixed: "#9a7bff", national: "#5ee08a", international: "#ffb84d",
    voip: "#ff6b5b", unknown: "#8fa3b8"
  };
  data.routes.forEach(function (r) { r.itemStyle = { color: routeColors[r.key] || "#8fa3b8" }; });
  function pie(id, items) {
    var el = document.getElementById(id);
    if (!el) { return; }
    echarts.init(el, null, { renderer: "svg" }).setOption({
      animation: false,
      textStyle: text,
      tooltip: { trigger: "item" },
      legend: { bottom: 0, orient: "vertical", textStyle: text },
      series: [{
        type: "pie", radius: ["30%", "55%"], center: ["50%", "40%"], data: items,
        label: { color: "#f2f5f8", fontSize: 18, fontWeight: "bold", formatter: "{c}" }
      }]
    });
  }
  pie("by-route", data.routes);
  pie("by-caller-id", data.caller_ids);
  var trend = document.getElementById("trend");
  if (trend) {
    echarts.init(trend, null, { renderer: "svg" }).setOption({
      animation: false,
      textStyle: text,
      legend: { textStyle: text, top: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.days.map(function (d) { return d.slice(5); }), axisLabel: text },
      yAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#33404f" } } },
      series: data.trend.map(function (s) {
        var color = routeColors[s.key] || "#8fa3b8";
        return {
          name: s.name, type: "line", data: s.data, symbolSize: 8,
          lineStyle: { width: 3, color: color }, itemStyle: { color: color }
        };
      })
    });
  }
  window.qalqanChartsDrawn = true;
})();
