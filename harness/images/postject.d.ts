// postject ships no types: its API as the image build stage calls it (harness/images/stage.ts)
declare module 'postject' {
  export function inject(file: string, resourceName: string, resourceData: Buffer, options?: { sentinelFuse?: string; overwrite?: boolean; machoSegmentName?: string }): Promise<void>;
}
