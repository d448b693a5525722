import { chromium, type Browser, type BrowserContextOptions } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium; .ci/run does), driven by playwright-core; tests run as root, hence no sandbox. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
}

/** A phone's screen in WeCom's browser: 390 × 844 CSS pixels, touch. */
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
