// Draws a case's links (Cytoscape.js, served locally) from the JSON the server put in #graph-data.
(function () {
  "use strict";
  var box = document.getElementById("case-graph");
  if (!box) { return; }
  var elements = JSON.parse(document.getElementById("graph-data").textContent);
  var colour = { "case": "#ffd23f", episode: "#ff6b5b", victim: "#5ee08a" };
  var graph = cytoscape({
    container: box,
    elements: elements,
    // A small case reads best in rings: the case in the middle, its calls and findings around
    // it, what they link outside. A large one is laid out by force, so that what many calls
    // share (a farm's handset, a cell, a campaign) pulls them together; labels too small to
    // read at the zoom that fits it are hidden until one zooms in (mouse wheel, pinch).
    layout: elements.filter(function (e) { return !e.data.source; }).length <= 25
      ? { name: "concentric", animate: false, padding: 30, minNodeSpacing: 12,
          nodeDimensionsIncludeLabels: true, levelWidth: function () { return 1; },
          concentric: function (n) { return n.hasClass("case") ? 3 : n.hasClass("episode") ? 2 : 1; } }
      : { name: "cose", animate: false, randomize: false, padding: 20, nodeRepulsion: function () { return 40000; },
          idealEdgeLength: function () { return 90; }, gravity: 0.4, numIter: 2000 },
    style: [
      { selector: "node", style: {
          "background-color": function (n) { return colour[n.classes()[0]] || "#8cc8ff"; },
          "label": "data(label)", "color": "#f2f5f8", "font-size": 17, "text-valign": "bottom",
          "text-margin-y": 4, "text-wrap": "wrap", "text-max-width": 160, "width": 22, "height": 22,
          "min-zoomed-font-size": 9 } },
      // In a large case only what ties calls together is named; a thing of one call only is
      // named when pointed at.
      { selector: "node.leaf", style: { "label": "", "width": 14, "height": 14 } },
      { selector: "node.leaf.hover", style: { "label": "data(label)", "z-index": 10 } },
      { selector: "node.case", style: { "width": 34, "height": 34, "shape": "round-rectangle" } },
      { selector: "edge", style: { "width": 2, "line-color": "#5b6b7d", "curve-style": "bezier" } },
      { selector: "edge:selected, edge.hover", style: {
          "label": "data(label)", "font-size": 13, "color": "#ffd23f", "line-color": "#ffd23f" } }
    ]
  });
  if (graph.nodes().length > 25) {
    graph.nodes().filter(function (n) { return n.degree() < 2 && !n.hasClass("case"); }).addClass("leaf");
  }
  graph.on("mouseover", "node", function (event) { event.target.addClass("hover"); });
  graph.on("mouseout", "node", function (event) { event.target.removeClass("hover"); });
  graph.on("mouseover", "edge", function (event) { event.target.addClass("hover"); });
  graph.on("mouseout", "edge", function (event) { event.target.removeClass("hover"); });
  graph.on("tap", "node", function (event) {
    var id = event.target.id();
    if (id.indexOf("alert:") === 0) { window.location.href = "/alerts/" + id.slice(6); }
  });
  window.qalqanGraphDrawn = graph.nodes().length;
})();
