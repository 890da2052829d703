// A data table whose rows are keyed, so that a refresh (the Runs page polls while a run is live)
// updates cells in place: the keyboard focus and the scroll position stay where they were.

import { fillCell, h, valueCell } from "./dom.js";

/**
 * columns: [{name, label, kind, value?(row), href?(row), title?}]
 * key(row) -> a unique string; rowHref(row) -> the page a row opens (Enter or click), or null.
 * sort: {column, desc} shown in the header; onSort(column) when a sortable header is pressed.
 */
export class DataTable {
  constructor({ id, columns, key, rowHref = null, caption = null, sort = null, onSort = null, rowClass = null }) {
    this.columns = columns;
    this.key = key;
    this.rowHref = rowHref;
    this.rowClass = rowClass;
    this.rows = new Map(); // key -> <tr>
    this.body = h("tbody");
    this.element = h("table", { id, class: "data rows-nav" }, caption ? h("caption", { text: caption }) : null);
    const header = h("tr");
    for (const column of columns) {
      const th = h("th", { scope: "col", dataset: { col: column.name }, title: column.title });
      if (onSort && column.sortable !== false) {
        const pressed = sort && sort.column === column.name;
        th.setAttribute("aria-sort", pressed ? (sort.desc ? "descending" : "ascending") : "none");
        const arrow = pressed ? (sort.desc ? " ▼" : " ▲") : "";
        th.append(h("button", { type: "button", class: "sort", text: column.label + arrow, onclick: () => onSort(column.name) }));
      } else {
        th.textContent = column.label;
      }
      header.append(th);
    }
    this.element.append(h("thead", {}, header), this.body);
  }

  valueOf(column, row) {
    return column.value ? column.value(row) : row[column.name];
  }

  /** Show `rows` in this order, reusing the <tr> of every key already shown. */
  update(rows) {
    const seen = new Set();
    let previous = null;
    for (const row of rows) {
      const key = String(this.key(row));
      seen.add(key);
      let tr = this.rows.get(key);
      if (!tr) {
        tr = this.createRow(row, key);
        this.rows.set(key, tr);
      } else {
        this.refreshRow(tr, row);
      }
      const expected = previous ? previous.nextSibling : this.body.firstChild;
      if (expected !== tr) this.body.insertBefore(tr, expected);
      previous = tr;
    }
    for (const [key, tr] of this.rows) {
      if (!seen.has(key)) {
        tr.remove();
        this.rows.delete(key);
      }
    }
  }

  createRow(row, key) {
    const tr = h("tr", { tabindex: "0", dataset: { key } });
    const href = this.rowHref ? this.rowHref(row) : null;
    if (href) tr.dataset.href = href;
    for (const column of this.columns) {
      const value = this.valueOf(column, row);
      const cell = valueCell(column.kind, value, column.name);
      const target = column.href ? column.href(row) : null;
      if (target) {
        const text = cell.textContent;
        cell.textContent = "";
        cell.append(h("a", { href: target, text, tabindex: "-1" }));
      }
      tr.append(cell);
    }
    if (this.rowClass) tr.className = this.rowClass(row) || "";
    return tr;
  }

  refreshRow(tr, row) {
    this.columns.forEach((column, i) => {
      const value = this.valueOf(column, row);
      const encoded = JSON.stringify(value ?? null);
      const cell = tr.children[i];
      if (cell.dataset.value === encoded) return;
      cell.dataset.value = encoded;
      const link = cell.querySelector("a");
      fillCell(cell, column.kind, value);
      if (link) {
        link.textContent = cell.textContent;
        cell.textContent = "";
        cell.append(link);
      }
    });
    if (this.rowClass) tr.className = this.rowClass(row) || "";
  }
}

/** Sort rows by a column: numbers numerically, text by locale, no value always last. */
export function sortRows(rows, column, desc) {
  const direction = desc ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = a[column];
    const y = b[column];
    const xMissing = x === null || x === undefined;
    const yMissing = y === null || y === undefined;
    if (xMissing || yMissing) return xMissing === yMissing ? 0 : xMissing ? 1 : -1;
    if (typeof x === "number" && typeof y === "number") return (x - y) * direction;
    if (typeof x === "boolean" && typeof y === "boolean") return (Number(x) - Number(y)) * direction;
    return String(x).localeCompare(String(y)) * direction;
  });
}
