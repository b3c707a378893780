// Opening a URL in the person's browser: $BROWSER when set (a command; %s stands for the
// URL, else the URL is its last argument; the first of a colon-separated list), otherwise
// the platform's opener. Headless machines (Linux without a display) get none.
import { spawn } from 'node:child_process';

/** The command and arguments that open the URL, or undefined when this machine has no browser to open. */
export function browserCommand(url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string[] | undefined {
  const configured = env['BROWSER']
    ?.split(':')
    .map((c) => c.trim())
    .find((c) => c !== '');
  if (configured !== undefined) {
    const words = configured.split(/\s+/);
    return words.some((w) => w.includes('%s')) ? words.map((w) => w.replaceAll('%s', url)) : [...words, url];
  }
  if (platform === 'darwin') return ['open', url];
  if (platform === 'win32') return ['rundll32', 'url.dll,FileProtocolHandler', url];
  if (env['DISPLAY'] || env['WAYLAND_DISPLAY']) return ['xdg-open', url];
  return undefined;
}

/** Starts the browser; false when there is none or it could not be started. */
export function openBrowser(url: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const command = browserCommand(url, env);
  if (!command) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore', detached: true, env });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
