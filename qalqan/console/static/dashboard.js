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
  window.qalqanChartsDrawn = true;
})();
