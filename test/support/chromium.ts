import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (CI installs it; CHROMIUM_PATH names another), headless. The flags keep it off the network it
 * would otherwise reach for at start (updates, sync, component downloads), which this machine refuses, and
 * `--no-sandbox` lets it run as root.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
