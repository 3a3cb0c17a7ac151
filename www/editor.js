// Binds a <textarea> to a roomsync Text: the user's edits become Text operations, changes from
// elsewhere (the room, with any origin but ours) rewrite the textarea and keep the caret in place.
const LOCAL = Symbol('textarea');

/**
 * Returns a function that undoes the binding. onLocalEdit() runs after each of the user's edits,
 * onChange() after every change to the text (the user's or not).
 */
export function bindTextarea(area, text, doc, { onLocalEdit = () => {}, onChange = () => {} } = {}) {
  area.value = text.toString();

  const onRemote = ({ delta, origin }) => {
    if (origin === LOCAL) return;
    let { selectionStart: start, selectionEnd: end } = area;
    let pos = 0;
    for (const op of delta) {
      if (op.retain) pos += op.retain;
      else if (op.insert) {
        if (pos <= start) start += op.insert.length;
        if (pos < end) end += op.insert.length;
        pos += op.insert.length;
      } else if (op.delete) {
        start -= Math.max(0, Math.min(op.delete, start - pos));
        end -= Math.max(0, Math.min(op.delete, end - pos));
      }
    }
    const focused = document.activeElement === area;
    area.value = text.toString();
    if (focused) area.setSelectionRange(start, end);
    onChange();
  };
  text.observe(onRemote);

  // A textarea only says "something changed": turn that into one splice (common prefix/suffix).
  const onInput = () => {
    const before = text.toString();
    const after = area.value;
    let p = 0;
    while (p < before.length && p < after.length && before[p] === after[p]) p++;
    let s = 0;
    while (s < before.length - p && s < after.length - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
    // Never cut a surrogate pair in two (Text refuses such edits).
    if (p > 0 && /[\uD800-\uDBFF]/.test(before[p - 1])) p--;
    if (s > 0 && /[\uDC00-\uDFFF]/.test(before[before.length - s])) s--;
    doc.transact(() => {
      if (before.length - p - s > 0) text.delete(p, before.length - p - s);
      if (after.length - p - s > 0) text.insert(p, after.slice(p, after.length - s));
    }, LOCAL);
    onLocalEdit();
    onChange();
  };
  area.addEventListener('input', onInput);

  return () => {
    text.unobserve(onRemote);
    area.removeEventListener('input', onInput);
  };
}
