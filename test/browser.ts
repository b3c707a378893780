// A browser for tests, minus the rendering: follows redirects, keeps cookies per host,
// and submits the HTML forms a page really serves (its action, method and inputs), so a
// test drives an identity provider's login exactly as a person's browser would.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Page {
  url: string;
  status: number;
  html: string;
}

export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
}

const maxRedirects = 20;

export class Browser {
  private readonly ca: string[];
  private readonly cookies = new Map<string, Map<string, string>>();

  /** ca: PEM CAs to trust for https:// sites (the test IdP's). */
  constructor(ca: string[] = []) {
    this.ca = ca;
  }

  open(url: string): Promise<Page> {
    return this.navigate('GET', url);
  }

  /** Submits the page's first form (or the one whose action contains `action`) with its inputs, overridden by `values`. */
  submit(page: Page, values: Record<string, string> = {}, action?: string): Promise<Page> {
    const form = forms(page).find((f) => action === undefined || f.action.includes(action));
    if (!form) throw new Error(`no form${action ? ` with action ${action}` : ''} on ${page.url} (HTTP ${page.status}):\n${page.html.slice(0, 2000)}`);
    const target = new URL(form.action || page.url, page.url).href;
    const body = new URLSearchParams({ ...form.fields, ...values }).toString();
    return form.method === 'get' ? this.navigate('GET', `${target.split('?')[0]}?${body}`) : this.navigate('POST', target, body);
  }

  private async navigate(method: string, url: string, body?: string): Promise<Page> {
    for (let hop = 0; hop < maxRedirects; hop++) {
      const res = await this.send(method, url, body);
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && location) {
        url = new URL(location, url).href;
        if (res.status !== 307 && res.status !== 308) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { url, status: res.status, html: res.text };
    }
    throw new Error(`more than ${maxRedirects} redirects from ${url}`);
  }

  private send(method: string, url: string, body: string | undefined): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const target = new URL(url);
    const jar = this.cookies.get(target.hostname) ?? new Map<string, string>();
    this.cookies.set(target.hostname, jar);
    const headers: Record<string, string> = { accept: 'text/html' };
    if (jar.size > 0) headers['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(target, { method, headers, ...(target.protocol === 'https:' ? { ca: this.ca } : {}), timeout: 10_000 }, (res) => {
        for (const line of res.headers['set-cookie'] ?? []) remember(jar, line);
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function remember(jar: Map<string, string>, setCookie: string): void {
  const [pair, ...attributes] = setCookie.split(';');
  const eq = pair!.indexOf('=');
  const name = pair!.slice(0, eq).trim();
  const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
  if (expired) jar.delete(name);
  else jar.set(name, pair!.slice(eq + 1).trim());
}

/** The forms on a page, with the name and value of every input and named button. */
export function forms(page: Page): Form[] {
  const attr = (tag: string, name: string) =>
    new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i')
      .exec(tag)
      ?.slice(2)
      .find((v) => v !== undefined);
  return [...page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, open, inner]) => {
    const fields: Record<string, string> = {};
    for (const [tag] of inner!.matchAll(/<(input|button)\b[^>]*>/gi)) {
      const name = attr(tag, 'name');
      if (name !== undefined) fields[name] = decode(attr(tag, 'value') ?? '');
    }
    return { action: decode(attr(open!, 'action') ?? ''), method: (attr(open!, 'method') ?? 'get').toLowerCase(), fields };
  });
}

function decode(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/**
 * Signs in at an identity provider from an authorization URL: fills the login form
 * with the credentials, accepts consent, and follows the redirects until a page that
 * the IdP did not serve (the client's redirect URI) answers.
 */
export async function signIn(browser: Browser, authorizationURL: string, credentials: { email: string; password: string }): Promise<Page> {
  const idp = new URL(authorizationURL).origin;
  let page = await browser.open(authorizationURL);
  for (let step = 0; step < 5 && new URL(page.url).origin === idp; step++) {
    const form = forms(page)[0];
    if (!form) return page; // an error page of the IdP
    page = await browser.submit(page, 'password' in form.fields ? credentials : {});
  }
  return page;
}

/**
 * Approves a device flow login as the person would: opens the verification URI, enters
 * the user code, signs in and confirms, until the provider shows a page without a form.
 */
export async function approveDevice(
  browser: Browser,
  verificationURI: string,
  userCode: string,
  credentials: { email: string; password: string },
): Promise<Page> {
  let page = await browser.open(verificationURI);
  for (let step = 0; step < 6; step++) {
    const form = forms(page)[0];
    if (!form) return page;
    page = await browser.submit(page, 'user_code' in form.fields ? { user_code: userCode } : 'password' in form.fields ? credentials : {});
  }
  return page;
}
