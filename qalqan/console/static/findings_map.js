// Draws the farms on the offline map of the operator's country and its regions from the JSON in #map-data
// (ECharts, served locally; the country's GeoJSON is shipped in static/<iso>.geo.json).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("map-data").textContent);
  var lang = document.documentElement.lang || "en";

  // A region's name in the page's language (as maps.region_name: Kazakh falls back to Russian).
  function localName(p) {
    if (lang === "ru") { return p.name_ru || p.name; }
    if (lang === "kk") { return p.name_kk || p.name_ru || p.name; }
    return p.name;
  }
  // The label drawn on the map: the name without "Region" / "District" / "область" / "район".
  function shortName(name) {
    return name.replace(/ (Region|District|область|облысы|район)$/, "");
  }

  // The country's outline is drawn as a line over the regions; the regions are the map.
  var border = [];
  var regions = [];
  var byEnglish = {};
  (data.outline.features || []).forEach(function (f) {
    var p = f.properties || {};
    if (p.kind === "country") {
      var polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
      polygons.forEach(function (rings) { border.push({ coords: rings[0] }); });
      return;
    }
    var name = localName(p);
    byEnglish[p.name] = name;
    regions.push({
      type: "Feature", geometry: f.geometry,
      properties: { name: name, cp: p.cp, kind: p.kind }
    });
  });
  var cityRegions = regions.filter(function (f) { return f.properties.kind === "city"; })
    .map(function (f) { return { name: f.properties.name, label: { show: false } }; });
  echarts.registerMap("country", { type: "FeatureCollection", features: regions });
  // Many small regions (Azerbaijan's 78 districts and cities) would bury each other's names:
  // then only the cities' names are drawn, the others' on hover.
  var crowded = regions.length > 30;

  // Lines of text as a tooltip element: each line a text node, so nothing in them is markup.
  function lines(texts) {
    var box = document.createElement("div");
    texts.forEach(function (t, i) {
      if (i > 0) { box.appendChild(document.createElement("br")); }
      box.appendChild(document.createTextNode(String(t)));
    });
    return box;
  }

  var text = { color: "#f2f5f8", fontSize: 16 };
  var maxSims = data.farms.reduce(function (m, f) { return Math.max(m, f.value[2]); }, 1);
  var chart = echarts.init(document.getElementById("farm-map"), null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    textStyle: text,
    tooltip: {
      trigger: "item",
      // An element of text nodes, never a string: ECharts reads a string as HTML, and a farm's
      // id comes from the analysed data.
      formatter: function (p) {
        if (p.seriesId !== "farms") { return lines([p.name]); }
        var region = p.data.region ? byEnglish[p.data.region] || p.data.region : "";
        return lines([
          data.labels.farm + " " + p.name + (region ? " — " + region : ""),
          data.labels.sims + ": " + p.value[2],
          p.value[1].toFixed(3) + ", " + p.value[0].toFixed(3)
        ]);
      }
    },
    geo: {
      map: "country", roam: true, selectedMode: false,
      tooltip: { show: true },
      itemStyle: { areaColor: "#22303f", borderColor: "#4f6275", borderWidth: 0.6 },
      label: {
        show: !crowded, color: "rgba(184, 196, 208, 0.45)", fontSize: 11,
        formatter: function (p) { return shortName(p.name); }
      },
      emphasis: {
        itemStyle: { areaColor: "#2b3c4f" },
        label: { show: true, color: "#dfe6ee" }
      },
      regions: cityRegions
    },
    series: [
      {
        id: "border", type: "lines", coordinateSystem: "geo", polyline: true, silent: true,
        data: border, lineStyle: { color: "#8fa3b8", width: 1.5, opacity: 1 }
      },
      {
        id: "cities", type: "scatter", coordinateSystem: "geo", data: data.cities, symbolSize: 6,
        itemStyle: { color: "#8fa3b8" },
        label: { show: true, position: "right", formatter: "{b}", color: "#b8c4d0", fontSize: 13 }
      },
      {
        id: "farms", type: "scatter", coordinateSystem: "geo", data: data.farms,
        symbolSize: function (v) { return 14 + 26 * Math.sqrt(v[2] / maxSims); },
        itemStyle: { color: "#ff6b5b", borderColor: "#ffffff", borderWidth: 2 },
        label: { show: true, position: "top", formatter: "{b} · {@[2]}", color: "#ffffff", fontSize: 15, fontWeight: "bold" },
        cursor: "pointer"
      }
    ]
  });
  chart.on("click", function (p) {
    if (p.seriesId === "farms" && p.data && p.data.alert_id) { window.location.href = "/alerts/" + p.data.alert_id; }
  });
  window.qalqanMapDrawn = true;
})();
