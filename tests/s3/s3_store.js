#!/usr/bin/env node
// A real S3-compatible store on loopback for the tests: s3rver (pinned in package.json), made as
// strict as S3 where the tests depend on it.
//
//   node s3_store.js --directory DIR [--port N] [--bucket NAME]... [--min-part-size BYTES]
//                    [--tls-cert PEM --tls-key PEM]
//
// Listens on 127.0.0.1 (port 0: any free one; HTTPS with the certificate when given), keeps its objects in DIR (so a store stopped and
// started again on the same port and directory still has them), creates the buckets, prints
// {"port":N} as one line on stdout once it listens, and exits 0 on SIGTERM or SIGINT, dropping
// the connections still open. Credentials: access key S3RVER, secret S3RVER (s3rver's own).
//
// What s3rver 3.7.1 lacks and this file adds, ahead of s3rver's own handling:
// - SigV4 signatures are checked (s3rver checks only that the access key exists): presigned
//   URLs (X-Amz-Signature in the query) and Authorization headers alike, following AWS's
//   specification, S3's path encoding (single). A mismatch is 403 SignatureDoesNotMatch.
//   Anonymous requests are refused (403 AccessDenied) as a private bucket refuses them.
// - AbortMultipartUpload (DELETE ?uploadId): s3rver answers 405; here the parts go, 204.
// - An unknown upload id is 404 NoSuchUpload for UploadPart, Complete and Abort (s3rver would
//   create it on the fly).
// - CompleteMultipartUpload checks the parts as S3 does: ascending (InvalidPartOrder), each
//   uploaded with that ETag (InvalidPart), each but the last at least --min-part-size bytes
//   (EntityTooSmall; S3's 5 MiB by default).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { Readable } = require('stream');

function fail(message) {
  process.stderr.write(`s3_store.js: ${message}\n`);
  process.exit(2);
}

let S3rver;
let S3Error;
let AWSAccount;
try {
  S3rver = require('s3rver');
  S3Error = require('s3rver/lib/models/error');
  AWSAccount = require('s3rver/lib/models/account');
} catch (err) {
  fail(
    `s3rver is not installed (${err.code || err.message}): run ` +
      '`npm ci --prefix tests/s3` (scripts/test does it)',
  );
}

function parseArgs(argv) {
  const options = { port: 0, buckets: [], minPartSize: 5 * 1024 * 1024 };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) fail(`${name} needs a value`);
    if (name === '--directory') options.directory = path.resolve(value);
    else if (name === '--port') options.port = Number(value);
    else if (name === '--bucket') options.buckets.push(value);
    else if (name === '--min-part-size') options.minPartSize = Number(value);
    else if (name === '--tls-cert') options.cert = fs.readFileSync(value);
    else if (name === '--tls-key') options.key = fs.readFileSync(value);
    else fail(`unknown option ${name}`);
  }
  if (!options.directory) fail('--directory is required');
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    fail('--port must be 0..65535');
  }
  if (!options.cert !== !options.key) fail('--tls-cert and --tls-key go together');
  if (!Number.isInteger(options.minPartSize) || options.minPartSize < 0) {
    fail('--min-part-size must be a byte count');
  }
  return options;
}

// --- SigV4 --------------------------------------------------------------------------------

// %XX decoded into bytes; every other character as its UTF-8 bytes ('+' stays '+').
function percentDecode(text) {
  const bytes = Buffer.from(text, 'utf8');
  const out = [];
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
    if (bytes[i] === 0x25 && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(bytes[i]);
    }
  }
  return Buffer.from(out);
}

