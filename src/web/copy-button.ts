/**
 * The website's copy buttons, served as `/copy-button.js` (same origin, so a page that uses it needs only
 * `script-src 'self'` in its CSP: no inline script, no nonce, no eval). A button
 * `<button type="button" data-copy="ID" data-status="ID" hidden>` copies the text of the element with id
 * `data-copy`; it stays hidden without JavaScript, where the text is still there to select by hand. The outcome is
 * announced in the `data-status` element (role="status"). Kept as a string here so the build needs no extra copy step.
 */
export const COPY_BUTTON_PATH = '/copy-button.js';

export const COPY_BUTTON_SCRIPT = `(function () {
  'use strict';

  function selectContents(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // Without the asynchronous clipboard (plain http on a host other than localhost): the selection and the old
  // copy command, which still works in a click handler.
  function copyBySelection(node) {
    selectContents(node);
    try {
      return document.execCommand('copy');
    } catch (e) {
      return false;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('button[data-copy]'), function (button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    var status = document.getElementById(button.getAttribute('data-status') || '');
    if (!source) return;
    function report(copied) {
      if (!copied) selectContents(source);
      if (status) status.textContent = copied ? 'Copied.' : 'Could not copy automatically: the text is selected, copy it with Ctrl+C (⌘C on a Mac).';
    }
    button.addEventListener('click', function () {
      var text = source.textContent;
      if (status) status.textContent = '';
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () {
            report(true);
          },
          function () {
            report(copyBySelection(source));
          },
        );
      } else {
        report(copyBySelection(source));
      }
    });
    button.hidden = false;
  });
})();
`;
