// Draws a campaign's calls by UTC hour from the JSON the server put in #campaign-data (ECharts, served locally).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("campaign-data").textContent);
  var text = { color: "#f2f5f8", fontSize: 16 };
  echarts.init(document.getElementById("by-hour"), null, { renderer: "svg" }).setOption({
    animation: false,
    textStyle: text,
    grid: { left: 50, right: 20, top: 20, bottom: 50 },
    tooltip: { trigger: "axis" },
    xAxis: {
      type: "category", data: data.hours, name: data.axis, nameLocation: "middle", nameGap: 30,
      nameTextStyle: text, axisLabel: text
    },
    yAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#33404f" } } },
    series: [{ name: data.label, type: "bar", data: data.calls, itemStyle: { color: "#ffb84d" } }]
  });
  window.qalqanCampaignDrawn = true;
})();
