import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { validateForm } from '../../common/http/validation';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { ReplyCommentDto, ResolveCommentDto } from './dto/comment.dto';
import { ShareCommentsService } from './share-comments.service';

const uuid = new ParseUUIDPipe();

/** The producer's side of comments: the API, and the share page's reply and resolve forms. */
@ApiTags('shares')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller()
export class ShareCommentsOwnerController {
  constructor(private readonly comments: ShareCommentsService) {}

  @ApiOperation({ summary: 'Comments of a share, oldest first, each with its replies' })
  @Get('api/v1/shares/:id/comments')
  async list(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return { items: await this.comments.forOwner(user.id, id) };
  }

  @ApiOperation({ summary: 'Reply to a comment (the recipient who wrote it sees the reply)' })
  @Post('api/v1/shares/:id/comments/:commentId/replies')
  reply(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('commentId', uuid) commentId: string,
    @Body() dto: ReplyCommentDto,
  ) {
    return this.comments.reply(user.id, id, commentId, dto.body);
  }

  @ApiOperation({ summary: 'Mark a comment resolved (or `{"resolved": false}` to reopen it)' })
  @Post('api/v1/shares/:id/comments/:commentId/resolve')
  @HttpCode(200)
  resolve(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('commentId', uuid) commentId: string,
    @Body() dto: ResolveCommentDto,
  ) {
    return this.comments.resolve(user.id, id, commentId, dto.resolved ?? true);
  }

  @ApiExcludeEndpoint()
  @Post('shares/:id/comments/:commentId/reply')
  async replyForm(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('commentId', uuid) commentId: string,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const form = validateForm(ReplyCommentDto, body);
    if (form.errors) {
      req.session.flash = { kind: 'error', message: form.errors.map((e) => e.message).join('; ') };
    } else {
      await this.comments.reply(user.id, id, commentId, form.value.body);
      req.session.flash = { kind: 'success', message: 'Reply posted.' };
    }
    res.redirect(303, `/shares/${id}#comment-${commentId}`);
  }

  @ApiExcludeEndpoint()
  @Post('shares/:id/comments/:commentId/resolve')
  async resolveForm(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('commentId', uuid) commentId: string,
    @Body() body: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    await this.comments.resolve(user.id, id, commentId, body.resolved !== 'false');
    res.redirect(303, `/shares/${id}#comment-${commentId}`);
  }
}
