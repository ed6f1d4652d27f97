// Fetch each URL given on the command line as JSON-LD (Accept: application/ld+json),
// following redirects, and print one JSON object per line: {url, status, contentType,
// nquads} where nquads is jsonld.js's RDF (N-Quads) of the document, or {url, error}.
//
// Remote contexts are loaded by a document loader that only fetches from 127.0.0.1, so
// the test proves the published /context.jsonld is what makes the documents mean what
// they say, and nothing is fetched from the network.
'use strict';
const jsonld = require('jsonld');

const ALLOWED = new Set(['127.0.0.1', 'localhost']);
const ACCEPT = 'application/ld+json, application/json;q=0.9';

async function get(url) {
  const u = new URL(url);
  if (!ALLOWED.has(u.hostname)) {
    throw new Error(`refusing to fetch ${url}: only 127.0.0.1 is allowed`);
  }
  const res = await fetch(url, { headers: { Accept: ACCEPT }, redirect: 'follow' });
  const text = await res.text();
  return { res, text };
}

async function documentLoader(url) {
  const { res, text } = await get(url);
  if (!res.ok) {
    throw new Error(`context ${url} answered ${res.status}`);
  }
  return { contextUrl: null, documentUrl: res.url, document: JSON.parse(text) };
}

async function one(url) {
  try {
    const { res, text } = await get(url);
    const doc = JSON.parse(text);
    const nquads = await jsonld.toRDF(doc, {
      format: 'application/n-quads',
      documentLoader,
      base: res.url,
    });
    return { url, status: res.status, finalUrl: res.url,
             contentType: res.headers.get('content-type'), nquads };
  } catch (err) {
    return { url, error: String(err && err.stack || err) };
  }
}

(async () => {
  for (const url of process.argv.slice(2)) {
    process.stdout.write(JSON.stringify(await one(url)) + '\n');
  }
})();
