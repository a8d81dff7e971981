import { Controller, Get, Redirect } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/**
 * The dashboard's home. Tracks and Collaborators live in the files module, Shares in the share module.
 */
@ApiExcludeController()
@Controller()
export class DashboardController {
  @Get()
  @Redirect('/tracks', 303)
  home() {}
}
