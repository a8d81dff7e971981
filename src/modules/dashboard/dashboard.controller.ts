import { Controller, Get, Redirect, Render } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/**
 * The dashboard's top-level pages (Tracks and Collaborators live in the files module). Until a producer connects
 * Dropbox, Shares points to Settings instead of offering buttons that cannot work.
 */
@ApiExcludeController()
@Controller()
export class DashboardController {
  @Get()
  @Redirect('/tracks', 303)
  home() {}

  @Get('shares')
  @Render('dashboard/shares')
  shares() {
    return { title: 'Shares', nav: 'shares', needsDropbox: true };
  }
}
