import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, IsUrl, MaxLength } from 'class-validator';
import { EMAIL_EVENTS, NOTIFICATION_EVENTS } from '../notification-types';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://hooks.example.com/producer-dashboard' })
  @IsString()
  @MaxLength(2000, { message: 'url must be at most 2000 characters' })
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_host: true },
    { message: 'url must be an absolute http(s) URL' },
  )
  url: string;

  @ApiProperty({ enum: NOTIFICATION_EVENTS, isArray: true, example: ['share.opened', 'share.downloaded'] })
  // A form with one checkbox sends a string rather than a list.
  @Transform(({ value }) => (typeof value === 'string' ? [value] : value))
  @IsArray({ message: 'events must be a list of event types' })
  @ArrayMinSize(1, { message: 'events must name at least one event type' })
  @ArrayMaxSize(NOTIFICATION_EVENTS.length)
  @ArrayUnique({ message: 'events must not repeat an event type' })
  @IsIn(NOTIFICATION_EVENTS, { each: true, message: `events must be among ${NOTIFICATION_EVENTS.join(', ')}` })
  events: string[];
}

export class EmailSettingsDto {
  /** The event types to mail; the rest are off. A form without any checked box sends nothing. */
  @Transform(({ value }) => (value === undefined ? [] : typeof value === 'string' ? [value] : value))
  @IsArray({ message: 'email must be a list of event types' })
  @IsIn(EMAIL_EVENTS, { each: true, message: `email must be among ${EMAIL_EVENTS.join(', ')}` })
  email: string[] = [];
}
