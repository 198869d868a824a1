// sigv4.mjs: verification of AWS Signature Version 4 on incoming requests, as Amazon
// OpenSearch Service (service "es") and OpenSearch Serverless ("aoss") do: the canonical
// request built from the method, the path (each segment URI-encoded again, the rule for every
// service but S3), the sorted query, the signed headers and the payload hash; the string to
// sign over the credential scope; the HMAC chain from the secret. Refusals are 403 with the
// AWS-style {"message": ...} body.
import crypto from 'node:crypto';

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s).digest();
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

// RFC 3986 encoding as AWS wants it: unreserved characters kept, the rest %XX upper case.
export function awsEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalPath(rawPath) {
  if (rawPath === '' || rawPath === '/') return '/';
  // the path as sent (already percent-encoded by the client) is encoded once more
  return rawPath.split('/').map((seg) => awsEncode(seg)).join('/');
}

function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  const pairs = rawQuery.split('&').filter(Boolean).map((p) => {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    const dec = (x) => { try { return decodeURIComponent(x.replace(/\+/g, '%20')); } catch { return x; } };
    return [awsEncode(dec(k)), awsEncode(dec(v))];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export class SigV4Verifier {
  constructor(spec) {
    const [region, service, accessKey, ...secret] = spec.split(':');
    this.region = region;
    this.service = service;
    this.accessKey = accessKey;
    this.secret = secret.join(':');
    if (!region || !service || !accessKey || !this.secret) throw new Error('--sigv4 wants REGION:SERVICE:ACCESS_KEY:SECRET');
  }

  // Returns null when the request is correctly signed, else the 403 message.
  verify(req, rawBody) {
    const auth = req.headers.authorization;
    if (!auth) return 'Missing Authentication Token';
    if (!auth.startsWith('AWS4-HMAC-SHA256 ')) return 'Authorization header requires \'Credential\' parameter. Authorization header requires \'Signature\' parameter. Authorization header requires \'SignedHeaders\' parameter. Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.';
    const fields = {};
    for (const part of auth.slice(17).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !fields[k]);
    if (missing.length) return missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ');
    const [keyId, date, region, service, term] = fields.Credential.split('/');
    if (keyId !== this.accessKey) return 'The security token included in the request is invalid.';
    if (term !== 'aws4_request') return `Credential should be scoped with a valid terminator: 'aws4_request', not '${term}'.`;
    if (region !== this.region) return `Credential should be scoped to a valid region, not '${region}'. `;
    if (service !== this.service) return `Credential should be scoped to correct service: '${this.service}'. `;
    const amzDate = req.headers['x-amz-date'];
    if (!amzDate) return "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
    if (!amzDate.startsWith(date)) return `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`;
    const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
    if (Math.abs(Date.now() - t) > 5 * 60 * 1000) return `Signature expired: ${amzDate} is now earlier than ${new Date(Date.now() - 300000).toISOString().replace(/[-:]/g, '').slice(0, 15)}Z (${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}Z - 5 min.)`;
    const signed = fields.SignedHeaders.split(';');
    if (!signed.includes('host')) return "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
    const payloadHeader = req.headers['x-amz-content-sha256'];
    if (this.service === 'aoss' && !payloadHeader) return 'x-amz-content-sha256 header is required for OpenSearch Serverless requests (the payload hash must be signed).';
    const payloadHash = sha256(rawBody);
    if (payloadHeader && payloadHeader !== 'UNSIGNED-PAYLOAD' && payloadHeader !== payloadHash) {
      return 'The provided x-amz-content-sha256 header does not match what was computed.';
    }
    const q = req.url.indexOf('?');
    const rawPath = q < 0 ? req.url : req.url.slice(0, q);
    const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
    const headerLines = signed.map((h) => {
      let v = req.headers[h];
      if (Array.isArray(v)) v = v.join(',');
      if (v === undefined) v = '';
      return `${h}:${String(v).trim().replace(/\s+/g, ' ')}\n`;
    }).join('');
    const canonical = [req.method, canonicalPath(rawPath), canonicalQuery(rawQuery), headerLines, fields.SignedHeaders, payloadHeader && payloadHeader !== 'UNSIGNED-PAYLOAD' ? payloadHeader : payloadHeader === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : payloadHash].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    let k = hmac('AWS4' + this.secret, date);
    k = hmac(k, region);
    k = hmac(k, service);
    k = hmac(k, 'aws4_request');
    const want = crypto.createHmac('sha256', k).update(toSign).digest('hex');
    const got = fields.Signature;
    if (want.length !== got.length || !crypto.timingSafeEqual(Buffer.from(want), Buffer.from(got))) {
      return `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'${canonical}'\n\nThe String-to-Sign should have been\n'${toSign}'\n`;
    }
    return null;
  }
}
