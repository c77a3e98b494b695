// Draws the dashboard's charts from the JSON the server put in #chart-data (ECharts, served locally).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var text = { color: "#f2f5f8", fontSize: 16 };
  // one color per route on both the pie and the trend, so a tired eye need not re-match them
  var routeColors = {
    mobile: "#5b8ff9", fixed: "#9a7bff", national: "#5ee08a", international: "#ffb84d",
    voip: "#ff6b5b", unknown: "#8fa3b8"
  };
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    option.animation = false;
    option.textStyle = text;
    echarts.init(el, null, { renderer: "svg" }).setOption(option);
  }
  function byDay(id, series) {
    draw(id, {
      legend: { textStyle: text, top: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.days.map(function (d) { return d.slice(5); }), axisLabel: text },
      yAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#33404f" } } },
      series: series
    });
  }
  function pie(id, items) {
    draw(id, {
      tooltip: { trigger: "item" },
      legend: { bottom: 0, orient: "vertical", textStyle: text },
      series: [{
        type: "pie", radius: ["30%", "55%"], center: ["50%", "40%"], data: items,
        label: { color: "#f2f5f8", fontSize: 18, fontWeight: "bold", formatter: "{c}" }
      }]
    });
  }
  byDay("per-day", [
    { name: data.labels.intercepted, type: "bar", data: data.intercepted, itemStyle: { color: "#ff6b5b" } },
    { name: data.labels.worked, type: "bar", data: data.worked, itemStyle: { color: "#5ee08a" } }
  ]);
  pie("outcomes", data.outcomes);
  data.routes.forEach(function (r) { r.itemStyle = { color: routeColors[r.key] || "#8fa3b8" }; });
  pie("by-route", data.routes);
  pie("by-caller-id", data.caller_ids);
  byDay("trend", data.trend.map(function (s) {
    var color = routeColors[s.key] || "#8fa3b8";
    return {
      name: s.name, type: "line", data: s.data, symbolSize: 8,
      lineStyle: { width: 3, color: color }, itemStyle: { color: color }
    };
  }));
  window.qalqanChartsDrawn = true;
})();
