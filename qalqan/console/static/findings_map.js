// Draws the farms on the offline outline of Kazakhstan from the JSON in #map-data (ECharts, served locally).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("map-data").textContent);
  echarts.registerMap("kazakhstan", data.outline);
  var text = { color: "#f2f5f8", fontSize: 16 };
  var maxSims = data.farms.reduce(function (m, f) { return Math.max(m, f.value[2]); }, 1);
  var chart = echarts.init(document.getElementById("farm-map"), null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    textStyle: text,
    tooltip: {
      trigger: "item",
      formatter: function (p) {
        if (p.seriesIndex !== 1) { return p.name; }
        return data.labels.farm + " " + p.name + "<br>" + data.labels.sims + ": " + p.value[2] +
          "<br>" + p.value[1].toFixed(3) + ", " + p.value[0].toFixed(3);
      }
    },
    geo: {
      map: "kazakhstan", roam: true, silent: true,
      itemStyle: { areaColor: "#22303f", borderColor: "#8fa3b8", borderWidth: 1.5 }
    },
    series: [
      {
        type: "scatter", coordinateSystem: "geo", data: data.cities, symbolSize: 6,
        itemStyle: { color: "#8fa3b8" },
        label: { show: true, position: "right", formatter: "{b}", color: "#b8c4d0", fontSize: 13 }
      },
      {
        type: "scatter", coordinateSystem: "geo", data: data.farms,
        symbolSize: function (v) { return 14 + 26 * Math.sqrt(v[2] / maxSims); },
        itemStyle: { color: "#ff6b5b", borderColor: "#ffffff", borderWidth: 2 },
        label: { show: true, position: "top", formatter: "{b} · {@[2]}", color: "#ffffff", fontSize: 15, fontWeight: "bold" },
        cursor: "pointer"
      }
    ]
  });
  chart.on("click", function (p) {
    if (p.seriesIndex === 1 && p.data && p.data.alert_id) { window.location.href = "/alerts/" + p.data.alert_id; }
  });
  window.qalqanMapDrawn = true;
})();
