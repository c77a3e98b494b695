// Solves the form's proof-of-work challenge before it is sent (see qalqan/public/pow.py):
// the first counter whose SHA-256 of "challenge:counter" starts with `difficulty` zero bits.
// The time typed in the reader's zone is sent as UTC.
(function () {
  "use strict";
  var form = document.getElementById("report");
  if (!form) { return; }
  function zeroBits(hex) {
    var bits = 0;
    for (var i = 0; i < hex.length; i++) {
      var v = parseInt(hex[i], 16);
      if (v === 0) { bits += 4; continue; }
      return bits + (v < 2 ? 3 : v < 4 ? 2 : v < 8 ? 1 : 0);
    }
    return bits;
  }
  function solve(challenge, done) {
    var need = parseInt(challenge.split(".")[2], 10), counter = 0;
    function batch() {
      for (var i = 0; i < 5000; i++, counter++) {
        if (zeroBits(window.qalqanSha256(challenge + ":" + counter)) >= need) { done(String(counter)); return; }
      }
      setTimeout(batch, 0);
    }
    batch();
  }
  form.addEventListener("submit", function (event) {
    if (form.solution.value) { return; }
    event.preventDefault();
    var local = document.getElementById("r-time").value;  // the reader's own clock and zone
    form.elements.time.value = local ? new Date(local).toISOString() : "";
    form.querySelector(".working").hidden = false;
    form.querySelector("button").disabled = true;
    solve(form.challenge.value, function (solution) {
      form.solution.value = solution;
      form.submit();
    });
  });
})();
