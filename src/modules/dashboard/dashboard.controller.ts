import { Controller, Get, Redirect, Render } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/**
 * The dashboard's top-level pages. Until a producer connects Dropbox, Tracks and Shares point to Settings
 * instead of offering buttons that cannot work.
 */
@ApiExcludeController()
@Controller()
export class DashboardController {
  @Get()
  @Redirect('/tracks', 303)
  home() {}

  @Get('tracks')
  @Render('dashboard/tracks')
  tracks() {
    return { title: 'Tracks', nav: 'tracks', needsDropbox: true };
  }

  @Get('shares')
  @Render('dashboard/shares')
  shares() {
    return { title: 'Shares', nav: 'shares', needsDropbox: true };
  }
}
