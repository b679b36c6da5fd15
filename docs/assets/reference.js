/*
 * Starts Scalar's API reference on the reference page. Its configuration is the page's JSON data
 * block (#scalar-configuration), not an inline script, so the page works under a Content Security
 * Policy that allows scripts from this origin only. Try-It targets the page's own origin.
 */
const configuration = JSON.parse(document.getElementById('scalar-configuration').textContent);
Scalar.createApiReference('#app', {
  ...configuration,
  servers: [{ url: window.location.origin, description: 'This server' }],
});
