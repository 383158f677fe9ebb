import { renderAvatar, type RenderAvatarOptions, type RenderedVariant } from './render-avatar.js';

/** Bytes in, variants out: what the workflow needs from the image pipeline. */
export interface AvatarRenderer {
  render(input: Buffer): Promise<RenderedVariant[]>;
}

/** `renderAvatar` with the configured sizes, format, pixel limit and render timeout. */
export class SharpAvatarRenderer implements AvatarRenderer {
  constructor(private readonly options: RenderAvatarOptions) {}

  render(input: Buffer): Promise<RenderedVariant[]> {
    return renderAvatar(input, this.options);
  }
}
