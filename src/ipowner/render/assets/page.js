(function () {
  'use strict';
  // Sortable tables: a button in each header cell; aria-sort on the sorted column. A table with one
  // tbody per item (a row and its detail row) sorts its tbodies, any other table its rows. Ties keep
  // the report's order (data-i).
  function key(cell, type) {
    var v = cell ? cell.getAttribute('data-v') : null;
    if (v === null) { v = cell ? cell.textContent.trim() : ''; }
    if (type === 'num') { var n = parseFloat(v); return isNaN(n) ? -Infinity : n; }
    return v.toLowerCase();
  }
  function sort(table, th) {
    var type = th.getAttribute('data-type') || 'text';
    var col = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var cur = th.getAttribute('aria-sort');
    var dir = cur === 'ascending' ? 'descending' : cur === 'descending' ? 'ascending'
      : (type === 'num' ? 'descending' : 'ascending');
    table.querySelectorAll('thead th[aria-sort]').forEach(function (o) { o.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    var grouped = table.tBodies.length > 1;
    var parent = grouped ? table : table.tBodies[0];
    var items = Array.prototype.slice.call(grouped ? table.tBodies : parent.rows);
    items.map(function (it) {
      return { it: it, k: key((grouped ? it.rows[0] : it).cells[col], type), i: +it.getAttribute('data-i') };
    }).sort(function (a, b) {
      var c = a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
      return (dir === 'descending' ? -c : c) || a.i - b.i;
    }).forEach(function (x) { parent.appendChild(x.it); });
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var grouped = table.tBodies.length > 1;
    Array.prototype.forEach.call(grouped ? table.tBodies : table.tBodies[0].rows, function (it, i) {
      it.setAttribute('data-i', i);
    });
    table.querySelectorAll('thead th button').forEach(function (b) {
      b.addEventListener('click', function () { sort(table, b.parentNode); });
    });
  });
  // Detail rows: a button with aria-expanded shows or hides the row it controls.
  document.querySelectorAll('button.more').forEach(function (b) {
    b.addEventListener('click', function () {
      var row = document.getElementById(b.getAttribute('aria-controls'));
      var open = b.getAttribute('aria-expanded') === 'true';
      b.setAttribute('aria-expanded', open ? 'false' : 'true');
      if (row) { row.hidden = open; }
    });
  });
  // Map: hovering or focusing a country writes its values under the map.
  var map = document.getElementById('worldmap');
  var info = document.getElementById('map-info');
  if (map && info) {
    var show = function (e) {
      var el = e.target.closest ? e.target.closest('[data-cc]') : null;
      var t = el ? el.querySelector('title') : null;
      if (t) { info.textContent = t.textContent; }
    };
    map.addEventListener('mouseover', show);
    map.addEventListener('focusin', show);
  }
})();