// SigV4's UriEncode of bytes: all but A-Z a-z 0-9 - . _ ~ (and '/' when kept) as %XX.
function uriEncode(bytes, keepSlash) {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// The raw query as [name, value] pairs of decoded strings, in the order sent.
function parseQuery(rawQuery) {
  return rawQuery
    .split('&')
    .filter(pair => pair !== '')
    .map(pair => {
      const eq = pair.indexOf('=');
      const [name, value] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      return [percentDecode(name).toString('utf8'), percentDecode(value).toString('utf8')];
    });
}

function canonicalQuery(pairs) {
  return pairs
    .map(([n, v]) => [uriEncode(Buffer.from(n), false), uriEncode(Buffer.from(v), false)])
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

function canonicalHeaders(ctx, signedHeaders) {
  return signedHeaders
    .split(';')
    .map(name => `${name}:${String(ctx.get(name)).trim().replace(/[ \t]+/g, ' ')}\n`)
    .join('');
}

function hmac(key, text) {
  return crypto.createHmac('sha256', key).update(text, 'utf8').digest();
}

function sha256Hex(text) {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

// What a request's signature covers, from the query (presigned) or the Authorization header;
// null when s3rver's own checks are to answer (V2 signatures, missing parameters).
function signatureFields(ctx, query) {
  const get = name => (query.find(([n]) => n === name) || [])[1];
  const auth = ctx.get('authorization');
  if (get('X-Amz-Algorithm') !== undefined) {
    const fields = {
      credential: get('X-Amz-Credential'),
      signedHeaders: get('X-Amz-SignedHeaders'),
      signature: get('X-Amz-Signature'),
      date: get('X-Amz-Date'),
      payload: get('X-Amz-Content-Sha256') || 'UNSIGNED-PAYLOAD',
      query: query.filter(([n]) => n !== 'X-Amz-Signature'),
    };
    return Object.values(fields).includes(undefined) ? null : fields;
  }
  if (auth.startsWith('AWS4-HMAC-SHA256 ')) {
    const parts = Object.fromEntries(
      auth
        .slice(17)
        .split(',')
        .map(p => p.trim().split('=')),
    );
    return {
      credential: parts.Credential,
      signedHeaders: parts.SignedHeaders || '',
      signature: parts.Signature || '',
      date: ctx.get('x-amz-date'),
      payload: ctx.get('x-amz-content-sha256'),
      query,
    };
  }
  if (auth !== '' || get('Signature') !== undefined) {
    return null;
  }
  throw new S3Error('AccessDenied', 'Access Denied (anonymous requests are refused)');
}

function verifySignature(ctx, rawPath, query) {
  const fields = signatureFields(ctx, query);
  if (fields === null || !fields.credential) return;
  const [accessKeyId, day, region, service] = fields.credential.split('/');
  const account = AWSAccount.registry.get(accessKeyId);
  if (!account) return; // s3rver answers InvalidAccessKeyId
  const secret = account.accessKeys.get(accessKeyId);
  const canonicalRequest = [
    ctx.method,
    uriEncode(percentDecode(rawPath || '/'), true),
    canonicalQuery(fields.query),
    canonicalHeaders(ctx, fields.signedHeaders),
    fields.signedHeaders,
    fields.payload,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', fields.date, scope, sha256Hex(canonicalRequest)].join(
    '\n',
  );
  let key = hmac('AWS4' + secret, day);
  key = hmac(hmac(hmac(key, region), service), 'aws4_request');
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(String(fields.signature));
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
      { AWSAccessKeyId: accessKeyId },
    );
  }
}

// --- multipart ----------------------------------------------------------------------------

function decodeXml(text) {
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e) => {
    if (e[0] !== '#') return named[e] !== undefined ? named[e] : whole;
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', chunk => {
      size += chunk.length;
      if (size > limit) {
        reject(new S3Error('MaxMessageLengthExceeded', 'Your request was too big.'));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// The upload's directory in s3rver's store, after checking that it exists for this key.
function uploadDirectory(store, bucket, key, uploadId) {
  const dir = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const noSuchUpload = new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have ' +
      'been aborted or completed.',
    { UploadId: uploadId },
  );
  // s3rver's ids are 32 hex digits; anything else would also be a path out of the store.
  if (!/^[0-9a-f]{32}$/.test(uploadId)) throw noSuchUpload;
  try {
    if (fs.readFileSync(path.join(dir, 'key'), 'utf8') !== key) throw noSuchUpload;
  } catch (err) {
    if (err instanceof S3Error) throw err;
    throw noSuchUpload;
  }
  return dir;
}

async function checkComplete(ctx, dir, minPartSize) {
  const body = await readBody(ctx.req, 1024 * 1024);
  const parts = [...body.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(m => ({
    number: Number((/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]) || [])[1]),
    etag: decodeXml((/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]) || [])[1] || ''),
  }));
  if (parts.length === 0 || parts.some(p => !Number.isInteger(p.number))) {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    );
  }
  parts.forEach((part, i) => {
    if (i > 0 && part.number <= parts[i - 1].number) {
      throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order.');
    }
    const file = path.join(dir, String(part.number));
    let md5 = '';
    let size = 0;
    try {
      md5 = fs.readFileSync(`${file}.md5`, 'utf8');
      size = fs.statSync(file).size;
    } catch (err) {
      md5 = '';
    }
    if (md5 === '' || md5 !== part.etag.replace(/"/g, '')) {
      throw new S3Error(
        'InvalidPart',
        'One or more of the specified parts could not be found. The part might not have been ' +
          "uploaded, or the specified entity tag might not have matched the part's entity tag.",
        { PartNumber: part.number, ETag: part.etag },
      );
    }
    if (i < parts.length - 1 && size < minPartSize) {
      throw new S3Error(
        'EntityTooSmall',
        'Your proposed upload is smaller than the minimum allowed object size.',
        { PartNumber: part.number, ProposedSize: size, MinSizeAllowed: minPartSize },
      );
    }
  });
  // s3rver reads the body again: the same bytes.
  ctx.req = Readable.from([body]);
}

function strictness(options) {
  return async function strict(ctx, next) {
    const url = ctx.req.url;
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = parseQuery(q < 0 ? '' : url.slice(q + 1));
    verifySignature(ctx, rawPath, query);
    const uploadId = (query.find(([n]) => n === 'uploadId') || [])[1];
    const [, bucket, ...keyParts] = percentDecode(rawPath).toString('utf8').split('/');
    const key = keyParts.join('/');
    if (uploadId === undefined || !bucket || key === '') return next();
    if (!(await ctx.app.store.getBucket(bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
        BucketName: bucket,
      });
    }
    const dir = uploadDirectory(ctx.app.store, bucket, key, uploadId);
    if (ctx.method === 'DELETE') {
      fs.rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
      return undefined;
    }
    if (ctx.method === 'PUT') {
      const part = (query.find(([n]) => n === 'partNumber') || [])[1];
      if (!/^[0-9]+$/.test(part || '') || Number(part) < 1 || Number(part) > 10000) {
        throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000');
      }
    }
    if (ctx.method === 'POST') await checkComplete(ctx, dir, options.minPartSize);
    return next();
  };
}

// --- the store ----------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  fs.mkdirSync(options.directory, { recursive: true, mode: 0o700 });
  const store = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
    configureBuckets: options.buckets.map(name => ({ name })),
    ...(options.cert ? { cert: options.cert, key: options.key } : {}),
  });
  // First of all of s3rver's middleware: its error handler still writes the XML answers.
  store.middleware.unshift(strictness(options));
  const address = await store.run();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Uploads in flight end here: the connections go with the store.
    store.httpServer.closeAllConnections();
    store.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(JSON.stringify({ port: address.port }) + '\n');
}

main().catch(err => fail(err.stack || String(err)));
