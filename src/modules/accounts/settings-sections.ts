import { Injectable } from '@nestjs/common';

export type SettingsSection = (userId: string) => Promise<Record<string, unknown>>;

/**
 * Parts of the Settings page owned by other modules (Dropbox, notifications): they add what their section needs to the
 * page's model, so accounts renders the page without importing them.
 */
@Injectable()
export class SettingsSections {
  private readonly sections: SettingsSection[] = [];

  add(section: SettingsSection): void {
    this.sections.push(section);
  }

  async model(userId: string): Promise<Record<string, unknown>> {
    const parts = await Promise.all(this.sections.map((section) => section(userId)));
    return Object.assign({}, ...parts) as Record<string, unknown>;
  }
}
