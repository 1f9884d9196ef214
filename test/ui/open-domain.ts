// Opening a libvirt domain in the UI through the Domain… dialog, over one of the tests' chains.
import type { Page } from 'playwright-core';
import { diskElement, domainXml } from '../libvirt/fixtures.js';
import type { Chain } from './helpers.js';

/** Pastes a domain whose vda is `chain` (every level with its data file) and waits for the domain view. */
export async function openDomainOf(page: Page, chain: Chain): Promise<void> {
  const disk = diskElement(
    [
      { file: chain.top, format: 'qcow2', data: chain.topData },
      { file: chain.mid, format: 'qcow2', data: chain.midData },
      { file: chain.base, format: 'qcow2', data: chain.baseData },
    ],
    { end: 'terminated' },
  );
  await page.getByTestId('open-domain').click();
  await page.getByTestId('domain-source-text').click();
  await page.getByTestId('domain-input').fill(domainXml([disk]));
  await page.getByTestId('domain-open').click();
  await page.locator('[data-testid="domain-view"] [data-testid="domain-disk"][data-target="vda"]').waitFor();
}
