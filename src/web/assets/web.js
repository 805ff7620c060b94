// Progressive enhancement only: every page works without this file.
// Buttons with data-confirm ask before their form is sent (kill a session, reset MFA, lift a ban).
'use strict';
document.addEventListener('submit', (event) => {
  const button = event.submitter;
  const message = button && button.getAttribute('data-confirm');
  if (message && !window.confirm(message)) event.preventDefault();
});
