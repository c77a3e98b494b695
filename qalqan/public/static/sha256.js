// SHA-256 of a string's UTF-8 bytes as hex, in plain JavaScript (crypto.subtle is asynchronous
// and absent outside secure contexts). Checked against Python's hashlib in tests/public.
(function () {
  "use strict";
  var K = [];
  (function () {
    var n = 2, found = 0;
    function frac(x) { return ((x - Math.floor(x)) * 4294967296) | 0; }
    while (found < 64) {
      var prime = true;
      for (var f = 2; f * f <= n; f++) { if (n % f === 0) { prime = false; break; } }
      if (prime) { K[found++] = frac(Math.pow(n, 1 / 3)); }
      n++;
    }
  })();
  var H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }
  function sha256(text) {
    var bytes = unescape(encodeURIComponent(text)), len = bytes.length;
    var words = [], i;
    for (i = 0; i < len; i++) { words[i >> 2] |= (bytes.charCodeAt(i) & 0xff) << (24 - (i % 4) * 8); }
    words[len >> 2] |= 0x80 << (24 - (len % 4) * 8);
    var total = (((len + 8) >> 6) + 1) * 16;
    for (i = words.length; i < total; i++) { words[i] = words[i] | 0; }
    words[total - 1] = len * 8;
    var h = H0.slice(), w = new Array(64);
    for (var block = 0; block < total; block += 16) {
      for (i = 0; i < 64; i++) {
        if (i < 16) { w[i] = words[block + i] | 0; }
        else {
          var a = w[i - 15], b = w[i - 2];
          var s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3), s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
          w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
        }
      }
      var A = h[0], B = h[1], C = h[2], D = h[3], E = h[4], F = h[5], G = h[6], Hh = h[7];
      for (i = 0; i < 64; i++) {
        var S1 = rotr(E, 6) ^ rotr(E, 11) ^ rotr(E, 25), ch = (E & F) ^ (~E & G);
        var t1 = (Hh + S1 + ch + K[i] + w[i]) | 0;
        var S0 = rotr(A, 2) ^ rotr(A, 13) ^ rotr(A, 22), maj = (A & B) ^ (A & C) ^ (B & C);
        var t2 = (S0 + maj) | 0;
        Hh = G; G = F; F = E; E = (D + t1) | 0; D = C; C = B; B = A; A = (t1 + t2) | 0;
      }
      h[0] = (h[0] + A) | 0; h[1] = (h[1] + B) | 0; h[2] = (h[2] + C) | 0; h[3] = (h[3] + D) | 0;
      h[4] = (h[4] + E) | 0; h[5] = (h[5] + F) | 0; h[6] = (h[6] + G) | 0; h[7] = (h[7] + Hh) | 0;
    }
    var out = "";
    for (i = 0; i < 8; i++) { out += ("00000000" + (h[i] >>> 0).toString(16)).slice(-8); }
    return out;
  }
  window.qalqanSha256 = sha256;
})();
